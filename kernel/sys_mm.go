package kernel

import (
	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/arch/amd64"
	"mote.dev/mote/kernel/mm"
)

// Memory system calls. Anonymous mappings are demand-paged: mmap only
// records an area; pages appear, zeroed, on first touch. File mappings get
// their pages from the file's pager on first touch too (filemap.go). No
// page is ever both writable and executable: such requests get EACCES.

func pageAligned(v uint64) bool { return v&(pageSize-1) == 0 }

func roundUp(n uint64) (uint64, bool) {
	r := (n + pageSize - 1) &^ (pageSize - 1)
	return r, r >= n
}

func protOK(prot uint64) bool {
	return prot&^(linux.PROT_READ|linux.PROT_WRITE|linux.PROT_EXEC) == 0 &&
		prot&(linux.PROT_WRITE|linux.PROT_EXEC) != linux.PROT_WRITE|linux.PROT_EXEC
}

// userRange reports whether [addr, addr+n) may hold user mappings.
func userRange(addr, n uint64) bool {
	return addr >= userLow && addr+n >= addr && addr+n <= userHigh
}

// mapKnown is every flag Linux defines for mmap: MAP_SHARED_VALIDATE
// refuses others with EOPNOTSUPP. Those mote has no use for (MAP_POPULATE,
// MAP_LOCKED, MAP_NORESERVE, ...) are hints it may ignore, as Linux may.
const mapKnown = linux.MAP_TYPE | linux.MAP_FIXED | linux.MAP_ANONYMOUS | 0x40 | 0x100 | 0x800 |
	0x1000 | 0x2000 | linux.MAP_NORESERVE | 0x8000 | 0x10000 | 0x20000 | 0x40000 | 0x80000 |
	linux.MAP_FIXED_NOREPLACE

// sysMmap implements mmap(2) for anonymous memory and regular files.
func sysMmap(t *thread, f *Frame) int64 {
	addr, length, prot, flags := f.RDI, f.RSI, f.RDX, f.R10
	fixedFlags := flags&(linux.MAP_FIXED|linux.MAP_FIXED_NOREPLACE) != 0
	if length == 0 || fixedFlags && !pageAligned(addr) {
		return errno(linux.EINVAL)
	}
	if !pageAligned(addr) {
		addr = 0 // only a hint: Linux drops a misaligned one
	}
	n, ok := roundUp(length)
	if !ok {
		return errno(linux.ENOMEM)
	}
	typ := flags & linux.MAP_TYPE
	if typ != linux.MAP_SHARED && typ != linux.MAP_PRIVATE && typ != linux.MAP_SHARED_VALIDATE {
		return errno(linux.EINVAL)
	}
	if typ == linux.MAP_SHARED_VALIDATE && flags&^mapKnown != 0 {
		return errno(linux.EOPNOTSUPP)
	}
	if prot&^(linux.PROT_READ|linux.PROT_WRITE|linux.PROT_EXEC) != 0 {
		return errno(linux.EINVAL)
	}
	if !protOK(prot) {
		return errno(linux.EACCES)
	}
	area := mm.Area{Prot: uint32(prot)}
	if flags&linux.MAP_ANONYMOUS == 0 {
		if e := mapFile(t, &area, f.R8, f.R9, n, typ != linux.MAP_PRIVATE); e != 0 || t.state != tsRunning {
			return errno(e) // or blocked in the file's pager: made again when t wakes
		}
	}
	fixed := flags&(linux.MAP_FIXED|linux.MAP_FIXED_NOREPLACE) != 0
	switch {
	case fixed:
		if !userRange(addr, n) || vmas.HasFlag(uintptr(addr), uintptr(addr+n), mm.Fixed) {
			releaseMapObjs()
			return errno(linux.EINVAL)
		}
		if flags&linux.MAP_FIXED_NOREPLACE != 0 && vmas.Overlaps(uintptr(addr), uintptr(addr+n)) {
			releaseMapObjs()
			return errno(linux.EEXIST)
		}
		harvest(uintptr(addr), uintptr(addr+n))
	case addr != 0 && userRange(addr, n) && !vmas.Overlaps(uintptr(addr), uintptr(addr+n)):
		// The hint is free: take it, as Linux does.
	default:
		a, ok := vmas.FindGap(uintptr(n), userLow, userHigh)
		if !ok {
			releaseMapObjs()
			return errno(linux.ENOMEM)
		}
		addr = uint64(a)
	}
	area.Start, area.End = uintptr(addr), uintptr(addr+n)
	if !vmas.Insert(area) {
		releaseMapObjs()
		return errno(linux.ENOMEM)
	}
	if fixed {
		releasePages(uintptr(addr), uintptr(addr+n))
		releaseMapObjs() // the mapping replaced may have been a file's last
	}
	return int64(addr)
}

