package kernel

import "unsafe"

// hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h), version 1.
type startInfo struct {
	Magic         uint32
	Version       uint32
	Flags         uint32
	NrModules     uint32
	ModlistPaddr  uint64
	CmdlinePaddr  uint64
	RsdpPaddr     uint64
	MemmapPaddr   uint64
	MemmapEntries uint32
	_             uint32
}

type startModule struct {
	Paddr, Size, CmdlinePaddr, _ uint64
}

type memmapEntry struct {
	Addr, Size uint64
	Type       uint32
	_          uint32
}

const (
	pvhMagic  = 0x336ec578
	e820RAM   = 1
	maxRanges = 16
)

type physRange struct{ start, end uintptr }

var (
	ramRanges  [maxRanges]physRange
	nramRanges int
	ramTop     uintptr // highest RAM address + 1
	ramTotal   uintptr

	// The first boot module, if any: the image's root file system.
	initrd physRange

	cmdBuf [64 << 10]byte
	cmdLen int
)

func parseStartInfo() {
	si := (*startInfo)(unsafe.Pointer(startInfoAddr))
	if si.Magic != pvhMagic {
		bootFail("bad hvm_start_info magic")
	}
	if si.Version < 1 || si.MemmapEntries == 0 {
		bootFail("the VMM gave no memory map (hvm_start_info version 1 needed)")
	}
	for i := uint32(0); i < si.MemmapEntries; i++ {
		e := (*memmapEntry)(unsafe.Pointer(uintptr(si.MemmapPaddr) + uintptr(i)*unsafe.Sizeof(memmapEntry{})))
		if e.Type != e820RAM || e.Size == 0 {
			continue
		}
		if nramRanges == maxRanges {
			break
		}
		r := physRange{uintptr(e.Addr), uintptr(e.Addr + e.Size)}
		ramRanges[nramRanges] = r
		nramRanges++
		ramTotal += r.end - r.start
		if r.end > ramTop {
			ramTop = r.end
		}
	}
	if si.NrModules > 0 {
		m := (*startModule)(unsafe.Pointer(uintptr(si.ModlistPaddr)))
		initrd = physRange{uintptr(m.Paddr), uintptr(m.Paddr + m.Size)}
	}
	if si.CmdlinePaddr != 0 {
		p := uintptr(si.CmdlinePaddr)
		for cmdLen < len(cmdBuf) {
			c := *(*byte)(unsafe.Pointer(p + uintptr(cmdLen)))
			if c == 0 {
				break
			}
			cmdBuf[cmdLen] = c
			cmdLen++
		}
	}
}

// bootFail reports an error found before the app could start and stops the
// machine with status 125, as a container runtime does for its own errors.
func bootFail(msg string) {
	kerr.s("mote: boot failed: ").s(msg).nl()
	klog.s("fault boot failed: ").s(msg).nl()
	exitMachine(125)
}
