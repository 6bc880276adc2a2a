package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/arch/amd64"
	"mote.dev/mote/kernel/mm"
)

// Physical memory and page tables. RAM is identity-mapped for the kernel
// with 2 MiB supervisor pages; the program image is mapped again, in place,
// with 4 KiB user pages that carry its segments' permissions, and the frames
// under its unloaded tail are reached through an alias (memory_tail.go);
// user mappings live far above RAM and are filled in on demand.

const (
	pageSize   = 4096
	hugeSize   = 2 << 20
	ptePresent = 1 << 0
	pteWrite   = 1 << 1
	pteUser    = 1 << 2
	ptePWT     = 1 << 3
	ptePCD     = 1 << 4
	pteHuge    = 1 << 7
	pteNX      = 1 << 63
	pteAddr    = 0x000ffffffffff000

	// userLow and userHigh bound where mmap places user mappings.
	userLow  = 0x10_0000_0000 // 64 GiB: above any RAM identity map
	userHigh = 0x7fff_0000_0000

	stackTop  = 0x7ffe_0000_0000
	stackSize = 8 << 20
)

var (
	pml4 uintptr

	// Frames never handed out yet are taken in address order from
	// ramRanges (bumpRange, bumpNext); freed ones go on a list threaded
	// through the frames themselves.
	bumpRange  int
	bumpNext   uintptr
	freeList   uintptr
	freeFrames uintptr // frames available, both kinds
	usedFrames uintptr

	imageLo, imageHi uintptr
	vmas             mm.Map
)

func memInit() {
	imageLo = imageStart() &^ (pageSize - 1)
	// The ELF headers sit in the page before the text; they are loaded too.
	if imageLo >= pageSize {
		imageLo -= pageSize
	}
	imageHi = (imageEnd() + pageSize - 1) &^ (pageSize - 1)
	loadedHi = min(loadedEnd(), imageHi)
	bumpNext = 0
	for i := 0; i < nramRanges; i++ {
		r := ramRanges[i]
		for p := r.start; p+pageSize <= r.end; p += pageSize {
			if usableFrame(p) {
				freeFrames++
			}
		}
	}
	if freeFrames < 256 {
		bootFail("less than 1 MiB of free memory: give the guest more with -m")
	}

	pml4 = zeroFrame()
	identTop := uintptr(4 << 30)
	if ramTop > identTop {
		identTop = (ramTop + hugeSize - 1) &^ (hugeSize - 1)
	}
	for va := uintptr(0); va < identTop; va += hugeSize {
		if va < imageHi && va+hugeSize > imageLo || va == 0 {
			// 4 KiB pages: the image, and page zero kept unmapped.
			for p := va; p < va+hugeSize; p += pageSize {
				if p == 0 {
					continue
				}
				if p >= imageLo && p < imageHi {
					continue // mapped below, as user pages
				}
				*walk(p, true) = uint64(p) | ptePresent | pteWrite | pteNX
			}
			continue
		}
		flags := uint64(ptePresent | pteWrite | pteHuge | pteNX)
		if va >= 0xc000_0000 && va < 4<<30 {
			flags |= ptePCD | ptePWT // device memory: the LAPIC, IOAPIC, virtio-mmio
		}
		*walkHuge(va) = uint64(va) | flags
	}
	mapImage()
	mapTail()
	amd64.WriteCR3(uint64(physAddr(pml4)))
}

// usableFrame reports whether the frame at p may be handed out.
func usableFrame(p uintptr) bool {
	switch {
	case p < 1<<20: // firmware, start_info, boot data
		return false
	case p+pageSize > imageLo && p < loadedHi:
		return false
	case isTailFrame(p) && !inRAM(p):
		return false
	case initrd.end > initrd.start && p+pageSize > initrd.start && p < initrd.end:
		return false
	}
	return true
}

// allocFrame returns the kernel address of a free frame, or 0 when memory
// is exhausted. Page-table entries and devices take its physical address
// (physAddr).
func allocFrame() uintptr {
	if k := allocTailFrame(); k != 0 {
		freeFrames--
		usedFrames++
		return k
	}
	if freeList != 0 {
		p := freeList
		freeList = *(*uintptr)(unsafe.Pointer(p))
		freeFrames--
		usedFrames++
		return p
	}
	for bumpRange < nramRanges {
		r := ramRanges[bumpRange]
		if bumpNext < r.start {
			bumpNext = (r.start + pageSize - 1) &^ (pageSize - 1)
		}
		for bumpNext+pageSize <= r.end {
			p := bumpNext
			bumpNext += pageSize
			if usableFrame(p) && !isTailFrame(p) {
				freeFrames--
				usedFrames++
				return p
			}
		}
		bumpRange++
	}
	return 0
}

