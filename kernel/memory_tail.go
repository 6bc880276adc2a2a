package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/mm"
)

// The image's lazy tail. At build time mote lowers the last segment's p_memsz so that the VMM
// loads nothing for the large zero-filled variables that end the image (Go's 32 MiB FIPS
// entropy buffer, for one: see internal/image.LazyBSS). Their addresses, from the end of the
// loaded segments (loadedHi) to runtime.end (imageHi), become an area faulted in page by page
// like the heap, so a program pays only for the pages it touches.
//
// The RAM frames whose physical addresses lie in that span are free memory, but the identity
// map cannot reach them: those addresses now belong to the tail. The kernel reaches them
// through an alias in the upper half instead. So a frame has two names: its kernel address,
// which allocFrame returns and through which the kernel reads and writes it, and its physical
// address, which page-table entries hold. They differ only for tail frames; kernAddr and
// physAddr convert, at the two places a physical address is needed: page-table entries and
// the addresses given to devices.

// tailAlias is where the kernel sees the tail's frames: frame loadedHi+n at tailAlias+n.
const tailAlias = 0xffff_c000_0000_0000

var (
	loadedHi uintptr // end of the loaded segments, page-aligned; imageHi is the end of the image

	tailMapped bool    // the alias exists: tail frames may be handed out
	tailNext   uintptr // the next tail frame never handed out
	tailList   uintptr // freed tail frames (kernel addresses), threaded through themselves

	// The boot module as the kernel reads it: its kernel address.
	initrdAddr uintptr
)

func isTailFrame(p uintptr) bool { return p >= loadedHi && p < imageHi }

// kernAddr returns the kernel address of the frame at physical address p.
func kernAddr(p uintptr) uintptr {
	if isTailFrame(p) {
		return tailAlias + p - loadedHi
	}
	return p
}

// physAddr returns the physical address of the frame at kernel address k.
func physAddr(k uintptr) uintptr {
	if k >= tailAlias {
		return k - tailAlias + loadedHi
	}
	return k
}

// inRAM reports whether the page at p is RAM the VMM described.
func inRAM(p uintptr) bool {
	for i := 0; i < nramRanges; i++ {
		if p >= ramRanges[i].start && p+pageSize <= ramRanges[i].end {
			return true
		}
	}
	return false
}

// allocTailFrame returns the kernel address of a free tail frame, or 0.
func allocTailFrame() uintptr {
	if !tailMapped {
		return 0
	}
	if tailList != 0 {
		k := tailList
		tailList = *(*uintptr)(unsafe.Pointer(k))
		return k
	}
	for tailNext < imageHi {
		p := tailNext
		tailNext += pageSize
		if usableFrame(p) {
			return kernAddr(p)
		}
	}
	return 0
}

// mapTail records the tail as a demand-filled area of the image and gives the kernel its
// view of the frames underneath.
func mapTail() {
	initrdAddr = initrd.start
	if loadedHi >= imageHi {
		return
	}
	vmas.Insert(mm.Area{Start: loadedHi, End: imageHi, Prot: mm.ProtRead | mm.ProtWrite, Flags: mm.Fixed})
	end := imageHi
	if isTailFrame(initrd.start) {
		end = max(end, initrd.end) // a module that starts in the tail is read through the alias to its end
	}
	for p := loadedHi; p < end && p < ramTop; p += pageSize {
		if inRAM(p) {
			*walk(kernAddr(p), true) = uint64(p) | ptePresent | pteWrite | pteNX
		}
	}
	initrdAddr = kernAddr(initrd.start)
	tailNext = loadedHi
	tailMapped = true
}

// loadedEnd returns the end of the image's loaded segments, from the ELF program headers
// the VMM loads with the image.
func loadedEnd() uintptr {
	hdr := imageLo
	if *(*uint32)(unsafe.Pointer(hdr)) != 0x464c457f {
		bootFail("ELF header not found before the text segment")
	}
	phoff := *(*uint64)(unsafe.Pointer(hdr + 32))
	phnum := *(*uint16)(unsafe.Pointer(hdr + 56))
	end := uintptr(0)
	for i := uintptr(0); i < uintptr(phnum); i++ {
		ph := (*elfPhdr)(unsafe.Pointer(hdr + uintptr(phoff) + i*56))
		if ph.Type == 1 && uintptr(ph.Vaddr+ph.Memsz) > end { // PT_LOAD
			end = uintptr(ph.Vaddr + ph.Memsz)
		}
	}
	return (end + pageSize - 1) &^ (pageSize - 1)
}
