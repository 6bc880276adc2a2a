package mm

import "testing"

func check(t *testing.T, m *Map, want ...Area) {
	t.Helper()
	if m.Len() != len(want) {
		t.Fatalf("got %d areas %v, want %v", m.Len(), m.areas[:m.n], want)
	}
	for i, w := range want {
		if m.At(i) != w {
			t.Fatalf("area %d = %+v, want %+v (all: %v)", i, m.At(i), w, m.areas[:m.n])
		}
	}
}

func TestInsertRemoveProtect(t *testing.T) {
	var m Map
	m.Insert(ar(0x1000, 0x9000, ProtRead|ProtWrite, 0))
	check(t, &m, ar(0x1000, 0x9000, 3, 0))
	m.Remove(0x3000, 0x4000)
	check(t, &m, ar(0x1000, 0x3000, 3, 0), ar(0x4000, 0x9000, 3, 0))
	m.Insert(ar(0x3000, 0x4000, ProtRead|ProtWrite, 0))
	check(t, &m, ar(0x1000, 0x9000, 3, 0))
	if !m.Protect(0x2000, 0x5000, ProtRead) {
		t.Fatal("Protect failed")
	}
	check(t, &m, ar(0x1000, 0x2000, 3, 0), ar(0x2000, 0x5000, 1, 0), ar(0x5000, 0x9000, 3, 0))
	if !m.Protect(0x1000, 0x9000, 0) {
		t.Fatal("Protect failed")
	}
	check(t, &m, ar(0x1000, 0x9000, 0, 0))
	if m.Protect(0x8000, 0xa000, 1) {
		t.Fatal("Protect of an unmapped page succeeded")
	}
	m.Remove(0, 0x100000)
	check(t, &m)
}

func TestCoveredFind(t *testing.T) {
	var m Map
	m.Insert(ar(0x1000, 0x3000, ProtRead, 0))
	m.Insert(ar(0x3000, 0x5000, ProtRead|ProtWrite, 0))
	if !m.Covered(0x1000, 0x5000, ProtRead) {
		t.Error("readable range not covered")
	}
	if m.Covered(0x1000, 0x5000, ProtWrite) {
		t.Error("partly read-only range covered for writing")
	}
	if m.Covered(0x4000, 0x6000, ProtRead) {
		t.Error("range past the end covered")
	}
	if a, ok := m.Find(0x3fff); !ok || a.Start != 0x3000 {
		t.Errorf("Find = %+v %v", a, ok)
	}
	if _, ok := m.Find(0x5000); ok {
		t.Error("Find past the end succeeded")
	}
}

func TestFindGap(t *testing.T) {
	var m Map
	m.Insert(ar(0x8000, 0x10000, 0, 0))
	a, ok := m.FindGap(0x4000, 0x1000, 0x10000)
	if !ok || a != 0x4000 {
		t.Fatalf("FindGap = %#x %v, want 0x4000", a, ok)
	}
	a, ok = m.FindGap(0x1000, 0x1000, 0x20000)
	if !ok || a != 0x1f000 {
		t.Fatalf("FindGap = %#x %v, want 0x1f000", a, ok)
	}
	if _, ok := m.FindGap(0x8000, 0x1000, 0x10000); ok {
		t.Fatal("FindGap found room that is not there")
	}
}

func TestFixedNotMerged(t *testing.T) {
	var m Map
	m.Insert(ar(0x1000, 0x2000, ProtRead, Fixed))
	m.Insert(ar(0x2000, 0x3000, ProtRead, Fixed))
	if m.Len() != 2 || !m.HasFlag(0x1800, 0x1900, Fixed) || m.HasFlag(0x3000, 0x4000, Fixed) {
		t.Fatalf("fixed areas: %v", m.areas[:m.n])
	}
}

