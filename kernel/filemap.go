package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/arch/amd64"
	"mote.dev/mote/kernel/mm"
)

// File mappings: their page faults, copy-on-write, write-back and
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
		return linux.SIGBUS, linux.BUS_ADRERR // past the end of the file
	}
	if write && a.Flags&mm.Shared == 0 {
		return privateCopy(e, f, a)
	}
	*e = uint64(f) | pteFor(a, true)
	return 0, 0
}

// copyOnWrite gives a private mapping its own copy of the file's page that
// entry e shows, at the first store.
func copyOnWrite(va uintptr, e *uint64, a mm.Area) (int, int32) {
	sig, code := privateCopy(e, uintptr(*e&pteAddr), a)
	amd64.Invlpg(va)
	return sig, code
}

func privateCopy(e *uint64, src uintptr, a mm.Area) (int, int32) {
	p := allocFrame()
	if p == 0 {
		outOfMemory()
	}
	*(*[pageSize]byte)(unsafe.Pointer(p)) = *(*[pageSize]byte)(unsafe.Pointer(src))
	*e = uint64(p) | pteFor(a, false)
	return 0, 0
}

// syncRange writes back what shared file mappings in [start, end) have
// stored since they were last written back. msync, munmap and fsync call
// it; Linux gives no stronger promise than msync for a mapping's stores.
func syncRange(start, end uintptr) linux.Errno {
	if nMapObjs == 0 {
		return 0
	}
	var err linux.Errno
	vmas.Objects(start, end, func(a mm.Area) {
		if e := syncArea(a, start, end); e != 0 && err == 0 {
			err = e
		}
	})
	return err
}

// syncArea writes back the dirty pages of area a within [start, end): the
// ones whose dirty bit the CPU has set. The bit is cleared, and the TLB
// entry dropped, so that the next store sets it again.
func syncArea(a mm.Area, start, end uintptr) linux.Errno {
	if a.Flags&mm.Shared == 0 {
		return 0
	}
	start, end = max(start, a.Start), min(end, a.End)
	o := objOf(a.Obj)
	var err linux.Errno
	forEachPresent(start, end, func(va uintptr, e *uint64) {
		if *e&pteDirty == 0 {
			return
		}
		*e &^= pteDirty
		amd64.Invlpg(va)
		if x := o.pager().writeBack(o.id, filePage(a, va)); x != 0 && err == 0 {
			err = x
		}
	})
	return err
}

// syncFile writes back every shared mapping of file id of pager kind: fsync.
func syncFile(kind uint8, id int32) linux.Errno {
	obj := findMapObj(kind, id)
	if obj == 0 {
		return 0
	}
	var err linux.Errno
	vmas.Objects(userLow, userHigh, func(a mm.Area) {
		if a.Obj == obj {
			if e := syncArea(a, a.Start, a.End); e != 0 && err == 0 {
				err = e
			}
		}
	})
	return err
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
