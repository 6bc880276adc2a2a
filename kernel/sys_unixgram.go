package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// Unix-domain datagram sockets (SOCK_DGRAM), and the data of seqpacket ones
// (SOCK_SEQPACKET: connected as stream sockets are, in messages): each socket has a queue of
// whole messages, kept in page frames; a message goes to a bound name or to
// the peer connect set, and carries its sender's name to recvfrom. A full
// queue blocks the sender (EAGAIN when non-blocking); a message longer than
// the buffer is cut to it (MSG_TRUNC).

const (
	maxDgrams     = 1024     // messages queued in all datagram sockets
	dgramQueueMax = 64       // messages queued for one socket
	dgramMax      = 64 << 10 // bytes in one message
	dgramPages    = dgramMax / pageSize
	msgTruncFlag  = 0x20
	sockSeqpacket = 5
	msgPeek       = 0x2
)

type dgram struct {
	used  bool
	next  int32 // the next message in its queue; -1 ends it
	n     int
	pages [dgramPages]uintptr
	from  [sunPathMax]byte
	fromN int
}

var dgrams [maxDgrams]dgram

// dgramQueue is a socket's queue of received messages.
type dgramQueue struct {
	head, tail int32
	n          int
}

func newDgram(n int) int32 {
	for i := range dgrams {
		if dgrams[i].used {
			continue
		}
		d := &dgrams[i]
		*d = dgram{used: true, next: -1, n: n}
		for p := 0; p*pageSize < n; p++ {
			if d.pages[p] = allocFrame(); d.pages[p] == 0 {
				freeDgram(int32(i))
				return -1
			}
		}
		return int32(i)
	}
	return -1
}

func freeDgram(i int32) {
	d := &dgrams[i]
	for _, p := range d.pages {
		if p != 0 {
			freeFrame(p)
		}
	}
	d.used = false
}

// copyDgram moves message bytes between a user buffer and the message's
// pages: in from the sender, out to the receiver.
func copyDgram(d *dgram, buf []byte, in bool) bool {
	for off := 0; off < len(buf); {
		page := unsafe.Slice((*byte)(unsafe.Pointer(d.pages[off/pageSize])), pageSize)
		k := min(len(buf)-off, pageSize)
		if in {
			copy(page[:k], buf[off:off+k])
		} else {
			copy(buf[off:off+k], page[:k])
		}
		off += k
	}
	return true
}

// dgramTarget finds where a message goes: the name at addr, or the peer.
func dgramTarget(u *unixSocket, addr, n uint64) (int32, linux.Errno) {
	if addr == 0 {
		if u.peer < 0 {
			return -1, linux.ENOTCONN
		}
		p := &unixSockets[u.peer]
		if !p.used || p.life != u.peerLife {
			return -1, linux.ECONNREFUSED // the peer closed
		}
		return u.peer, 0
	}
	var pb [sunPathMax]byte
	p, e := sunPath(addr, n, &pb)
	if e != 0 {
		return -1, e
	}
	ti, e := findSocket(p)
	if e != 0 {
		return -1, e
	}
	if !unixSockets[ti].dgram {
		return -1, linux.EPROTOTYPE
	}
	return ti, 0
}

// dgramConnect sets the peer messages without a name go to, and the only
// sender recv takes from... which Linux enforces for the peer's messages;
// here the filter is left out (see docs/ARCHITECTURE.md).
func dgramConnect(u *unixSocket, addr, n uint64) int64 {
	t, e := dgramTarget(u, addr, n)
	if e != 0 {
		return errno(e)
	}
	u.peer, u.peerLife = t, unixSockets[t].life
	return 0
}

