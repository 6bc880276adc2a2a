package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// Signals. Handlers are process-wide, masks and alternate stacks per thread.
// A synchronous fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP) is
// delivered at once on the faulting thread, so Go's runtime turns it into a
// panic that recover() catches; other signals are marked pending and
// delivered when their thread next returns to user mode. Delivery builds the
// amd64 rt_sigframe Linux builds, which Go's sigtramp reads and rt_sigreturn
// unwinds.

var sigactions [linux.NumSignals + 1]linux.Sigaction

func sigbit(sig int) uint64 { return 1 << uint(sig-1) }

// unblockable signals cannot be masked.
const unblockable = 1<<(linux.SIGKILL-1) | 1<<(linux.SIGSTOP-1)

// defaultIgnored reports whether sig's default action is to ignore it.
func defaultIgnored(sig int) bool {
	switch sig {
	case linux.SIGCHLD, linux.SIGURG, linux.SIGWINCH, linux.SIGCONT:
		return true
	}
	return false
}

// sendSignal queues an asynchronous signal for t, interrupting a wait.
func sendSignal(t *thread, sig int, code int32, pid int32) {
	act := &sigactions[sig]
	if act.Handler == linux.SIG_IGN || act.Handler == linux.SIG_DFL && defaultIgnored(sig) {
		return
	}
	t.pending |= sigbit(sig)
	if sig == linux.SIGKILL || t.state == tsBlocked && t.sigmask&sigbit(sig) == 0 && t.wait != waitNone && t.wait != waitService && t.wait != waitFIFO && t.wait != waitVolume {
		// With SA_RESTART a read or write on a pipe, an eventfd or stdin is made again
		// after the handler; epoll_wait, sleeps and futex waits end with EINTR, as on Linux.
		epollCall := t.sysnr == linux.SYS_EPOLL_WAIT || t.sysnr == linux.SYS_EPOLL_PWAIT
		if act.Flags&linux.SA_RESTART != 0 && t.wait == waitPoll && !epollCall && sig != linux.SIGKILL {
			wakeRestart(t)
			t.restartDeadline = 0
		} else {
			wake(t, errnoResult(linux.EINTR))
		}
	}
	_ = code
	_ = pid
}

// deliverSignals sets up the frame for the lowest pending unblocked signal
// of t, which is about to return to user mode.
func deliverSignals(t *thread) {
	ready := t.pending &^ t.sigmask
	if sigbit(linux.SIGKILL)&t.pending != 0 {
		ready = sigbit(linux.SIGKILL)
	}
	if ready == 0 {
		return
	}
	sig := 1
	for ready&1 == 0 {
		ready >>= 1
		sig++
	}
	t.pending &^= sigbit(sig)
	info := faultInfo{code: linux.SI_TKILL, pid: 1}
	act := &sigactions[sig]
	if sig == linux.SIGKILL || act.Handler == linux.SIG_DFL {
		if defaultIgnored(sig) {
			return
		}
		killedBy(t, sig, &info)
	}
	if act.Handler == linux.SIG_IGN {
		return
	}
	if !setupFrame(t, sig, &info) {
		killedBy(t, linux.SIGSEGV, &faultInfo{code: linux.SI_KERNEL})
	}
}

// forceSignal delivers a synchronous fault to t now. If the app cannot
// handle it (no handler, blocked, or no room for the frame) the app dies of
// it, as on Linux.
func forceSignal(t *thread, sig int, code int32, addr uint64) {
	info := faultInfo{code: code, addr: addr}
	act := &sigactions[sig]
	if act.Handler == linux.SIG_DFL || act.Handler == linux.SIG_IGN || t.sigmask&sigbit(sig) != 0 {
		killedBy(t, sig, &info)
	}
	if !setupFrame(t, sig, &info) {
		killedBy(t, sig, &info)
	}
}

// onAltStack reports whether sp lies on t's alternate signal stack.
func (t *thread) onAltStack(sp uint64) bool {
	return t.altSize != 0 && sp > t.altSP && sp <= t.altSP+t.altSize
}

