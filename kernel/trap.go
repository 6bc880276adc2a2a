package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/arch/amd64"
)

// trap is called by entry_amd64.s for every trap and system call from user
// mode, with the saved registers at frame. On return, the frame holds the
// thread to resume.
func trap(frame uintptr) {
	f := (*Frame)(unsafe.Pointer(frame))
	t := &threads[cur]
	t.frame = *f
	switch v := f.Vector; {
	case v == vecSyscall:
		doSyscall(t)
		schedule(false)
	case v == vecTimer:
		timerArmed = 0
		lapicEOIWrite()
		schedule(true)
	case v < 32:
		userException(t, v, f.Error)
		schedule(false)
	case v == vecSpurious:
		schedule(false)
	default:
		deviceInterrupt(v)
		schedule(false)
	}
}

// ktrap is called for traps taken in ring 0: interrupts that end the idle
// halt, and faults, which are kernel bugs.
func ktrap(frame uintptr) {
	f := (*Frame)(unsafe.Pointer(frame))
	switch v := f.Vector; {
	case v == vecTimer:
		timerArmed = 0
		lapicEOIWrite()
	case v == vecSpurious:
	case v >= 32:
		deviceInterrupt(v)
	default:
		kernelFault(f)
	}
}

func idleHalt() { amd64.StiHlt() }

// deviceInterrupt acknowledges a device interrupt and wakes who waits for it.
func deviceInterrupt(v uint64) {
	switch v {
	case vecCOM1:
		// Reading IIR acknowledges the UART; the data stays for read(2).
		amd64.Inb(com1 + 2)
		stdinInterrupt()
	case vecCOM3:
		controlInterrupt()
	case vecVirtio:
		virtioInterrupt()
		p9Interrupt()
	}
	lapicEOIWrite()
}

func userException(t *thread, vec, errcode uint64) {
	f := &t.frame
	switch vec {
	case 14: // page fault
		addr := amd64.ReadCR2()
		if sig, code := handlePageFault(uintptr(addr), errcode); sig != 0 {
			forceSignal(t, sig, code, addr)
		}
	case 0: // divide error
		forceSignal(t, linux.SIGFPE, linux.FPE_INTDIV, f.RIP)
	case 16, 19: // x87, SIMD floating point
		forceSignal(t, linux.SIGFPE, 0, f.RIP)
	case 6: // invalid opcode
		forceSignal(t, linux.SIGILL, linux.ILL_ILLOPN, f.RIP)
	case 1, 3: // debug, breakpoint
		forceSignal(t, linux.SIGTRAP, linux.TRAP_BRKPT, f.RIP)
	case 17: // alignment check
		forceSignal(t, linux.SIGBUS, linux.BUS_ADRERR, f.RIP)
	case 13, 12, 11, 10: // general protection (a non-canonical address), stack, segment
		forceSignal(t, linux.SIGSEGV, linux.SI_KERNEL, 0)
	default:
		kernelFault(f)
	}
}

var exceptionNames = [...]string{
	0: "divide error", 1: "debug", 2: "NMI", 3: "breakpoint", 4: "overflow",
	5: "bound range", 6: "invalid opcode", 7: "device not available", 8: "double fault",
	10: "invalid TSS", 11: "segment not present", 12: "stack fault",
	13: "general protection", 14: "page fault", 16: "x87 error", 17: "alignment check",
	18: "machine check", 19: "SIMD error", 21: "control protection",
}

// faulting is set while a kernel fault is reported: a second fault then
// stops the machine at once instead of reporting forever.
var faulting bool