// freeFrame takes back the frame at kernel address p.
func freeFrame(p uintptr) {
	if p >= tailAlias {
		*(*uintptr)(unsafe.Pointer(p)) = tailList
		tailList = p
	} else {
		*(*uintptr)(unsafe.Pointer(p)) = freeList
		freeList = p
	}
	freeFrames++
	usedFrames--
}

func zeroFrame() uintptr {
	p := allocFrame()
	if p == 0 {
		outOfMemory()
	}
	clearPage(p)
	return p
}

func clearPage(p uintptr) {
	pg := (*[pageSize / 8]uint64)(unsafe.Pointer(p))
	for i := range pg {
		pg[i] = 0
	}
}

func outOfMemory() {
	kerr.s("mote: out of memory: the guest has ").dec(int64(ramTotal >> 20)).
		s(" MiB and needs more; run it with a larger -m").nl()
	klog.s("log out of memory").nl()
	exitMachine(137)
}

func table(entry *uint64, create bool) *[512]uint64 {
	if *entry&ptePresent == 0 {
		if !create {
			return nil
		}
		*entry = uint64(physAddr(zeroFrame())) | ptePresent | pteWrite | pteUser
	}
	return (*[512]uint64)(unsafe.Pointer(kernAddr(uintptr(*entry & pteAddr))))
}

// walk returns the 4 KiB page-table entry for va, creating tables when
// create is set; nil when absent.
func walk(va uintptr, create bool) *uint64 {
	t := (*[512]uint64)(unsafe.Pointer(pml4))
	for shift := uint(39); shift > 12; shift -= 9 {
		e := &t[va>>shift&511]
		if *e&pteHuge != 0 {
			return nil
		}
		if t = table(e, create); t == nil {
			return nil
		}
	}
	return &t[va>>12&511]
}

// walkHuge returns the page-directory entry for the 2 MiB page at va.
func walkHuge(va uintptr) *uint64 {
	t := (*[512]uint64)(unsafe.Pointer(pml4))
	t = table(&t[va>>39&511], true)
	t = table(&t[va>>30&511], true)
	return &t[va>>21&511]
}

// ELF program headers of the loaded image.
type elfPhdr struct {
	Type, Flags                             uint32
	Off, Vaddr, Paddr, Filesz, Memsz, Align uint64
}

// mapImage maps the program's loaded segments for user mode with their ELF
// permissions (text R-X, rodata R, data RW-NX) and records them as fixed areas.
func mapImage() {
	hdr := imageLo
	phoff := *(*uint64)(unsafe.Pointer(hdr + 32))
	phnum := *(*uint16)(unsafe.Pointer(hdr + 56))
	for i := uintptr(0); i < uintptr(phnum); i++ {
		ph := (*elfPhdr)(unsafe.Pointer(hdr + uintptr(phoff) + i*56))
		if ph.Type != 1 { // PT_LOAD
			continue
		}
		lo := uintptr(ph.Vaddr) &^ (pageSize - 1)
		hi := (uintptr(ph.Vaddr+ph.Memsz) + pageSize - 1) &^ (pageSize - 1)
		prot := uint32(0)
		flags := uint64(ptePresent | pteUser)
		if ph.Flags&4 != 0 {
			prot |= mm.ProtRead
		}
		if ph.Flags&2 != 0 {
			prot |= mm.ProtWrite
			flags |= pteWrite
		}
		if ph.Flags&1 != 0 {
			prot |= mm.ProtExec
		} else {
			flags |= pteNX
		}
		for p := lo; p < hi; p += pageSize {
			*walk(p, true) = uint64(p) | flags
		}
		vmas.Insert(mm.Area{Start: lo, End: hi, Prot: prot, Flags: mm.Fixed})
	}
}

// Page-fault error code bits.
const (
	pfPresent = 1 << 0
	pfWrite   = 1 << 1
	pfFetch   = 1 << 4
)

// handlePageFault resolves a user page fault. It returns 0 when the access
// may continue, or the signal to deliver and its si_code.
func handlePageFault(addr uintptr, errcode uint64) (int, int32) {
	stats.pageFaults++
	a, ok := vmas.Find(addr)
	if !ok {
		return linux.SIGSEGV, segvMapErr
	}
	need := uint32(mm.ProtRead)
	if errcode&pfWrite != 0 {
		need = mm.ProtWrite
	}
	if errcode&pfFetch != 0 {
		need = mm.ProtExec
	}
	if a.Prot&need != need {
		return linux.SIGSEGV, segvAccErr
	}
	return faultIn(addr&^(pageSize-1), a, errcode&pfWrite != 0)
}

