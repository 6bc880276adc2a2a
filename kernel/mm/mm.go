// Package mm keeps the user address-space map: the areas created by mmap and
// changed by mprotect and munmap, anonymous or mapping a file. It knows nothing of page tables; the kernel
// consults it on a page fault and on every access to user memory.
//
// The map lives in a fixed array, since the kernel's trap path cannot
// allocate; it is kept sorted and merged.
package mm

// MaxAreas bounds the number of distinct areas; Go's runtime needs a few dozen.
const MaxAreas = 2048

// PageSize is the x86-64 base page size.
const PageSize = 4096

// Protection bits, as mmap(2) has them.
const (
	ProtRead  = 0x1
	ProtWrite = 0x2
	ProtExec  = 0x4
)

// Area flags.
const (
	// Fixed marks the program image: it cannot be unmapped or changed.
	Fixed = 1 << iota
	// Shared marks a MAP_SHARED file mapping: stores reach the file.
	Shared
	// NoWrite marks a shared mapping of a file opened without write
	// access: mprotect may not add PROT_WRITE (EACCES, as Linux).
	NoWrite
)

// Area is a range [Start, End) of pages with one protection. A file
// mapping names its file by Obj (0 for anonymous memory; the kernel keeps
// the table behind it) and the file offset of Start by Off.
type Area struct {
	Start, End uintptr
	Prot       uint32
	Flags      uint32
	Obj        int32
	Off        int64
}

// tail returns the part of a from addr on: for a file mapping the offset
// moves with the start.
func (a Area) tail(addr uintptr) Area {
	if a.Obj != 0 {
		a.Off += int64(addr - a.Start)
	}
	a.Start = addr
	return a
}

// Map is a sorted set of non-overlapping areas.
type Map struct {
	areas [MaxAreas]Area
	n     int
}

// Len returns the number of areas.
func (m *Map) Len() int { return m.n }

// At returns area i, in address order.
func (m *Map) At(i int) Area { return m.areas[i] }