// kernelFault reports a fault in the kernel itself and stops the machine:
// the fault, the registers, the kernel's frames and, if the kernel was
// serving a system call, the app's frames at the call.
func kernelFault(f *Frame) {
	if faulting {
		kerr.s("mote: kernel fault while reporting a kernel fault: vector ").dec(int64(f.Vector)).
			s(" at rip ").hex(f.RIP).nl()
		exitMachine(125)
	}
	faulting = true
	name := "exception"
	if f.Vector < uint64(len(exceptionNames)) && exceptionNames[f.Vector] != "" {
		name = exceptionNames[f.Vector]
	}
	for _, w := range [...]kw{kerr, klog} {
		if w == klog {
			w.s("fault ")
		}
		w.s("mote: kernel fault: ").s(name).s(" (vector ").dec(int64(f.Vector)).
			s(") error ").hex(f.Error).s(" at rip ").hex(f.RIP).s(" cr2 ").hex(amd64.ReadCR2()).nl()
	}
	dumpRegs(kerr, f)
	kernelBacktrace(kerr, f)
	if inSyscall > 0 {
		t := &threads[inSyscall-1]
		kerr.s("in system call ")
		if t.sysnr < linux.NumSyscalls && linux.SyscallNames[t.sysnr] != "" {
			kerr.s(linux.SyscallNames[t.sysnr]).s(" ")
		}
		kerr.s("(").dec(int64(t.sysnr)).s(") of thread ").dec(int64(t.tid())).s(", app registers:").nl()
		dumpRegs(kerr, &t.frame)
		userBacktrace(kerr, &t.frame)
	}
	exitMachine(125)
}

func dumpRegs(w kw, f *Frame) {
	w.s("rip ").hex(f.RIP).s(" rsp ").hex(f.RSP).s(" rflags ").hex(f.RFLAGS).s(" cs ").hex(f.CS).nl()
	w.s("rax ").hex(f.RAX).s(" rbx ").hex(f.RBX).s(" rcx ").hex(f.RCX).s(" rdx ").hex(f.RDX).nl()
	w.s("rsi ").hex(f.RSI).s(" rdi ").hex(f.RDI).s(" rbp ").hex(f.RBP).s(" r8  ").hex(f.R8).nl()
	w.s("r9  ").hex(f.R9).s(" r10 ").hex(f.R10).s(" r11 ").hex(f.R11).s(" r12 ").hex(f.R12).nl()
	w.s("r13 ").hex(f.R13).s(" r14 ").hex(f.R14).s(" r15 ").hex(f.R15).nl()
}

// The backtraces follow Go's frame pointers (RBP). Each starts with a
// "fault backtrace app|kernel" record, then the address where the thread
// stopped ("fault pc") and the return addresses above it ("fault ret");
// `mote run` turns them into function names from the image's symbols.
// After SYSCALL the app's RIP is itself a return address.
func userBacktrace(w kw, f *Frame) {
	w.s("backtrace:").nl()
	w.s("  pc ").hex(f.RIP).nl()
	klog.s("fault backtrace app").nl()
	if f.Vector == vecSyscall {
		klog.s("fault ret ").hex(f.RIP).nl()
	} else {
		klog.s("fault pc ").hex(f.RIP).nl()
	}
	bp := uintptr(f.RBP)
	for i := 0; i < 32 && bp != 0; i++ {
		if !userOK(bp, 16, false) {
			break
		}
		ret := *(*uint64)(unsafe.Pointer(bp + 8))
		if ret == 0 {
			break
		}
		w.s("  pc ").hex(ret).nl()
		klog.s("fault ret ").hex(ret).nl()
		bp = *(*uintptr)(unsafe.Pointer(bp))
	}
}

func kernelBacktrace(w kw, f *Frame) {
	w.s("backtrace:").nl()
	w.s("  pc ").hex(f.RIP).nl()
	klog.s("fault backtrace kernel").nl()
	klog.s("fault pc ").hex(f.RIP).nl()
	lo := uintptr(unsafe.Pointer(&kstack[0]))
	hi := kstackTop
	bp := uintptr(f.RBP)
	for i := 0; i < 32 && bp >= lo && bp+16 <= hi; i++ {
		ret := *(*uint64)(unsafe.Pointer(bp + 8))
		w.s("  pc ").hex(ret).nl()
		klog.s("fault ret ").hex(ret).nl()
		bp = *(*uintptr)(unsafe.Pointer(bp))
	}
}