// FuzzMap checks the map against a page-by-page model: each page's
// protection, and for file mappings the object and the file offset it
// shows.
func FuzzMap(f *testing.F) {
	f.Add([]byte{0, 1, 5, 3, 1, 2, 3, 1, 2, 0, 9, 0})
	f.Add([]byte{0, 1, 9, 0x4b, 1, 3, 4, 0, 0, 3, 4, 0x4b, 2, 5, 6, 1, 0, 9, 12, 0x6b})
	type page struct {
		prot int // -1 unmapped
		obj  int32
		off  int64 // of the page, in a file mapping
	}
	f.Fuzz(func(t *testing.T, ops []byte) {
		var m Map
		var model [64]page
		for i := range model {
			model[i].prot = -1
		}
		for len(ops) >= 4 {
			// The fourth byte: protection, object (0 anonymous, 1 or 2 a
			// file) and the page of the file the first page shows.
			op, a, b, p := ops[0]%3, int(ops[1]%64), int(ops[2]%64), uint32(ops[3]%8)
			obj, base := int32(ops[3]>>3%3), int64(ops[3]>>5)
			ops = ops[4:]
			if a > b {
				a, b = b, a
			}
			s, e := uintptr(a)*PageSize, uintptr(b)*PageSize
			switch op {
			case 0:
				area := ar(s, e, p, 0)
				if obj != 0 {
					area.Obj, area.Off = obj, base*PageSize
				}
				m.Insert(area)
				for i := a; i < b; i++ {
					model[i] = page{int(p), obj, 0}
					if obj != 0 {
						model[i].off = (base + int64(i-a)) * PageSize
					}
				}
			case 1:
				m.Remove(s, e)
				for i := a; i < b; i++ {
					model[i] = page{prot: -1}
				}
			case 2:
				all := true
				for i := a; i < b; i++ {
					all = all && model[i].prot >= 0
				}
				if m.Protect(s, e, p) != all {
					t.Fatalf("Protect(%d,%d) = %v, model says %v", a, b, !all, all)
				}
				if all {
					for i := a; i < b; i++ {
						model[i].prot = int(p)
					}
				}
			}
			for i, want := range model {
				va := uintptr(i) * PageSize
				ar, ok := m.Find(va)
				if ok != (want.prot >= 0) || ok && (int(ar.Prot) != want.prot || ar.Obj != want.obj) ||
					ok && ar.Obj != 0 && ar.Off+int64(va-ar.Start) != want.off {
					t.Fatalf("page %d: map %+v %v, model %+v", i, ar, ok, want)
				}
			}
			for i := 1; i < m.Len(); i++ {
				if m.At(i-1).End > m.At(i).Start {
					t.Fatalf("overlap: %v", m.areas[:m.n])
				}
				if m.same(i-1, i) {
					t.Fatalf("unmerged: %v", m.areas[:m.n])
				}
			}
		}
	})
}

func ar(start, end uintptr, prot, flags uint32) Area {
	return Area{Start: start, End: end, Prot: prot, Flags: flags}
}

// TestFileAreas checks that a file mapping keeps its offset through splits
// and merges only with the same file at the next offset.
func TestFileAreas(t *testing.T) {
	var m Map
	file := func(s, e uintptr, off int64) Area {
		return Area{Start: s, End: e, Prot: ProtRead, Flags: Shared, Obj: 1, Off: off}
	}
	m.Insert(file(0x10000, 0x20000, 0x4000))
	m.Remove(0x12000, 0x13000)
	check(t, &m, file(0x10000, 0x12000, 0x4000), file(0x13000, 0x20000, 0x7000))
	if !m.Protect(0x14000, 0x15000, ProtRead|ProtWrite) {
		t.Fatal("Protect failed")
	}
	w := file(0x14000, 0x15000, 0x8000)
	w.Prot |= ProtWrite
	check(t, &m, file(0x10000, 0x12000, 0x4000), file(0x13000, 0x14000, 0x7000), w, file(0x15000, 0x20000, 0x9000))
	m.Protect(0x14000, 0x15000, ProtRead)
	check(t, &m, file(0x10000, 0x12000, 0x4000), file(0x13000, 0x20000, 0x7000))
	// The same file at the offset the hole had: one area again.
	m.Insert(file(0x12000, 0x13000, 0x6000))
	check(t, &m, file(0x10000, 0x20000, 0x4000))
	// Next to it, the same file at another offset, or anonymous memory: apart.
	m.Insert(file(0x20000, 0x21000, 0))
	m.Insert(ar(0x21000, 0x22000, ProtRead, Shared))
	check(t, &m, file(0x10000, 0x20000, 0x4000), file(0x20000, 0x21000, 0), ar(0x21000, 0x22000, ProtRead, Shared))
	n := 0
	m.Objects(0x1f000, 0x30000, func(a Area) { n++ })
	if n != 2 || !m.Uses(1) || m.Uses(2) {
		t.Errorf("Objects saw %d areas, Uses(1) %v, Uses(2) %v", n, m.Uses(1), m.Uses(2))
	}
}
