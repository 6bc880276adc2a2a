package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/arch/amd64"
)

// sysClone implements clone(2) for threads. Processes (fork, vfork, clone
// without CLONE_VM|CLONE_THREAD) do not exist in a unikernel: ENOSYS.
func sysClone(t *thread, f *Frame) int64 {
	flags := f.RDI
	const need = linux.CLONE_VM | linux.CLONE_THREAD | linux.CLONE_SIGHAND
	if flags&need != need {
		return enosys(linux.SYS_CLONE)
	}
	nt := newThread()
	if nt == nil {
		return errno(linux.EAGAIN)
	}
	nt.frame = t.frame
	nt.frame.RAX = 0
	if f.RSI != 0 {
		nt.frame.RSP = f.RSI
	}
	nt.fsbase = t.fsbase
	if flags&linux.CLONE_SETTLS != 0 {
		if f.R8 >= userHigh {
			freeThread(nt)
			return errno(linux.EPERM)
		}
		nt.fsbase = f.R8
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(nt.fxArea())), 512),
		unsafe.Slice((*byte)(unsafe.Pointer(t.fxArea())), 512))
	nt.sigmask = t.sigmask
	tid := nt.tid()
	if flags&linux.CLONE_PARENT_SETTID != 0 && !writeU32(uintptr(f.RDX), uint32(tid)) {
		freeThread(nt)
		return errno(linux.EFAULT)
	}
	if flags&linux.CLONE_CHILD_SETTID != 0 && !writeU32(uintptr(f.R10), uint32(tid)) {
		freeThread(nt)
		return errno(linux.EFAULT)
	}
	if flags&linux.CLONE_CHILD_CLEARTID != 0 {
		nt.clearTID = uintptr(f.R10)
	}
	nt.state = tsRunnable
	enqueue(nt.index())
	return int64(tid)
}

func freeThread(t *thread) {
	t.state = tsFree
	nthreads--
}

// sysExit implements exit(2): the calling thread ends.
func sysExit(t *thread, f *Frame) int64 {
	if t.clearTID != 0 && writeU32(t.clearTID, 0) {
		futexWake(t.clearTID, 1, ^uint32(0))
	}
	freeThread(t)
	if nthreads == 0 {
		exitGroup(int(f.RDI & 0xff))
	}
	return 0
}

// sysExitGroup implements exit_group(2): the app is done and the VM stops.
func sysExitGroup(t *thread, f *Frame) int64 {
	exitGroup(int(f.RDI & 0xff))
	return 0
}

// exitGroup reports the exit status on the kernel channel, where it is
// exact, then through isa-debug-exit, and stops the machine.
func exitGroup(status int) {
	// Stores through shared mappings go to their pagers, which write them
	// back as the machine stops, as Linux's page cache outlives a process.
	harvest(userLow, userHigh)
	volFlushAtExit()
	syscallSummary()
	klog.s("exit ").dec(int64(status)).nl()
	exitMachine(status)
}

// There is one process, PID 1; its threads have TIDs from 1.
func sysGetpid(t *thread, f *Frame) int64  { return tidBase }
func sysGetppid(t *thread, f *Frame) int64 { return 0 }
func sysGettid(t *thread, f *Frame) int64  { return int64(t.tid()) }

// sysGetuid serves getuid, geteuid, getgid and getegid: the app runs as root
// of its own machine.
func sysGetuid(t *thread, f *Frame) int64 { return 0 }

// sysArchPrctl implements arch_prctl(2) for the FS base, which holds Go's TLS.
func sysArchPrctl(t *thread, f *Frame) int64 {
	switch f.RDI {
	case linux.ARCH_SET_FS:
		if f.RSI >= userHigh {
			return errno(linux.EPERM)
		}
		t.fsbase = f.RSI
		return 0
	case linux.ARCH_GET_FS:
		if !writeU64(uintptr(f.RSI), t.fsbase) {
			return errno(linux.EFAULT)
		}
		return 0
	}
	return errno(linux.EINVAL)
}

// sysSetTidAddress implements set_tid_address(2).
func sysSetTidAddress(t *thread, f *Frame) int64 {
	t.clearTID = uintptr(f.RDI)
	return int64(t.tid())
}

// sysSchedYield implements sched_yield(2).
func sysSchedYield(t *thread, f *Frame) int64 {
	if runqN > 0 {
		t.frame.RAX = 0
		t.state = tsRunnable
		enqueue(t.index())
	}
	return 0
}

// ncpu is the number of CPUs the guest has.
const ncpu = 1

// sysSchedGetaffinity implements sched_getaffinity(2).
func sysSchedGetaffinity(t *thread, f *Frame) int64 {
	size := f.RSI
	if size < 8 || size%8 != 0 {
		return errno(linux.EINVAL)
	}
	if !writeU64(uintptr(f.RDX), 1<<ncpu-1) {
		return errno(linux.EFAULT)
	}
	return 8
}