// setupFrame pushes an rt_sigframe for sig onto t's stack (or its alternate
// stack) and points t at the handler.
func setupFrame(t *thread, sig int, info *faultInfo) bool {
	act := &sigactions[sig]
	f := &t.frame
	sp := f.RSP
	if act.Flags&linux.SA_ONSTACK != 0 && t.altSize != 0 && t.altFlags&linux.SS_DISABLE == 0 && !t.onAltStack(sp) {
		sp = t.altSP + t.altSize
	} else {
		sp -= 128 // the red zone
	}
	fx := (sp - linux.FXSaveSize) &^ 63
	si := fx - linux.SiginfoSize
	uc := (si - linux.UcontextSize) &^ 15
	ret := uc - 8
	if act.Handler >= userHigh || !userOK(uintptr(ret), uintptr(sp-ret), true) {
		return false
	}
	// The FPU state.
	copy(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(fx))), linux.FXSaveSize),
		unsafe.Slice((*byte)(unsafe.Pointer(t.fxArea())), linux.FXSaveSize))
	// siginfo: signo, errno, code, then the union.
	sib := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(si))), linux.SiginfoSize)
	for i := range sib {
		sib[i] = 0
	}
	*(*int32)(unsafe.Pointer(uintptr(si))) = int32(sig)
	*(*int32)(unsafe.Pointer(uintptr(si + 8))) = info.code
	if info.code > 0 {
		*(*uint64)(unsafe.Pointer(uintptr(si + 16))) = info.addr
	} else {
		*(*int32)(unsafe.Pointer(uintptr(si + 16))) = info.pid
	}
	// ucontext.
	ucb := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(uc))), linux.UcontextSize)
	for i := range ucb {
		ucb[i] = 0
	}
	put := func(off uintptr, v uint64) { *(*uint64)(unsafe.Pointer(uintptr(uc) + off)) = v }
	put(linux.UcStackOff, t.altSP)
	flags := uint64(0)
	if t.altSize == 0 {
		flags = linux.SS_DISABLE
	} else if t.onAltStack(f.RSP) {
		flags = linux.SS_ONSTACK
	}
	put(linux.UcStackOff+8, flags)
	put(linux.UcStackOff+16, t.altSize)
	mc := uintptr(linux.UcMcontextOff)
	regs := [...]uint64{
		linux.RegR8: f.R8, linux.RegR9: f.R9, linux.RegR10: f.R10, linux.RegR11: f.R11,
		linux.RegR12: f.R12, linux.RegR13: f.R13, linux.RegR14: f.R14, linux.RegR15: f.R15,
		linux.RegRDI: f.RDI, linux.RegRSI: f.RSI, linux.RegRBP: f.RBP, linux.RegRBX: f.RBX,
		linux.RegRDX: f.RDX, linux.RegRAX: f.RAX, linux.RegRCX: f.RCX, linux.RegRSP: f.RSP,
		linux.RegRIP: f.RIP, linux.RegEFL: f.RFLAGS, linux.RegCSGSFS: selUserCode,
		linux.RegERR: f.Error, linux.RegTRAPNO: f.Vector, linux.RegOLDMASK: t.sigmask,
		linux.RegCR2: info.addr,
	}
	for i, v := range regs {
		put(mc+uintptr(i)*8, v)
	}
	put(mc+linux.McFpstateOff, fx)
	put(linux.UcSigmaskOff, t.sigmask)
	*(*uint64)(unsafe.Pointer(uintptr(ret))) = act.Restorer

	f.RSP = ret
	f.RIP = act.Handler
	f.RDI = uint64(sig)
	f.RSI = si
	f.RDX = uc
	f.RAX = 0
	f.RFLAGS &^= 1<<8 | 1<<10 // TF, DF
	if act.Flags&linux.SA_NODEFER == 0 {
		t.sigmask |= sigbit(sig)
	}
	t.sigmask |= act.Mask &^ unblockable
	if act.Flags&linux.SA_RESETHAND != 0 {
		act.Handler = linux.SIG_DFL
	}
	return true
}

