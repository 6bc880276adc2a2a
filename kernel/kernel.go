// Package kernel is mote's library operating system: linked into a Go
// program, it boots through PVH, sets up the machine and runs the program's
// unmodified runtime, serving the Linux system calls it makes.
//
// The code on the trap path runs in ring 0 on one kernel stack with a
// stand-in g (kernelG), before and beside the Go runtime. It must therefore
// not allocate, not write Go pointers into globals (no write barriers may
// run), and not panic: kernel state lives in fixed arrays indexed by
// integers, and user memory is reached only through the checked accessors
// in usermem.go. See docs/ARCHITECTURE.md.
package kernel

import "unsafe"

const kstackSize = 64 << 10

// Boot and trap state shared with entry_amd64.s. The assembly writes the
// first group before any Go code runs.
var (
	startInfoAddr uintptr // physical address of hvm_start_info
	kstack        [kstackSize]byte
	kstackTop     uintptr // top of kstack, 16-byte aligned: TSS.RSP0
	kernelG       [32]uintptr
	ktls          [2]uintptr // ktls[0] = &kernelG; FS_BASE = &ktls[1]
	kernelFS      uintptr

	userSP uintptr // scratch for the SYSCALL entry
	curFX  uintptr // FXSAVE area of the running thread
	curFS  uintptr // FS_BASE of the running thread

	// bootPT holds the boot page tables and stack: 6 pages and room to align.
	bootPT      [6*4096 + 4095]byte
	bootGDT     = [3]uint64{0, 0x00af9b000000ffff, 0x00cf93000000ffff}
	bootGDTDesc [10]byte
)

func entry32()
func entry64()
func imageStart() uintptr
func imageEnd() uintptr
func rt0Addr() uintptr
func stubAddr(i int) uintptr
func syscallEntry()
func enterUser(frame uintptr)

// Frame is the register state saved on the kernel stack by a trap or a
// system call, in the order entry_amd64.s pushes it.
type Frame struct {
	R15, R14, R13, R12, R11, R10, R9, R8 uint64
	RBP, RDI, RSI, RDX, RCX, RBX, RAX    uint64
	Vector, Error                        uint64
	RIP, CS, RFLAGS, RSP, SS             uint64
}

const (
	vecSyscall = 256

	selKernelCode = 0x08
	selKernelData = 0x10
	selUserData   = 0x1b
	selUserCode   = 0x23
	selTSS        = 0x28
)

func userFrame() *Frame {
	return (*Frame)(unsafe.Pointer(kstackTop - unsafe.Sizeof(Frame{})))
}

// kmain is the first Go function to run, in ring 0 on the boot page tables.
func kmain() {
	consoleInit()
	parseStartInfo()
	parseCmdline()
	setupCPU()
	memInit()
	clockInit()
	stdinInit()
	fsInit()
	volInit()
	netInit()
	hostsInit()
	controlInit()
	threadsInit()
	startProcess()
	// startProcess filled in the frame of the first thread.
	enterUser(uintptr(unsafe.Pointer(userFrame())))
}
