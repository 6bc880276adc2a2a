package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/arch/amd64"
)

// Model-specific registers (Intel SDM vol. 4).
const (
	msrEFER         = 0xc0000080
	msrSTAR         = 0xc0000081
	msrLSTAR        = 0xc0000082
	msrFMASK        = 0xc0000084
	msrFSBase       = 0xc0000100
	msrGSBase       = 0xc0000101
	msrTSCDeadline  = 0x6e0
	eferSCE         = 1 << 0
	rflagsIF        = 1 << 9
	rflagsUserMask  = 0x250dd5 // CF PF AF ZF SF TF DF OF RF AC ID: what user code may set (Linux's FIX_EFLAGS)
	syscallFlagMask = 0x47700  // TF, IF, DF, IOPL, NT, AC cleared on SYSCALL
)

func syscallEntryAddr() uintptr

var (
	gdt     [7]uint64
	gdtDesc [10]byte
	tss     [104]byte
	idt     [256][2]uint64
	idtDesc [10]byte
	dfStack [16 << 10]byte // IST1: double faults get a fresh stack
)

// trapVectors lists, in stubAddr order, the vectors that have entry stubs.
var trapVectors = [...]uint8{
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
	32, 33, 34, 35, 36, 37, 38, 39, 40, 255,
}

func setupCPU() {
	// Mask both 8259 PICs: where firmware left them live (SeaBIOS on q35), their
	// IRQs would arrive on the exception vectors.
	amd64.Outb(0x21, 0xff)
	amd64.Outb(0xa1, 0xff)

	// GDT: null, kernel code/data, user data/code (the order SYSRET wants), TSS.
	gdt[1] = 0x00af9b000000ffff
	gdt[2] = 0x00cf93000000ffff
	gdt[3] = 0x00cff3000000ffff
	gdt[4] = 0x00affb000000ffff
	base := uint64(uintptr(unsafe.Pointer(&tss[0])))
	limit := uint64(len(tss) - 1)
	gdt[5] = limit&0xffff | (base&0xffffff)<<16 | 0x89<<40 | (limit>>16&0xf)<<48 | (base>>24&0xff)<<56
	gdt[6] = base >> 32
	putDesc(&gdtDesc, uint16(len(gdt)*8-1), uintptr(unsafe.Pointer(&gdt[0])))
	amd64.Lgdt(uintptr(unsafe.Pointer(&gdtDesc[0])), selKernelCode, selKernelData)

	put64(tss[4:], uint64(kstackTop))                                               // RSP0
	put64(tss[36:], uint64(uintptr(unsafe.Pointer(&dfStack[len(dfStack)-16])))&^15) // IST1
	tss[102], tss[103] = 104, 0                                                     // no I/O bitmap
	amd64.Ltr(selTSS)

	for i, v := range trapVectors {
		attr := uint64(0x8e) // present, DPL 0, interrupt gate
		if v == 3 {
			attr = 0xee // int3 may come from user mode
		}
		ist := uint64(0)
		if v == 8 {
			ist = 1
		}
		h := uint64(stubAddr(i))
		idt[v][0] = h&0xffff | uint64(selKernelCode)<<16 | ist<<32 | attr<<40 | (h>>16&0xffff)<<48
		idt[v][1] = h >> 32
	}
	putDesc(&idtDesc, uint16(len(idt)*16-1), uintptr(unsafe.Pointer(&idt[0])))
	amd64.Lidt(uintptr(unsafe.Pointer(&idtDesc[0])))

	amd64.Wrmsr(msrEFER, amd64.Rdmsr(msrEFER)|eferSCE)
	amd64.Wrmsr(msrSTAR, uint64(0x10)<<48|uint64(selKernelCode)<<32)
	amd64.Wrmsr(msrLSTAR, uint64(syscallEntryAddr()))
	amd64.Wrmsr(msrFMASK, syscallFlagMask)
}

func putDesc(d *[10]byte, limit uint16, base uintptr) {
	d[0], d[1] = byte(limit), byte(limit>>8)
	put64(d[2:], uint64(base))
}

func put64(b []byte, v uint64) {
	_ = b[7]
	for i := 0; i < 8; i++ {
		b[i] = byte(v >> (8 * i))
	}
}

// exitMachine ends the VM with status: isa-debug-exit makes QEMU exit with
// (status<<1)|1; where that device is absent, the i8042 reset line stops
// Firecracker, and a triple fault stops the rest.
func exitMachine(status int) {
	amd64.Outl(0xf4, uint32(status))
	amd64.Outb(0x64, 0xfe)
	amd64.Halt()
}