// sysRtSigreturn implements rt_sigreturn(2): the handler has returned into
// the restorer, so RSP points at the ucontext setupFrame wrote.
func sysRtSigreturn(t *thread, f *Frame) int64 {
	uc := uintptr(f.RSP)
	if !userOK(uc, linux.UcontextSize, false) {
		killedBy(t, linux.SIGSEGV, &faultInfo{code: linux.SI_KERNEL})
	}
	get := func(off uintptr) uint64 { return *(*uint64)(unsafe.Pointer(uc + off)) }
	mc := uintptr(linux.UcMcontextOff)
	r := func(i int) uint64 { return get(mc + uintptr(i)*8) }
	f.R8, f.R9, f.R10, f.R11 = r(linux.RegR8), r(linux.RegR9), r(linux.RegR10), r(linux.RegR11)
	f.R12, f.R13, f.R14, f.R15 = r(linux.RegR12), r(linux.RegR13), r(linux.RegR14), r(linux.RegR15)
	f.RDI, f.RSI, f.RBP, f.RBX = r(linux.RegRDI), r(linux.RegRSI), r(linux.RegRBP), r(linux.RegRBX)
	f.RDX, f.RAX, f.RCX, f.RSP = r(linux.RegRDX), r(linux.RegRAX), r(linux.RegRCX), r(linux.RegRSP)
	f.RIP = r(linux.RegRIP)
	if f.RIP >= userHigh || f.RSP >= userHigh {
		// IRETQ to a non-canonical address would fault in ring 0.
		killedBy(t, linux.SIGSEGV, &faultInfo{code: linux.SI_KERNEL})
	}
	f.RFLAGS = r(linux.RegEFL)&rflagsUserMask | rflagsIF
	f.CS, f.SS = selUserCode, selUserData
	t.sigmask = get(linux.UcSigmaskOff) &^ unblockable
	if fx := uintptr(get(mc + linux.McFpstateOff)); fx == 0 {
		t.initFX()
	} else {
		src, ok := userBytes(fx, linux.FXSaveSize, false)
		if !ok {
			killedBy(t, linux.SIGSEGV, &faultInfo{code: linux.SI_KERNEL})
		}
		dst := unsafe.Slice((*byte)(unsafe.Pointer(t.fxArea())), linux.FXSaveSize)
		copy(dst, src)
		// Reserved MXCSR bits would make FXRSTOR fault in the kernel.
		*(*uint32)(unsafe.Pointer(t.fxArea() + 24)) &= 0xffff
	}
	return int64(f.RAX)
}

// sysRtSigaction implements rt_sigaction(2).
func sysRtSigaction(t *thread, f *Frame) int64 {
	sig := int(f.RDI)
	if sig < 1 || sig > linux.NumSignals || f.R10 != 8 {
		return errno(linux.EINVAL)
	}
	old := sigactions[sig]
	if f.RSI != 0 {
		if sig == linux.SIGKILL || sig == linux.SIGSTOP {
			return errno(linux.EINVAL)
		}
		var act linux.Sigaction
		if !copyIn((*[32]byte)(unsafe.Pointer(&act))[:], uintptr(f.RSI)) {
			return errno(linux.EFAULT)
		}
		act.Mask &^= unblockable
		sigactions[sig] = act
	}
	if f.RDX != 0 && !copyOut(uintptr(f.RDX), (*[32]byte)(unsafe.Pointer(&old))[:]) {
		return errno(linux.EFAULT)
	}
	return 0
}

// sysRtSigprocmask implements rt_sigprocmask(2).
func sysRtSigprocmask(t *thread, f *Frame) int64 {
	if f.R10 != 8 {
		return errno(linux.EINVAL)
	}
	old := t.sigmask
	if f.RSI != 0 {
		set, ok := readU64(uintptr(f.RSI))
		if !ok {
			return errno(linux.EFAULT)
		}
		switch f.RDI {
		case linux.SIG_BLOCK:
			t.sigmask |= set
		case linux.SIG_UNBLOCK:
			t.sigmask &^= set
		case linux.SIG_SETMASK:
			t.sigmask = set
		default:
			return errno(linux.EINVAL)
		}
		t.sigmask &^= unblockable
	}
	if f.RDX != 0 && !writeU64(uintptr(f.RDX), old) {
		return errno(linux.EFAULT)
	}
	return 0
}

// sysSigaltstack implements sigaltstack(2).
func sysSigaltstack(t *thread, f *Frame) int64 {
	old := linux.Stack{Sp: t.altSP, Size: t.altSize, Flags: t.altFlags}
	if t.altSize == 0 {
		old.Flags = linux.SS_DISABLE
	} else if t.onAltStack(t.frame.RSP) {
		old.Flags = linux.SS_ONSTACK
	}
	if f.RDI != 0 {
		var ss linux.Stack
		if !copyIn((*[24]byte)(unsafe.Pointer(&ss))[:], uintptr(f.RDI)) {
			return errno(linux.EFAULT)
		}
		if t.onAltStack(t.frame.RSP) {
			return errno(linux.EPERM)
		}
		const ssAutodisarm = -1 << 31
		ss.Flags &^= linux.SS_ONSTACK | ssAutodisarm // both mean "enable" here
		switch {
		case ss.Flags == linux.SS_DISABLE:
			t.altSP, t.altSize, t.altFlags = 0, 0, 0
		case ss.Flags != 0:
			return errno(linux.EINVAL)
		case ss.Size < linux.MINSIGSTKSZ:
			return errno(linux.ENOMEM)
		default:
			t.altSP, t.altSize, t.altFlags = ss.Sp, ss.Size, 0
		}
	}
	if f.RSI != 0 && !copyOut(uintptr(f.RSI), (*[24]byte)(unsafe.Pointer(&old))[:]) {
		return errno(linux.EFAULT)
	}
	return 0
}