// index returns the first area whose End is above addr.
func (m *Map) index(addr uintptr) int {
	lo, hi := 0, m.n
	for lo < hi {
		mid := (lo + hi) / 2
		if m.areas[mid].End <= addr {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Find returns the area holding addr.
func (m *Map) Find(addr uintptr) (Area, bool) {
	i := m.index(addr)
	if i < m.n && m.areas[i].Start <= addr {
		return m.areas[i], true
	}
	return Area{}, false
}

// Covered reports whether every page of [start, end) lies in areas that
// allow all of prot.
func (m *Map) Covered(start, end uintptr, prot uint32) bool {
	if end <= start {
		return end == start
	}
	i := m.index(start)
	for addr := start; addr < end; i++ {
		if i >= m.n || m.areas[i].Start > addr || m.areas[i].Prot&prot != prot {
			return false
		}
		addr = m.areas[i].End
	}
	return true
}

// Overlaps reports whether any area intersects [start, end).
func (m *Map) Overlaps(start, end uintptr) bool {
	i := m.index(start)
	return i < m.n && m.areas[i].Start < end
}

// HasFlag reports whether [start, end) touches an area with flag set.
func (m *Map) HasFlag(start, end uintptr, flag uint32) bool {
	for i := m.index(start); i < m.n && m.areas[i].Start < end; i++ {
		if m.areas[i].Flags&flag != 0 {
			return true
		}
	}
	return false
}

// room reports whether k more areas fit.
func (m *Map) room(k int) bool { return m.n+k <= MaxAreas }

func (m *Map) insertAt(i int, a Area) {
	copy(m.areas[i+1:m.n+1], m.areas[i:m.n])
	m.areas[i] = a
	m.n++
}

func (m *Map) deleteAt(i, k int) {
	copy(m.areas[i:], m.areas[i+k:m.n])
	m.n -= k
}

// Remove unmaps [start, end), splitting areas at its edges. It returns false,
// changing nothing, when a split would need more areas than the map holds.
func (m *Map) Remove(start, end uintptr) bool {
	if end <= start {
		return true
	}
	i := m.index(start)
	if i < m.n && m.areas[i].Start < start && m.areas[i].End > end {
		// One area strictly contains the range: split it in two.
		if !m.room(1) {
			return false
		}
		a := m.areas[i]
		m.areas[i].End = start
		m.insertAt(i+1, a.tail(end))
		return true
	}
	if i < m.n && m.areas[i].Start < start {
		m.areas[i].End = start
		i++
	}
	j := i
	for j < m.n && m.areas[j].End <= end {
		j++
	}
	if j < m.n && m.areas[j].Start < end {
		m.areas[j] = m.areas[j].tail(end)
	}
	m.deleteAt(i, j-i)
	return true
}

// Insert maps area a, replacing whatever was there. It returns false,
// changing nothing, when the map is full.
func (m *Map) Insert(a Area) bool {
	if a.End <= a.Start {
		return true
	}
	if !m.room(2) {
		return false
	}
	m.Remove(a.Start, a.End)
	i := m.index(a.Start)
	m.insertAt(i, a)
	m.merge(i)
	return true
}

// Protect changes the protection of [start, end), which must be mapped.
func (m *Map) Protect(start, end uintptr, prot uint32) bool {
	if !m.Covered(start, end, 0) || !m.room(2) {
		return false
	}
	// Split at both edges, then change every area inside.
	for i := m.index(start); i < m.n && m.areas[i].Start < end; i++ {
		a := m.areas[i]
		if a.Start < start {
			m.areas[i].End = start
			m.insertAt(i+1, a.tail(start))
			continue
		}
		if a.End > end {
			m.areas[i].End = end
			m.insertAt(i+1, a.tail(end))
		}
		m.areas[i].Prot = prot
	}
	for i := m.index(start); i < m.n && m.areas[i].Start <= end; i++ {
		i = m.merge(i)
	}
	return true
}

// merge joins area i with equal neighbours and returns its new index.
func (m *Map) merge(i int) int {
	if i+1 < m.n && m.same(i, i+1) {
		m.areas[i].End = m.areas[i+1].End
		m.deleteAt(i+1, 1)
	}
	if i > 0 && m.same(i-1, i) {
		m.areas[i-1].End = m.areas[i].End
		m.deleteAt(i, 1)
		i--
	}
	return i
}

func (m *Map) same(i, j int) bool {
	a, b := m.areas[i], m.areas[j]
	return a.End == b.Start && a.Prot == b.Prot && a.Flags == b.Flags && a.Flags&Fixed == 0 &&
		a.Obj == b.Obj && (a.Obj == 0 || a.Off+int64(a.End-a.Start) == b.Off)
}

// Objects calls f for each area that overlaps [start, end) and maps a file.
func (m *Map) Objects(start, end uintptr, f func(a Area)) {
	for i := m.index(start); i < m.n && m.areas[i].Start < end; i++ {
		if m.areas[i].Obj != 0 {
			f(m.areas[i])
		}
	}
}

// Uses reports whether any area maps object obj.
func (m *Map) Uses(obj int32) bool {
	for i := 0; i < m.n; i++ {
		if m.areas[i].Obj == obj {
			return true
		}
	}
	return false
}

// FindGap returns the highest page-aligned address a such that
// [a, a+size) lies within [low, high) and overlaps no area.
func (m *Map) FindGap(size, low, high uintptr) (uintptr, bool) {
	if size == 0 || high-low < size {
		return 0, false
	}
	top := high
	for i := m.n - 1; i >= -1; i-- {
		bottom := low
		if i >= 0 {
			if m.areas[i].Start >= top {
				continue
			}
			if m.areas[i].End > bottom {
				bottom = m.areas[i].End
			}
		}
		if top > bottom && top-bottom >= size {
			return (top - size) &^ (PageSize - 1), true
		}
		if i >= 0 {
			top = m.areas[i].Start
		}
		if top <= low {
			break
		}
	}
	return 0, false
}