// mapFile makes area a map the file open as fd from offset off, n bytes,
// checking what mmap(2) requires of the descriptor. It may block t in the
// file's pager, having changed nothing.
func mapFile(t *thread, a *mm.Area, fd, off, n uint64, shared bool) linux.Errno {
	if !pageAligned(off) {
		return linux.EINVAL
	}
	if off+n < off || int64(off+n) < 0 {
		return linux.EOVERFLOW
	}
	e := getFD(fd)
	if e == nil {
		return linux.EBADF
	}
	if e.kind == fkFile {
		if n := &inodes[openFiles[e.obj].ino]; n.mode&sIFMT == sIFCHR && n.dev == devZero {
			return 0 // /dev/zero maps anonymous memory
		}
	}
	kind, id, ok := pagerOf(e)
	if !ok {
		return linux.ENODEV // a pipe, socket, directory or device
	}
	acc := e.flags & linux.O_ACCMODE
	if acc == linux.O_WRONLY {
		return linux.EACCES
	}
	if shared {
		if a.Prot&mm.ProtWrite != 0 && (acc != linux.O_RDWR || e.flags&linux.O_APPEND != 0) {
			return linux.EACCES
		}
		a.Flags |= mm.Shared
		if acc != linux.O_RDWR || e.flags&linux.O_APPEND != 0 {
			a.Flags |= mm.NoWrite
		}
	}
	if err := pagers[kind].prepare(t, id, int64(off/pageSize), int64((off+n)/pageSize)); err != 0 || t.state != tsRunning {
		return err
	}
	if a.Obj = mapObjFor(kind, id); a.Obj == 0 {
		return linux.ENOMEM
	}
	a.Off = int64(off)
	return 0
}

// sysMunmap implements munmap(2). Stores through a shared mapping go to
// the file's pager first.
func sysMunmap(t *thread, f *Frame) int64 {
	addr, length := f.RDI, f.RSI
	n, ok := roundUp(length)
	if length == 0 || !ok || !pageAligned(addr) || !userRange(addr, n) {
		return errno(linux.EINVAL)
	}
	if vmas.HasFlag(uintptr(addr), uintptr(addr+n), mm.Fixed) {
		return errno(linux.EINVAL)
	}
	if !unmap(uintptr(addr), uintptr(addr+n)) {
		return errno(linux.ENOMEM) // splitting an area would need one more
	}
	return 0
}

// sysMremap implements mremap(2): shrinking unmaps the tail, growing
// extends the area in place when the pages after it are free, and
// otherwise, with MREMAP_MAYMOVE, moves it, page-table entries and all (a
// file mapping keeps its file and offset). SQLite grows its mapping of the
// database this way (PRAGMA mmap_size). Not supported: an old_size of 0
// (a second mapping of shared pages) and MREMAP_DONTUNMAP, both EINVAL, as
// on kernels before they existed.
func sysMremap(t *thread, f *Frame) int64 {
	old, oldLen, newLen, flags, newAddr := f.RDI, f.RSI, f.RDX, f.R10, f.R8
	const mayMove, fixed = 1, 2
	oldN, ok1 := roundUp(oldLen)
	newN, ok2 := roundUp(newLen)
	switch {
	case !pageAligned(old), flags&^(mayMove|fixed) != 0, flags&fixed != 0 && flags&mayMove == 0,
		newLen == 0, oldLen == 0:
		return errno(linux.EINVAL)
	case !ok1 || !ok2:
		return errno(linux.ENOMEM)
	case !userRange(old, oldN):
		return errno(linux.EFAULT)
	}
	a, ok := vmas.Find(uintptr(old))
	if !ok || uintptr(old+oldN) > a.End {
		return errno(linux.EFAULT)
	}
	if a.Flags&mm.Fixed != 0 {
		return errno(linux.EINVAL)
	}
	if flags&fixed != 0 && (!pageAligned(newAddr) || !userRange(newAddr, newN) ||
		newAddr < old+oldN && old < newAddr+newN ||
		vmas.HasFlag(uintptr(newAddr), uintptr(newAddr+newN), mm.Fixed)) {
		return errno(linux.EINVAL)
	}
	if vmas.Len()+3 > mm.MaxAreas {
		return errno(linux.ENOMEM)
	}
	// The area as it will be at its new place: the same file, the offset
	// that old had.
	moved := a
	moved.Off = a.Off + int64(uintptr(old)-a.Start)
	if a.Obj == 0 {
		moved.Off = 0
	} else if newN > oldN {
		o := objOf(a.Obj)
		from, to := moved.Off+int64(oldN), moved.Off+int64(newN)
		if e := o.pager().prepare(t, o.id, from/pageSize, to/pageSize); e != 0 || t.state != tsRunning {
			return errno(e) // or blocked in the file's pager: made again when t wakes
		}
	}
	if flags&fixed != 0 {
		unmap(uintptr(newAddr), uintptr(newAddr+newN))
		return moveArea(moved, old, oldN, newAddr, newN)
	}
	if newN <= oldN {
		unmap(uintptr(old+newN), uintptr(old+oldN))
		return int64(old)
	}
	if userRange(old, newN) && !vmas.Overlaps(uintptr(old+oldN), uintptr(old+newN)) {
		grow := moved
		grow.Start, grow.End = uintptr(old+oldN), uintptr(old+newN)
		if grow.Obj != 0 {
			grow.Off = moved.Off + int64(oldN)
		}
		vmas.Insert(grow)
		return int64(old)
	}
	if flags&mayMove == 0 {
		return errno(linux.ENOMEM)
	}
	to, ok := vmas.FindGap(uintptr(newN), userLow, userHigh)
	if !ok {
		return errno(linux.ENOMEM)
	}
	return moveArea(moved, old, oldN, uint64(to), newN)
}

