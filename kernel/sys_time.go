package kernel

import "mote.dev/mote/kernel/abi/linux"

// sysFutex implements futex(2): WAIT, WAKE and their BITSET forms, which
// is what Go's runtime and most thread libraries use.
func sysFutex(t *thread, f *Frame) int64 {
	addr := uintptr(f.RDI)
	op := f.RSI
	cmd := op &^ (linux.FUTEX_PRIVATE_FLAG | linux.FUTEX_CLOCK_REALTIME)
	val := uint32(f.RDX)
	switch cmd {
	case linux.FUTEX_WAIT, linux.FUTEX_WAIT_BITSET:
		bitset := ^uint32(0)
		if cmd == linux.FUTEX_WAIT_BITSET {
			bitset = uint32(f.R9)
			if bitset == 0 {
				return errno(linux.EINVAL)
			}
		}
		v, ok := readU32(addr)
		if !ok {
			if addr&3 != 0 {
				return errno(linux.EINVAL)
			}
			return errno(linux.EFAULT)
		}
		deadline := int64(0)
		if f.R10 != 0 {
			ns, ok := readTimespec(uintptr(f.R10))
			if !ok {
				return errno(linux.EFAULT)
			}
			if ns < 0 {
				return errno(linux.EINVAL)
			}
			switch {
			case cmd == linux.FUTEX_WAIT:
				deadline = after(ns) // relative
			case op&linux.FUTEX_CLOCK_REALTIME != 0:
				deadline = absDeadline(ns - wallAtBoot)
			default:
				deadline = absDeadline(ns)
			}
			if deadline <= 0 {
				deadline = 1
			}
		}
		if v != val {
			return errno(linux.EAGAIN)
		}
		if deadline != 0 && deadline <= nanotime() {
			return errno(linux.ETIMEDOUT)
		}
		t.futex = addr
		t.bitset = bitset
		block(t, waitFutex, deadline, errnoResult(linux.ETIMEDOUT))
		return 0
	case linux.FUTEX_WAKE, linux.FUTEX_WAKE_BITSET:
		bitset := ^uint32(0)
		if cmd == linux.FUTEX_WAKE_BITSET {
			bitset = uint32(f.R9)
			if bitset == 0 {
				return errno(linux.EINVAL)
			}
		}
		if addr&3 != 0 {
			return errno(linux.EINVAL)
		}
		n := int(int32(val))
		if n <= 0 {
			n = 1 // Linux wakes at least one waiter
		}
		return int64(futexWake(addr, n, bitset))
	}
	return enosys(linux.SYS_FUTEX)
}

// futexWake wakes up to n threads waiting on addr whose bitset meets bitset.
func futexWake(addr uintptr, n int, bitset uint32) int {
	woken := 0
	for i := 0; i < hiThread && woken < n; i++ {
		w := &threads[i]
		if w.state == tsBlocked && w.wait == waitFutex && w.futex == addr && w.bitset&bitset != 0 {
			wake(w, 0)
			woken++
		}
	}
	return woken
}

// maxDeadline bounds deadlines: about 146 years, beyond overflow in any
// conversion.
const maxDeadline = 1 << 62

// after returns the deadline ns from now, saturating.
func after(ns int64) int64 {
	now := nanotime()
	if ns > maxDeadline-now {
		return maxDeadline
	}
	return now + ns
}

// absDeadline clamps an absolute deadline.
func absDeadline(d int64) int64 {
	if d > maxDeadline {
		return maxDeadline
	}
	return d
}

// sysNanosleep implements nanosleep(2). An interrupted sleep returns EINTR
// without filling in the remaining time (Go's runtime passes no rem).
func sysNanosleep(t *thread, f *Frame) int64 {
	ns, ok := readTimespec(uintptr(f.RDI))
	if !ok {
		return errno(linux.EFAULT)
	}
	if ns < 0 {
		return errno(linux.EINVAL)
	}
	return sleepUntil(t, after(ns))
}

func sleepUntil(t *thread, deadline int64) int64 {
	if deadline <= nanotime() {
		return 0
	}
	block(t, waitSleep, deadline, 0)
	return 0
}

// sysClockNanosleep implements clock_nanosleep(2).
func sysClockNanosleep(t *thread, f *Frame) int64 {
	clock, flags := f.RDI, f.RSI
	ns, ok := readTimespec(uintptr(f.RDX))
	if !ok {
		return errno(linux.EFAULT)
	}
	if ns < 0 {
		return errno(linux.EINVAL)
	}
	const timerAbstime = 1
	if flags&timerAbstime == 0 {
		return sleepUntil(t, after(ns))
	}
	switch clock {
	case linux.CLOCK_REALTIME:
		return sleepUntil(t, absDeadline(ns-wallAtBoot))
	case linux.CLOCK_MONOTONIC, linux.CLOCK_BOOTTIME:
		return sleepUntil(t, absDeadline(ns))
	}
	return errno(linux.EINVAL)
}

// clockNow reads clock; ok is false for an unknown clock. The CPU-time
// clocks report time since boot: an upper bound of CPU time on one CPU.
func clockNow(clock uint64) (int64, bool) {
	switch clock {
	case linux.CLOCK_REALTIME, linux.CLOCK_REALTIME_COARSE:
		return walltime(), true
	case linux.CLOCK_MONOTONIC, linux.CLOCK_MONOTONIC_RAW, linux.CLOCK_MONOTONIC_COARSE,
		linux.CLOCK_BOOTTIME, linux.CLOCK_PROCESS_CPUTIME_ID, linux.CLOCK_THREAD_CPUTIME_ID:
		return nanotime(), true
	}
	return 0, false
}

// sysClockGettime implements clock_gettime(2).
func sysClockGettime(t *thread, f *Frame) int64 {
	ns, ok := clockNow(f.RDI)
	if !ok {
		return errno(linux.EINVAL)
	}
	if !writeTimespec(uintptr(f.RSI), ns) {
		return errno(linux.EFAULT)
	}
	return 0
}

// sysClockGetres implements clock_getres(2): every clock counts nanoseconds.
func sysClockGetres(t *thread, f *Frame) int64 {
	if _, ok := clockNow(f.RDI); !ok {
		return errno(linux.EINVAL)
	}
	if f.RSI != 0 && !writeTimespec(uintptr(f.RSI), 1) {
		return errno(linux.EFAULT)
	}
	return 0
}

// sysGettimeofday implements gettimeofday(2); the time zone is UTC.
func sysGettimeofday(t *thread, f *Frame) int64 {
	if f.RDI != 0 {
		ns := walltime()
		tv := [2]int64{ns / 1e9, ns % 1e9 / 1e3}
		if !writeU64(uintptr(f.RDI), uint64(tv[0])) || !writeU64(uintptr(f.RDI)+8, uint64(tv[1])) {
			return errno(linux.EFAULT)
		}
	}
	if f.RSI != 0 && !writeU64(uintptr(f.RSI), 0) {
		return errno(linux.EFAULT)
	}
	return 0
}

// sysTime implements time(2).
func sysTime(t *thread, f *Frame) int64 {
	s := walltime() / 1e9
	if f.RDI != 0 && !writeU64(uintptr(f.RDI), uint64(s)) {
		return errno(linux.EFAULT)
	}
	return s
}