const (
	segvMapErr = 1
	segvAccErr = 2
)

// faultIn makes the page at va of area a present, for writing when write
// is set: anonymous pages zero-filled, file pages from their pager
// (filemap.go). It returns 0, or the signal the access earns: SIGSEGV when
// the page is present but does not allow the access, SIGBUS for a file
// page past the end of its file.
func faultIn(va uintptr, a mm.Area, write bool) (int, int32) {
	e := walk(va, true)
	if e == nil {
		return linux.SIGSEGV, segvAccErr
	}
	if *e&(ptePresent|pteNone) != 0 {
		if write && *e&pteFile != 0 && a.Flags&mm.Shared == 0 {
			return copyOnWrite(va, e, a)
		}
		if *e&pteNone != 0 {
			// Data hidden by PROT_NONE, now accessible again.
			*e = *e&ptePreserve | pteFor(a, *e&pteFile != 0)
		}
		amd64.Invlpg(va)
		return 0, 0
	}
	if a.Obj != 0 {
		return fileFault(va, e, a, write)
	}
	p := zeroFrame()
	*e = uint64(physAddr(p)) | pteBits(a.Prot)
	return 0, 0
}

// pteBits turns mmap protection into page-table bits. PROT_NONE pages are
// never present.
func pteBits(prot uint32) uint64 {
	b := uint64(ptePresent | pteUser)
	if prot&mm.ProtWrite != 0 {
		b |= pteWrite
	}
	if prot&mm.ProtExec == 0 {
		b |= pteNX
	}
	return b
}

// pteFor returns the page-table bits for a page of area a; borrowed says
// the frame is a file's (pteFile). A file's frame in a private mapping is
// never writable: the first store copies it (copyOnWrite).
func pteFor(a mm.Area, borrowed bool) uint64 {
	var b uint64
	if a.Prot == 0 {
		b = pteNone
	} else {
		b = pteBits(a.Prot)
	}
	if borrowed {
		b |= pteFile
		if a.Flags&mm.Shared == 0 {
			b &^= pteWrite
		}
	}
	return b
}

// forEachPresent calls f for every 4 KiB page in [start, end) that holds a
// frame (present, or hidden by PROT_NONE),
// skipping absent tables quickly.
func forEachPresent(start, end uintptr, f func(va uintptr, e *uint64)) {
	for va := start; va < end; {
		t := (*[512]uint64)(unsafe.Pointer(pml4))
		skipped := false
		for shift := uint(39); shift > 12; shift -= 9 {
			e := &t[va>>shift&511]
			if *e&ptePresent == 0 || *e&pteHuge != 0 {
				next := (va>>shift + 1) << shift
				if next <= va {
					return
				}
				va = next
				skipped = true
				break
			}
			t = (*[512]uint64)(unsafe.Pointer(kernAddr(uintptr(*e & pteAddr))))
		}
		if skipped {
			continue
		}
		e := &t[va>>12&511]
		if *e&(ptePresent|pteNone) != 0 {
			f(va, e)
		}
		va += pageSize
	}
}

// releasePages clears the entries of [start, end) and frees the frames
// behind them, except those a file owns; one a direct volume write is
// sending is freed when its reply comes (volPinnedFree).
func releasePages(start, end uintptr) {
	forEachPresent(start, end, func(va uintptr, e *uint64) {
		if p := uintptr(*e & pteAddr); *e&pteFile == 0 && !volPinnedFree(p) {
			freeFrame(kernAddr(p))
		}
		*e = 0
		amd64.Invlpg(va)
	})
}

// reprotectPages applies the (new) protection of their areas to the pages
// of [start, end) that hold a frame; PROT_NONE keeps the frame and hides
// the page.
func reprotectPages(start, end uintptr) {
	forEachPresent(start, end, func(va uintptr, e *uint64) {
		a, _ := vmas.Find(va)
		*e = *e&ptePreserve | pteFor(a, *e&pteFile != 0)
		amd64.Invlpg(va)
	})
}

// Bits the hardware ignores, kept for the kernel's own use, and the dirty
// bit the CPU sets on a store.
const (
	pteDirty = 1 << 6
	// pteNone marks a page that holds data but is PROT_NONE: not present,
	// so forEachPresent must also visit it.
	pteNone = 1 << 9
	// pteFile marks a frame that belongs to a file (its pager), not to
	// the mapping: unmapping leaves it alone.
	pteFile = 1 << 10

	// ptePreserve is what a change of protection keeps of an entry.
	ptePreserve = pteAddr | pteFile | pteDirty
)
