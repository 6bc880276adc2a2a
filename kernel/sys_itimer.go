package kernel

import "mote.dev/mote/kernel/abi/linux"

// Interval timers: ITIMER_PROF only, which is what Go's CPU profiler falls
// back to when timer_create is missing (runtime.setProcessCPUProfilerTimer).
// The timer counts CPU time, the app's and the kernel's on its behalf, not
// the time the CPU is halted; when it expires the thread that used the time
// gets SIGPROF with si_code SI_KERNEL, as setitimer(2)'s signal has on Linux
// (Go checks that code). ITIMER_REAL and ITIMER_VIRTUAL are not supported:
// EINVAL, which Linux returns for an unknown timer.

const (
	itimerReal    = 0
	itimerVirtual = 1
	itimerProf    = 2
)

var (
	profInterval int64 // ns between signals; 0: disarmed after the next
	profRemain   int64 // ns of CPU time left until the next signal; 0: off
	profLast     int64 // nanotime up to which CPU time is accounted
)

// profAccount charges the CPU time since the last call to the thread that
// ran, and queues SIGPROF for it when the timer expires. It runs at every
// schedule; idle time is skipped (idle resets profLast).
func profAccount(t *thread, now int64) {
	d := now - profLast
	profLast = now
	if profRemain == 0 || d <= 0 || t.state == tsFree {
		return
	}
	profRemain -= d
	if profRemain > 0 {
		return
	}
	if t.state != tsRunning {
		// The time went to a call that now waits: a signal would cut the wait
		// short. The next thread to run takes it, at once (profDeadline).
		profRemain = 1
		return
	}
	// One signal however late: Linux does not queue a second SIGPROF while
	// one is pending either.
	profRemain = profInterval
	sendSignal(t, linux.SIGPROF, linux.SI_KERNEL, 0)
}

// profDeadline lowers next to when the running thread's CPU time will
// expire the timer, so that a thread that never traps is interrupted.
func profDeadline(now, next int64) int64 {
	if profRemain == 0 {
		return next
	}
	d := now + profRemain
	if next == 0 || d < next {
		return d
	}
	return next
}

// sysSetitimer implements setitimer(2) for ITIMER_PROF.
func sysSetitimer(t *thread, f *Frame) int64 {
	if f.RDI != itimerProf {
		return errno(linux.EINVAL)
	}
	if f.RDX != 0 {
		if r := putItimer(uintptr(f.RDX)); r != 0 {
			return r
		}
	}
	if f.RSI == 0 {
		return 0
	}
	var v [4]uint64 // interval sec, usec; value sec, usec
	for i := range v {
		x, ok := readU64(uintptr(f.RSI) + uintptr(8*i))
		if !ok {
			return errno(linux.EFAULT)
		}
		v[i] = x
	}
	if v[1] >= 1e6 || v[3] >= 1e6 || v[0] > 1<<32 || v[2] > 1<<32 {
		return errno(linux.EINVAL)
	}
	profInterval = int64(v[0])*1e9 + int64(v[1])*1e3
	profRemain = int64(v[2])*1e9 + int64(v[3])*1e3
	profLast = nanotime()
	return 0
}

// sysGetitimer implements getitimer(2) for ITIMER_PROF.
func sysGetitimer(t *thread, f *Frame) int64 {
	if f.RDI != itimerProf {
		return errno(linux.EINVAL)
	}
	return putItimer(uintptr(f.RSI))
}

func putItimer(addr uintptr) int64 {
	v := [4]uint64{
		uint64(profInterval / 1e9), uint64(profInterval % 1e9 / 1e3),
		uint64(profRemain / 1e9), uint64(profRemain % 1e9 / 1e3),
	}
	for i, x := range v {
		if !writeU64(addr+uintptr(8*i), x) {
			return errno(linux.EFAULT)
		}
	}
	return 0
}