// sysTgkill implements tgkill(2); the process has one thread group.
func sysTgkill(t *thread, f *Frame) int64 {
	if int32(f.RDI) != tidBase {
		return errno(linux.ESRCH)
	}
	return signalThread(int32(f.RSI), int(f.RDX))
}

// sysTkill implements tkill(2).
func sysTkill(t *thread, f *Frame) int64 {
	return signalThread(int32(f.RDI), int(f.RSI))
}

func signalThread(tid int32, sig int) int64 {
	if sig < 0 || sig > linux.NumSignals {
		return errno(linux.EINVAL)
	}
	target := threadByTID(tid)
	if target == nil {
		return errno(linux.ESRCH)
	}
	if sig != 0 {
		sendSignal(target, sig, linux.SI_TKILL, tidBase)
	}
	return 0
}

// sysKill implements kill(2) for this process: the signal goes to a thread
// that does not block it, as Linux picks one.
func sysKill(t *thread, f *Frame) int64 {
	pid, sig := int32(f.RDI), int(f.RSI)
	if sig < 0 || sig > linux.NumSignals {
		return errno(linux.EINVAL)
	}
	if pid != tidBase && pid != 0 && pid != -1 {
		return errno(linux.ESRCH)
	}
	if sig == 0 {
		return 0
	}
	signalProcess(t, sig, linux.SI_USER, tidBase)
	return 0
}

// signalProcess sends sig to the process, as Linux does: to a thread that
// does not block it and can take it now (running, or in a wait a signal
// interrupts), else to one that does not block it, else to fallback (or the
// first live thread when fallback is nil), where it stays pending until
// unblocked. A thread in a call forwarded to the socket service cannot be
// interrupted, and might hold the signal for as long as an accept waits.
func signalProcess(fallback *thread, sig int, code int32, pid int32) {
	target, unmasked := fallback, (*thread)(nil)
	for i := 0; i < hiThread; i++ {
		t := &threads[i]
		if t.state == tsFree {
			continue
		}
		if target == nil {
			target = t
		}
		if t.sigmask&sigbit(sig) != 0 {
			continue
		}
		if t.state != tsBlocked || t.wait != waitService && t.wait != waitFIFO && t.wait != waitVolume {
			sendSignal(t, sig, code, pid)
			return
		}
		if unmasked == nil {
			unmasked = t
		}
	}
	if unmasked != nil {
		target = unmasked
	}
	if target != nil {
		sendSignal(target, sig, code, pid)
	}
}

// killedBy ends the app because of sig, as Linux's default action would:
// a report on stderr, and exit status 128+sig.
func killedBy(t *thread, sig int, info *faultInfo) {
	kerr.s("mote: app killed by signal ").dec(int64(sig)).s(" (").s(signalName(sig)).s(")")
	if info.code > 0 {
		kerr.s(" code=").dec(int64(info.code)).s(" addr=").hex(info.addr)
	}
	kerr.nl()
	if fatalFault(sig) {
		// A signal sent to the app (SIGTERM, SIGKILL, or one Go's runtime raises on
		// itself to die) says nothing about where it was: no registers for those.
		dumpRegs(kerr, &t.frame)
		userBacktrace(kerr, &t.frame)
	}
	exitGroup(128 + sig)
}

// fatalFault reports whether sig is one the CPU raises for a bad instruction
// or access.
func fatalFault(sig int) bool {
	switch sig {
	case linux.SIGSEGV, linux.SIGBUS, linux.SIGFPE, linux.SIGILL, linux.SIGTRAP:
		return true
	}
	return false
}

func signalName(sig int) string {
	switch sig {
	case linux.SIGSEGV:
		return "SIGSEGV"
	case linux.SIGBUS:
		return "SIGBUS"
	case linux.SIGFPE:
		return "SIGFPE"
	case linux.SIGILL:
		return "SIGILL"
	case linux.SIGTRAP:
		return "SIGTRAP"
	case linux.SIGKILL:
		return "SIGKILL"
	case linux.SIGTERM:
		return "SIGTERM"
	case linux.SIGINT:
		return "SIGINT"
	case linux.SIGABRT:
		return "SIGABRT"
	}
	return "signal"
}