// moveArea maps area a, which [old, old+oldN) holds, at [to, to+newN)
// instead, carrying the pages over; a tail past newN is unmapped.
func moveArea(a mm.Area, old, oldN, to, newN uint64) int64 {
	if newN < oldN {
		unmap(uintptr(old+newN), uintptr(old+oldN))
		oldN = newN
	}
	a.Start, a.End = uintptr(to), uintptr(to+newN)
	vmas.Insert(a)
	forEachPresent(uintptr(old), uintptr(old+oldN), func(va uintptr, e *uint64) {
		dst := walk(uintptr(to)+(va-uintptr(old)), true)
		*dst, *e = *e, 0
		amd64.Invlpg(va)
	})
	vmas.Remove(uintptr(old), uintptr(old+oldN))
	return int64(to)
}

// unmap removes [start, end) from the address space, handing what shared
// mappings there stored to their files' pagers. It fails, changing nothing, when the map
// has no room for the split an unmap in the middle of an area needs.
func unmap(start, end uintptr) bool {
	harvest(start, end)
	if !vmas.Remove(start, end) {
		return false
	}
	releasePages(start, end)
	releaseMapObjs()
	return true
}

// sysMprotect implements mprotect(2).
func sysMprotect(t *thread, f *Frame) int64 {
	addr, length, prot := f.RDI, f.RSI, f.RDX
	n, ok := roundUp(length)
	if !ok || !pageAligned(addr) || prot&^(linux.PROT_READ|linux.PROT_WRITE|linux.PROT_EXEC) != 0 {
		return errno(linux.EINVAL)
	}
	if !protOK(prot) {
		return errno(linux.EACCES)
	}
	if n == 0 {
		return 0
	}
	if vmas.HasFlag(uintptr(addr), uintptr(addr+n), mm.Fixed) {
		return errno(linux.EACCES)
	}
	if prot&linux.PROT_WRITE != 0 && vmas.HasFlag(uintptr(addr), uintptr(addr+n), mm.NoWrite) {
		return errno(linux.EACCES) // a shared mapping of a file opened read-only
	}
	if !vmas.Protect(uintptr(addr), uintptr(addr+n), uint32(prot)) {
		return errno(linux.ENOMEM)
	}
	reprotectPages(uintptr(addr), uintptr(addr+n))
	return 0
}

// sysMadvise implements madvise(2). MADV_DONTNEED and MADV_FREE give the
// pages back: anonymous ones read as zero afterwards, as on Linux, and
// file ones are read from the file again (a private mapping loses its
// copies). Every other advice is a hint Linux may also ignore, and is.
func sysMadvise(t *thread, f *Frame) int64 {
	addr, length, advice := f.RDI, f.RSI, f.RDX
	n, ok := roundUp(length)
	if !ok || !pageAligned(addr) {
		return errno(linux.EINVAL)
	}
	switch advice {
	case linux.MADV_DONTNEED, linux.MADV_FREE:
		if !vmas.Covered(uintptr(addr), uintptr(addr+n), 0) {
			return errno(linux.ENOMEM)
		}
		if vmas.HasFlag(uintptr(addr), uintptr(addr+n), mm.Fixed) {
			return errno(linux.EINVAL)
		}
		harvest(uintptr(addr), uintptr(addr+n))
		releasePages(uintptr(addr), uintptr(addr+n))
	}
	return 0
}

// sysMsync implements msync(2): stores through shared mappings in the
// range are written back to their files. MS_ASYNC does the same work at
// once (there is no flusher to hand it to); MS_INVALIDATE has nothing to
// do, since mappings and files share their frames.
func sysMsync(t *thread, f *Frame) int64 {
	addr, length, flags := f.RDI, f.RSI, f.RDX
	n, ok := roundUp(length)
	switch {
	case !pageAligned(addr), flags&^(linux.MS_ASYNC|linux.MS_INVALIDATE|linux.MS_SYNC) != 0,
		flags&(linux.MS_ASYNC|linux.MS_SYNC) == linux.MS_ASYNC|linux.MS_SYNC:
		return errno(linux.EINVAL)
	case !ok || !vmas.Covered(uintptr(addr), uintptr(addr+n), 0):
		return errno(linux.ENOMEM)
	}
	return errno(syncRange(t, uintptr(addr), uintptr(addr+n)))
}

// sysBrk implements brk(2) with an empty heap that cannot grow: it returns
// the current break, 0, which tells the caller to use mmap, as Go does.
func sysBrk(t *thread, f *Frame) int64 { return 0 }
