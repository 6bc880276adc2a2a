package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/arch/amd64"
	"mote.dev/mote/kernel/mm"
)

// File mappings: their page faults, copy-on-write, dirty pages and
// truncation. A page of a shared mapping is the pager's frame itself
// (marked pteFile), so the mapping sees what read and write see. A page of
// a private mapping is the file's frame too, read-only, until the first
// store copies it into a frame of the mapping's own: until then the
// mapping sees later changes to the file, as Linux allows.

// filePage returns the page of its file that va in area a shows.
func filePage(a mm.Area, va uintptr) int64 {
	return (a.Off + int64(va-a.Start)) / pageSize
}

// fileFault maps the page at va of file area a, whose entry e is empty.
func fileFault(va uintptr, e *uint64, a mm.Area, write bool) (int, int32) {
	o := objOf(a.Obj)
	f, err := o.pager().frame(o.id, filePage(a, va))
	switch {
	case err == linux.ENOMEM:
		outOfMemory()
	case err != 0:
		return linux.SIGBUS, linux.BUS_ADRERR // past the end of the file, or no room for it
	}
	if write && a.Flags&mm.Shared == 0 {
		return privateCopy(e, f, a)
	}
	*e = uint64(physAddr(f)) | pteFor(a, true)
	return 0, 0
}

// copyOnWrite gives a private mapping its own copy of the file's page that
// entry e shows, at the first store.
func copyOnWrite(va uintptr, e *uint64, a mm.Area) (int, int32) {
	sig, code := privateCopy(e, kernAddr(uintptr(*e&pteAddr)), a)
	amd64.Invlpg(va)
	return sig, code
}

// privateCopy maps a copy of the frame at kernel address src at entry e.
func privateCopy(e *uint64, src uintptr, a mm.Area) (int, int32) {
	p := allocFrame()
	if p == 0 {
		outOfMemory()
	}
	*(*[pageSize]byte)(unsafe.Pointer(p)) = *(*[pageSize]byte)(unsafe.Pointer(src))
	*e = uint64(physAddr(p)) | pteFor(a, false)
	return 0, 0
}

// harvest hands the pages shared file mappings in [start, end) have stored
// into since the last harvest to their pagers. It is called before
// page-table entries go (munmap, mremap, MADV_DONTNEED, exit) and before a
// sync. It does no I/O.
func harvest(start, end uintptr) {
	if nMapObjs == 0 {
		return
	}
	vmas.Objects(start, end, func(a mm.Area) { harvestArea(a, start, end) })
}

// harvestArea harvests the dirty pages of area a within [start, end): the
// ones whose dirty bit the CPU has set. The bit is cleared, and the TLB
// entry dropped, so that the next store sets it again.
func harvestArea(a mm.Area, start, end uintptr) {
	if a.Flags&mm.Shared == 0 {
		return
	}
	start, end = max(start, a.Start), min(end, a.End)
	o := objOf(a.Obj)
	forEachPresent(start, end, func(va uintptr, e *uint64) {
		if *e&pteDirty != 0 {
			*e &^= pteDirty
			amd64.Invlpg(va)
			o.pager().dirty(o.id, filePage(a, va))
		}
	})
}

// syncRange writes back what the shared file mappings in [start, end) have
// stored: msync. It may block t (see pager); the caller then returns.
func syncRange(t *thread, start, end uintptr) linux.Errno {
	if nMapObjs == 0 {
		return 0
	}
	harvest(start, end)
	var err linux.Errno
	vmas.Objects(start, end, func(a mm.Area) {
		if a.Flags&mm.Shared == 0 || err != 0 || t.state != tsRunning {
			return
		}
		o := objOf(a.Obj)
		err = o.pager().sync(t, o.id)
	})
	return err
}

// syncFile writes back what the shared mappings of file id of pager kind
// have stored: fsync. It may block t (see pager); the caller then returns.
func syncFile(t *thread, kind uint8, id int32) linux.Errno {
	if obj := findMapObj(kind, id); obj != 0 {
		vmas.Objects(userLow, userHigh, func(a mm.Area) {
			if a.Obj == obj {
				harvestArea(a, a.Start, a.End)
			}
		})
	}
	// Also when no longer mapped: pages harvested at munmap wait here.
	return pagers[kind].sync(t, id)
}

// unmapFilePages takes pages from page pg on of file id out of every
// mapping, private copies included, as Linux does when a file shrinks: an
// access there gets SIGBUS afterwards. A pager calls it before it frees
// those frames.
func unmapFilePages(kind uint8, id int32, pg int64) {
	obj := findMapObj(kind, id)
	if obj == 0 {
		return
	}
	vmas.Objects(userLow, userHigh, func(a mm.Area) {
		if a.Obj != obj {
			return
		}
		start := a.Start
		if first := a.Off / pageSize; pg > first {
			if pg-first >= int64(a.End-a.Start)/pageSize {
				return
			}
			start += uintptr(pg-first) * pageSize
		}
		releasePages(start, a.End)
	})
}