// dgramSend queues buf as one message for the target.
func dgramSend(t *thread, e *fdEntry, buf []byte, addr, addrlen uint64) int64 {
	u := &unixSockets[e.obj]
	var ti int32
	if u.seqpacket {
		// A connection's messages go to its other end, whatever name is given.
		if u.state != usConnected {
			return errno(linux.ENOTCONN)
		}
		if u.wrShut || peerGone(u) || unixSockets[u.peer].rdShut {
			sendSignal(t, linux.SIGPIPE, linux.SI_USER, tidBase)
			return errno(linux.EPIPE)
		}
		ti = u.peer
	} else {
		var err linux.Errno
		if ti, err = dgramTarget(u, addr, addrlen); err != 0 {
			return errno(err)
		}
	}
	if len(buf) > dgramMax {
		return errno(linux.EMSGSIZE)
	}
	tq := &unixSockets[ti].dq
	if tq.n >= dgramQueueMax {
		if e.flags&linux.O_NONBLOCK != 0 {
			return errno(linux.EAGAIN)
		}
		block(t, waitPoll, 0, 0)
		return 0
	}
	m := newDgram(len(buf))
	if m < 0 {
		return errno(linux.ENOBUFS)
	}
	d := &dgrams[m]
	copyDgram(d, buf, true)
	d.fromN = copy(d.from[:], u.path[:u.pathN])
	if tq.n == 0 {
		tq.head = m
	} else {
		dgrams[tq.tail].next = m
	}
	tq.tail = m
	tq.n++
	unixSockets[ti].gen++
	u.gen++
	wakePollers()
	return int64(len(buf))
}

// dgramRecv takes the next message into buf, and its sender's name to
// addr; with peek it stays queued. It returns the bytes copied and, for
// MSG_TRUNC, the message's length.
func dgramRecv(t *thread, e *fdEntry, buf []byte, addr, addrlen uint64, peek bool) (int64, int) {
	u := &unixSockets[e.obj]
	q := &u.dq
	if q.n == 0 && u.seqpacket {
		if u.state != usConnected {
			return errno(linux.ENOTCONN), 0
		}
		if u.rdShut || peerGone(u) || unixSockets[u.peer].wrShut {
			return 0, 0 // the end of the connection
		}
	}
	if q.n == 0 {
		if e.flags&linux.O_NONBLOCK != 0 {
			return errno(linux.EAGAIN), 0
		}
		block(t, waitPoll, 0, 0)
		return 0, 0
	}
	m := q.head
	d := &dgrams[m]
	k := min(len(buf), d.n)
	copyDgram(d, buf[:k], false)
	if addr != 0 && addrlen != 0 {
		// An unbound sender has no name at all (length 0), as on Linux.
		var sa sockaddrUn
		name := sa.of(d.from[:d.fromN])
		if d.fromN == 0 {
			name = name[:0]
		}
		if !copyOutLen(addr, addrlen, name) {
			return errno(linux.EFAULT), 0
		}
	}
	total := d.n
	if !peek {
		q.head = d.next
		q.n--
		freeDgram(m)
		u.gen++
		wakePollers() // a sender may wait for room
	}
	return int64(k), total
}

// dgramClosed drops what a closing socket still holds.
func dgramClosed(u *unixSocket) {
	for u.dq.n > 0 {
		m := u.dq.head
		u.dq.head = dgrams[m].next
		u.dq.n--
		freeDgram(m)
	}
}

func dgramPoll(u *unixSocket) (uint32, uint64) {
	ev := uint32(0)
	if u.dq.n > 0 {
		ev |= epollIn
	}
	gen := u.gen
	if u.peer < 0 {
		ev |= epollOut
	} else if p := &unixSockets[u.peer]; p.used && p.life == u.peerLife {
		if p.dq.n < dgramQueueMax {
			ev |= epollOut
		}
		gen += p.gen
	} else {
		ev |= epollOut // a send fails at once: ECONNREFUSED
	}
	return ev, gen
}

// dgramBounce gathers a sendmsg's iovecs into one message, and scatters a
// received one over recvmsg's: a message is whole on both sides. One
// kernel stack, interrupts off: one user at a time.
var dgramBounce [dgramMax]byte

