package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/abi/mote"
)

// Counters for the host's metrics (mote metrics, mote stats), read by the
// in-guest agent through SysStats, which adds what only Go's runtime knows.
// Plain integers: one CPU, and the kernel runs with interrupts off.
var stats struct {
	idleNs         int64
	threadsCreated uint64
	pageFaults     uint64
	rxBytes        uint64
	rxPackets      uint64
	rxDrops        uint64
	txBytes        uint64
	txPackets      uint64
	txDrops        uint64
	syscalls       [linux.NumSyscalls]uint64
	syscallErrors  [linux.NumSyscalls]uint64
}

// countSyscall records one system call and its result. The network device's
// traffic is counted here too, at the calls that move its frames: a receive
// the device reported a bad length for is a drop, and so is a frame the
// device could not take for any reason other than a full ring (which the
// sender retries).
func countSyscall(nr uint64, r int64) {
	if nr < linux.NumSyscalls {
		stats.syscalls[nr]++
		if r < 0 && r > -4096 {
			stats.syscallErrors[nr]++
		}
		return
	}
	switch nr {
	case nrMoteNetRecv:
		switch {
		case r > 0:
			stats.rxPackets++
			stats.rxBytes += uint64(r)
		case r == errno(linux.EIO):
			stats.rxDrops++
		}
	case nrMoteNetSend:
		switch {
		case r > 0:
			stats.txPackets++
			stats.txBytes += uint64(r)
		case r != errno(linux.EAGAIN):
			stats.txDrops++
		}
	}
}

// statsWords is SysStats's answer, built in place: no heap on this path.
var statsWords [mote.StatSyscalls + 2*linux.NumSyscalls]uint64

// sysMoteStats writes the kernel's statistics (kernel/abi/mote) into the
// caller's array of n words and returns how many it wrote.
func sysMoteStats(t *thread, f *Frame) int64 {
	w := &statsWords
	w[mote.StatVersion] = mote.StatsVersion
	w[mote.StatUptimeNs] = uint64(nanotime())
	w[mote.StatIdleNs] = uint64(stats.idleNs)
	w[mote.StatThreads] = uint64(nthreads)
	w[mote.StatThreadsCreated] = stats.threadsCreated
	w[mote.StatPageFaults] = stats.pageFaults
	w[mote.StatMemTotal] = uint64(freeFrames+usedFrames) * pageSize
	w[mote.StatMemFree] = uint64(freeFrames) * pageSize
	w[mote.StatRxBytes] = stats.rxBytes
	w[mote.StatRxPackets] = stats.rxPackets
	w[mote.StatRxDrops] = stats.rxDrops
	w[mote.StatTxBytes] = stats.txBytes
	w[mote.StatTxPackets] = stats.txPackets
	w[mote.StatTxDrops] = stats.txDrops
	w[mote.StatNumSyscalls] = linux.NumSyscalls
	copy(w[mote.StatSyscalls:], stats.syscalls[:])
	copy(w[mote.StatSyscalls+linux.NumSyscalls:], stats.syscallErrors[:])
	n := uintptr(len(w))
	if uintptr(f.RSI) < n {
		n = uintptr(f.RSI)
	}
	src := unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), n*8)
	if !copyOut(uintptr(f.RDI), src) {
		return errno(linux.EFAULT)
	}
	return int64(n)
}
