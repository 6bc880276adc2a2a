package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/abi/mote"
)

// The agent (package kernel/agent) answers the host's requests that need Go's
// runtime: metrics with the Go heap, pprof profiles. It runs in the app's
// runtime like the socket service and registers the same way, with a kernel
// eventfd that wakes it. The host asks on the kernel channel
//
//	agent <id> <request>      e.g. "agent 7 metrics", "agent 8 pprof heap"
//
// and the answer comes back as records the kernel frames, so that a
// misbehaving agent cannot break the channel's line protocol:
//
//	data <id> <crc> <base64>  one chunk of the answer (at most mote.MaxChunk bytes)
//	                          and its CRC-32 (IEEE), 8 hex digits
//	end <id>                  the answer is complete
//	fail <id> <text>          the request failed
//
// Requests wait in a small queue; the agent takes them one at a time.

var agent struct {
	open bool
	efd  int32 // eventfds index
	q    [4]mote.Request
	head int
	n    int
}

// agentRequest queues "agent <id> <text>" from the host, or answers it with
// a failure at once.
func agentRequest(arg []byte) {
	idText, text := splitWord(arg)
	id, ok := parseID(idText)
	if !ok {
		logRecord().s("control: bad agent request id: ").b(idText).nl()
		return
	}
	switch {
	case !agent.open:
		agentFail(id, "this image has no agent: rebuild it with mote build (without --no-agent)")
		return
	case len(text) == 0 || len(text) > len(agent.q[0].Text):
		agentFail(id, "bad request")
		return
	case agent.n == len(agent.q):
		agentFail(id, "the agent is busy; try again")
		return
	}
	r := &agent.q[(agent.head+agent.n)%len(agent.q)]
	*r = mote.Request{ID: id, Len: uint32(len(text))}
	copy(r.Text[:], text)
	agent.n++
	signalEventfd(agent.efd)
}

func agentFail(id uint32, msg string) {
	klog.s("fail ").dec(int64(id)).s(" ").s(msg).nl()
}

// parseID parses a request id: decimal, at most 9 digits.
func parseID(p []byte) (uint32, bool) {
	if len(p) == 0 || len(p) > 9 {
		return 0, false
	}
	var n uint32
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint32(c-'0')
	}
	return n, true
}

// agentCall dispatches the agent's system calls.
func agentCall(t *thread, f *Frame, nr uint64) int64 {
	switch nr {
	case mote.SysAgentOpen:
		if agent.open {
			return errno(linux.EBUSY)
		}
		fd, i := kernelEventfd()
		if fd < 0 {
			return fd
		}
		agent.open, agent.efd = true, i
		return fd
	case mote.SysAgentNext:
		if agent.n == 0 {
			return errno(linux.EAGAIN)
		}
		r := &agent.q[agent.head]
		if !copyOut(uintptr(f.RDI), unsafe.Slice((*byte)(unsafe.Pointer(r)), unsafe.Sizeof(*r))) {
			return errno(linux.EFAULT)
		}
		agent.head = (agent.head + 1) % len(agent.q)
		agent.n--
		return 0
	case mote.SysAgentData:
		return agentData(uint32(f.RDI), uintptr(f.RSI), uintptr(f.RDX))
	case mote.SysAgentEnd:
		return agentEnd(uint32(f.RDI), uintptr(f.RSI), uintptr(f.RDX))
	}
	return sysMoteStats(t, f)
}

var agentChunk [mote.MaxChunk]byte

// agentData writes one chunk of an answer as a "data" record, base64.
func agentData(id uint32, addr, n uintptr) int64 {
	if n > uintptr(len(agentChunk)) {
		return errno(linux.EINVAL)
	}
	p := agentChunk[:n]
	if !copyIn(p, addr) {
		return errno(linux.EFAULT)
	}
	klog.s("data ").dec(int64(id)).s(" ")
	hex8(klog, crc32(p))
	klog.s(" ")
	base64Write(klog, p)
	klog.nl()
	return int64(n)
}

// agentEnd ends an answer: "end", or "fail" with the agent's message, kept
// to printable ASCII so it stays one line.
func agentEnd(id uint32, addr, n uintptr) int64 {
	if n == 0 {
		klog.s("end ").dec(int64(id)).nl()
		return 0
	}
	if n > 200 {
		n = 200
	}
	p := agentChunk[:n]
	if !copyIn(p, addr) {
		return errno(linux.EFAULT)
	}
	for i, c := range p {
		if c < ' ' || c > '~' {
			p[i] = '?'
		}
	}
	klog.s("fail ").dec(int64(id)).s(" ").b(p).nl()
	return 0
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// base64Write writes p in standard base64 with padding (RFC 4648 section 4).
func base64Write(w kw, p []byte) {
	for len(p) > 0 {
		q := base64Quad(p)
		w.b(q[:])
		p = p[min(len(p), 3):]
	}
}

// base64Quad encodes the first three bytes of p (fewer at its end, padded).
func base64Quad(p []byte) [4]byte {
	var q [4]byte
	var v uint32
	k := min(len(p), 3)
	for i := 0; i < 3; i++ {
		v <<= 8
		if i < k {
			v |= uint32(p[i])
		}
	}
	for i := 0; i < 4; i++ {
		q[i] = base64Alphabet[(v>>(18-6*uint(i)))&63]
	}
	for i := k + 1; i < 4; i++ {
		q[i] = '='
	}
	return q
}

// crc32 is the CRC-32 of p (IEEE 802.3, as hash/crc32.ChecksumIEEE), bit by
// bit: no table to build, and a chunk is only 3 KiB. It lets the host tell
// a chunk that lost a byte on the way.
func crc32(p []byte) uint32 {
	c := ^uint32(0)
	for _, b := range p {
		c ^= uint32(b)
		for i := 0; i < 8; i++ {
			c = c>>1 ^ 0xedb88320&-(c&1)
		}
	}
	return ^c
}

// hex8 writes v as 8 lowercase hex digits.
func hex8(w kw, v uint32) {
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = "0123456789abcdef"[v&15]
		v >>= 4
	}
	w.b(b[:])
}