// dgramMsg serves sendmsg and recvmsg on a datagram socket (the msghdr was
// checked): the name is the destination or the sender; no control messages.
func dgramMsg(t *thread, f *Frame, write bool) int64 {
	hdr := uintptr(f.RSI)
	name, _ := readU64(hdr)
	namelen, _ := readU32(hdr + 8)
	iov, _ := readU64(hdr + 16)
	cnt, _ := readU64(hdr + 24)
	if cnt > iovMax {
		return errno(linux.EMSGSIZE)
	}
	e := getFD(f.RDI)
	n := 0
	if write {
		for i := uintptr(0); i < uintptr(cnt); i++ {
			base, _ := readU64(uintptr(iov) + i*16)
			l, _ := readU64(uintptr(iov) + i*16 + 8)
			if uint64(n)+l > dgramMax {
				return errno(linux.EMSGSIZE)
			}
			if !copyIn(dgramBounce[n:n+int(l)], uintptr(base)) {
				return errno(linux.EFAULT)
			}
			n += int(l)
		}
		return dgramSend(t, e, dgramBounce[:n], name, uint64(namelen))
	}
	room := 0
	for i := uintptr(0); i < uintptr(cnt); i++ {
		l, _ := readU64(uintptr(iov) + i*16 + 8)
		room = min(room+int(l), dgramMax)
	}
	nameAddr, nameLenAddr := uint64(0), uint64(0)
	if name != 0 {
		nameAddr, nameLenAddr = name, uint64(hdr+8)
	}
	r, total := dgramRecv(t, e, dgramBounce[:room], nameAddr, nameLenAddr, f.RDX&msgPeek != 0)
	if r <= 0 || t.state != tsRunning {
		if r == 0 && t.state == tsRunning {
			writeU64(hdr+40, 0)
			writeU32(hdr+48, 0)
		}
		return r
	}
	for i, done := uintptr(0), 0; i < uintptr(cnt) && done < int(r); i++ {
		base, _ := readU64(uintptr(iov) + i*16)
		l, _ := readU64(uintptr(iov) + i*16 + 8)
		k := min(int(l), int(r)-done)
		if !copyOut(uintptr(base), dgramBounce[done:done+k]) {
			return errno(linux.EFAULT)
		}
		done += k
	}
	if name == 0 {
		writeU32(hdr+8, 0)
	}
	writeU64(hdr+40, 0) // msg_controllen
	flags := uint32(0)
	if total > int(r) {
		flags = msgTruncFlag
	}
	writeU32(hdr+48, flags)
	if f.RDX&msgTruncFlag != 0 {
		return int64(total)
	}
	return r
}

// peerGone reports whether a connected socket's other end has closed.
func peerGone(u *unixSocket) bool {
	p := &unixSockets[u.peer]
	return !p.used || p.life != u.peerLife
}

// seqpacketChanged wakes the other end of a seqpacket connection after a
// shutdown or close, so its readers see the end and its writers EPIPE.
func seqpacketChanged(u *unixSocket) {
	u.gen++
	if !peerGone(u) {
		unixSockets[u.peer].gen++
	}
	wakePollers()
}

func seqpacketPoll(u *unixSocket) (uint32, uint64) {
	ev := uint32(0)
	gone := peerGone(u)
	if u.dq.n > 0 {
		ev |= epollIn
	}
	gen := u.gen
	if gone || u.rdShut || unixSockets[u.peer].wrShut {
		ev |= epollIn | epollRdHup
	}
	if gone {
		return ev | epollOut | epollErr | epollHup, gen
	}
	p := &unixSockets[u.peer]
	gen += p.gen
	if u.wrShut || p.rdShut {
		ev |= epollOut | epollErr
	} else if p.dq.n < dgramQueueMax {
		ev |= epollOut
	}
	return ev, gen
}