// Resource limits are recorded and reported; the kernel enforces
// RLIMIT_NOFILE only (with its file table).
var rlimits = [16][2]uint64{
	linux.RLIMIT_STACK:  {8 << 20, linux.RLIM_INFINITY},
	linux.RLIMIT_NOFILE: {65536, 65536},
}

func rlimit(res uint64) [2]uint64 {
	r := rlimits[res]
	if r[0] == 0 && r[1] == 0 && res != linux.RLIMIT_STACK && res != linux.RLIMIT_NOFILE {
		return [2]uint64{linux.RLIM_INFINITY, linux.RLIM_INFINITY}
	}
	return r
}

// sysPrlimit64 implements prlimit64(2) for this process.
func sysPrlimit64(t *thread, f *Frame) int64 {
	pid, res := int32(f.RDI), f.RSI
	if pid != 0 && pid != tidBase {
		return errno(linux.ESRCH)
	}
	if res >= uint64(len(rlimits)) {
		return errno(linux.EINVAL)
	}
	old := rlimit(res)
	if f.RDX != 0 {
		var nl [2]uint64
		if !copyIn((*[16]byte)(unsafe.Pointer(&nl))[:], uintptr(f.RDX)) {
			return errno(linux.EFAULT)
		}
		if nl[0] > nl[1] || nl[1] > old[1] {
			return errno(linux.EINVAL)
		}
		rlimits[res] = nl
	}
	if f.R10 != 0 && !copyOut(uintptr(f.R10), (*[16]byte)(unsafe.Pointer(&old))[:]) {
		return errno(linux.EFAULT)
	}
	return 0
}

// sysGetrlimit implements getrlimit(2).
func sysGetrlimit(t *thread, f *Frame) int64 {
	if f.RDI >= uint64(len(rlimits)) {
		return errno(linux.EINVAL)
	}
	r := rlimit(f.RDI)
	if !copyOut(uintptr(f.RSI), (*[16]byte)(unsafe.Pointer(&r))[:]) {
		return errno(linux.EFAULT)
	}
	return 0
}

// sysPrctl implements prctl(2). PR_SET_VMA gets EINVAL, as from a Linux
// built without anonymous VMA names; Go ignores it.
func sysPrctl(t *thread, f *Frame) int64 {
	const prSetName, prGetName = 15, 16
	switch f.RDI {
	case prSetName:
		return 0 // thread names are not kept; nothing reads them back but PR_GET_NAME
	case prGetName:
		if !copyOut(uintptr(f.RSI), []byte("mote\x00")) {
			return errno(linux.EFAULT)
		}
		return 0
	}
	return errno(linux.EINVAL)
}

// sysUname implements uname(2). The release names the Linux ABI served.
func sysUname(t *thread, f *Frame) int64 {
	var u [6 * 65]byte
	fields := [...]string{"Linux", "", "6.1.0-mote", "#1 mote", "x86_64", "(none)"}
	for i, s := range fields {
		copy(u[i*65:], s)
	}
	copy(u[65:65+64], hostName())
	if !copyOut(uintptr(f.RDI), u[:]) {
		return errno(linux.EFAULT)
	}
	return 0
}

var rngState uint64

// sysGetrandom implements getrandom(2) with RDRAND, or where the CPU has
// none, a generator seeded from the TSC (not for keys: logged once).
func sysGetrandom(t *thread, f *Frame) int64 {
	n := f.RSI
	if n > 1<<25 {
		n = 1 << 25
	}
	buf, ok := userBytes(uintptr(f.RDI), uintptr(n), true)
	if !ok {
		return errno(linux.EFAULT)
	}
	for i := 0; i < len(buf); i += 8 {
		v := randomU64()
		for j := 0; j < 8 && i+j < len(buf); j++ {
			buf[i+j] = byte(v >> (8 * j))
		}
	}
	return int64(n)
}

var weakRandomLogged bool

func randomU64() uint64 {
	if v, ok := amd64.Rdrand(); ok {
		return v
	}
	if !weakRandomLogged {
		weakRandomLogged = true
		logRecord().s("no RDRAND: getrandom falls back to a TSC-seeded generator").nl()
	}
	if rngState == 0 {
		rngState = amd64.Rdtsc() | 1
	}
	rngState ^= rngState << 13
	rngState ^= rngState >> 7
	rngState ^= rngState << 17
	return rngState * 0x2545f4914f6cdd1d
}

// sysWait4 implements wait4(2) and waitid(2): the app is the only process
// and has no children, so there is never one to wait for.
func sysWait4(t *thread, f *Frame) int64 { return errno(linux.ECHILD) }
