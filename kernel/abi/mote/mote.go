// Package mote holds the private ABI between mote's kernel and its in-guest agent
// (kernel/agent): the agent's system-call numbers, past Linux's and the socket service's
// (0x4d00-0x4d07 and 0x4d20), and the layout of the kernel's statistics. It imports nothing, so that
// both sides can share it.
package mote

// The agent's system calls.
const (
	SysAgentOpen = 0x4d08 // () -> the eventfd that signals a queued request; EBUSY if taken
	SysAgentNext = 0x4d09 // (req *Request) -> 0, EAGAIN when none is queued
	SysAgentData = 0x4d0a // (id, buf, len) -> len: one chunk of the answer, at most MaxChunk
	SysAgentEnd  = 0x4d0b // (id, msg, len): the answer is complete; a message means it failed
	SysStats     = 0x4d0c // (buf *uint64, n) -> words written: the kernel's statistics
)

// MaxChunk bounds one SysAgentData call: it becomes one line on the kernel channel.
const MaxChunk = 3072

// Request is a request from the host, as SysAgentNext writes it.
type Request struct {
	ID   uint32
	Len  uint32 // bytes of Text in use
	Text [56]byte
}

// Indices into the statistics SysStats writes. The syscall counts follow the header: entry
// StatSyscalls+nr counts system call nr, StatSyscalls+N+nr its failures, N being
// words[StatNumSyscalls].
const (
	StatVersion        = iota // StatsVersion
	StatUptimeNs              // since boot
	StatIdleNs                // the CPU halted, waiting for an interrupt
	StatThreads               // live threads
	StatThreadsCreated        // since boot
	StatPageFaults            // user page faults handled (demand paging included)
	StatMemTotal              // bytes of RAM the kernel manages
	StatMemFree               // of which free
	StatRxBytes               // network device
	StatRxPackets
	StatRxDrops
	StatTxBytes
	StatTxPackets
	StatTxDrops
	StatNumSyscalls // N, the number of system call numbers counted
	StatReserved
	StatSyscalls // first of the counts
)

// StatsVersion changes when the layout does.
const StatsVersion = 1
