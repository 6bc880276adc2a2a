package kernel

import (
	"encoding/binary"

	"mote.dev/mote/kernel/abi/linux"
)

// Netlink route sockets, answered in the kernel from what it knows of the
// guest's network: the loopback interface and, with a device, eth0 with its
// address. Enough for the dumps net.Interfaces and net.InterfaceAddrs ask for
// (RTM_GETLINK, RTM_GETADDR); other requests get an error message back, as
// Linux gives for a request it does not know. Routes and changes are not
// served.

const (
	afNetlink     = 16
	sockRaw       = 3
	netlinkRoute  = 0
	maxNetlinks   = 8
	netlinkBufLen = 2048

	nlmsgHdrLen = 16
	nlmsgError  = 2
	nlmsgDone   = 3
	nlmMulti    = 0x2
	rtmNewLink  = 16
	rtmGetLink  = 18
	rtmNewAddr  = 20
	rtmGetAddr  = 22

	iflaAddress = 1
	iflaIfname  = 3
	iflaMTU     = 4
	ifaAddress  = 1
	ifaLocal    = 2
	ifaLabel    = 3

	iffUp        = 0x1
	iffBroadcast = 0x2
	iffLoopback  = 0x8
	iffRunning   = 0x40
	iffMulticast = 0x1000
	arphrdEther  = 1
	arphrdLoop   = 772
	scopeHost    = 254
)

type netlinkSocket struct {
	used  bool
	reply [netlinkBufLen]byte
	n     int    // bytes of reply waiting to be read
	gen   uint64 // counts answers, for epoll's edges
}

var netlinks [maxNetlinks]netlinkSocket

// netlinkSocketCall makes the socket for socket(AF_NETLINK, SOCK_RAW or
// SOCK_DGRAM, NETLINK_ROUTE).
func netlinkSocketCall(typ, proto uint64) int64 {
	if t := typ & sockTypeMask; t != sockDgram && t != sockRaw {
		return errno(linux.ESOCKTNOSUPPORT)
	}
	if proto != netlinkRoute {
		return errno(linux.EPROTONOSUPPORT)
	}
	for i := range netlinks {
		if !netlinks[i].used {
			fd := allocFD(fkNetlink, int32(i), linux.O_RDWR|typ&linux.O_NONBLOCK, typ&linux.O_CLOEXEC != 0)
			if fd >= 0 {
				netlinks[i].used, netlinks[i].n = true, 0
			}
			return fd
		}
	}
	return errno(linux.ENFILE)
}

func isNetlink(fd uint64) bool {
	e := getFD(fd)
	return e != nil && e.kind == fkNetlink
}

// netlinkName is the socket's sockaddr_nl: the port ID is the process's ID,
// as Linux gives the first netlink socket of a process.
func netlinkName(addr, addrlen uint64) int64 {
	var sa [12]byte
	binary.LittleEndian.PutUint16(sa[0:], afNetlink)
	binary.LittleEndian.PutUint32(sa[4:], uint32(tidBase))
	if !copyOutLen(addr, addrlen, sa[:]) {
		return errno(linux.EFAULT)
	}
	return 0
}

// netlinkSend takes one request and prepares its answer.
func netlinkSend(fd uint64, buf, n uint64) int64 {
	nl := &netlinks[getFD(fd).obj]
	var req [nlmsgHdrLen + 4]byte
	if n < nlmsgHdrLen {
		return errno(linux.EINVAL)
	}
	k := min(n, uint64(len(req)))
	if !copyIn(req[:k], uintptr(buf)) {
		return errno(linux.EFAULT)
	}
	typ := binary.LittleEndian.Uint16(req[4:])
	seq := binary.LittleEndian.Uint32(req[8:])
	family := uint8(0)
	if k > nlmsgHdrLen {
		family = req[nlmsgHdrLen]
	}
	w := nlWriter{b: nl.reply[:]}
	switch typ {
	case rtmGetLink:
		w.link(seq, 1, "lo", iffUp|iffLoopback|iffRunning, arphrdLoop, 65536, nil)
		if nic.present {
			w.link(seq, 2, "eth0", iffUp|iffBroadcast|iffRunning|iffMulticast, arphrdEther, 1500, nic.mac[:])
		}
		w.done(seq)
	case rtmGetAddr:
		if family == 0 || family == afInet {
			w.addr(seq, 1, afInet, 8, scopeHost, []byte{127, 0, 0, 1}, "lo")
			if nic.present && addressed() {
				w.addr(seq, 2, afInet, netcfg.prefix, 0, netcfg.ip[:], "eth0")
			}
		}
		if family == 0 || family == afInet6 {
			w.addr(seq, 1, afInet6, 128, scopeHost, []byte{15: 1}, "")
		}
		w.done(seq)
	default:
		w.errorReply(seq, req[:nlmsgHdrLen], -int32(linux.EOPNOTSUPP))
	}
	if w.overflow {
		return errno(linux.ENOBUFS)
	}
	nl.n = w.n
	nl.gen++
	wakePollers()
	return int64(n)
}

// netlinkRecv hands over the prepared answer, truncated to the buffer as a
// datagram is.
func netlinkRecv(t *thread, fd uint64, buf, n, addr, addrlen uint64) int64 {
	e := getFD(fd)
	nl := &netlinks[e.obj]
	if nl.n == 0 {
		if e.flags&linux.O_NONBLOCK != 0 {
			return errno(linux.EAGAIN)
		}
		block(t, waitPoll, 0, 0)
		return 0
	}
	k := min(uint64(nl.n), n)
	if !copyOut(uintptr(buf), nl.reply[:k]) {
		return errno(linux.EFAULT)
	}
	if addr != 0 && addrlen != 0 {
		// From the kernel: port ID 0.
		var sa [12]byte
		binary.LittleEndian.PutUint16(sa[0:], afNetlink)
		if !copyOutLen(addr, addrlen, sa[:]) {
			return errno(linux.EFAULT)
		}
	}
	nl.n = 0
	return int64(k)
}

func netlinkPoll(i int32) (uint32, uint64) {
	if netlinks[i].n > 0 {
		return epollIn | epollOut, netlinks[i].gen
	}
	return epollOut, netlinks[i].gen
}

// nlWriter builds netlink messages in a fixed buffer.
type nlWriter struct {
	b        []byte
	n        int
	overflow bool
}

func (w *nlWriter) room(k int) bool {
	if w.n+k > len(w.b) {
		w.overflow = true
		return false
	}
	return true
}

// header starts a message; end sets its length.
func (w *nlWriter) header(typ, flags uint16, seq uint32) int {
	start := w.n
	if !w.room(nlmsgHdrLen) {
		return start
	}
	binary.LittleEndian.PutUint16(w.b[start+4:], typ)
	binary.LittleEndian.PutUint16(w.b[start+6:], flags)
	binary.LittleEndian.PutUint32(w.b[start+8:], seq)
	binary.LittleEndian.PutUint32(w.b[start+12:], uint32(tidBase))
	w.n += nlmsgHdrLen
	return start
}

func (w *nlWriter) end(start int) {
	if !w.overflow {
		binary.LittleEndian.PutUint32(w.b[start:], uint32(w.n-start))
	}
}

func (w *nlWriter) put(p []byte) {
	if w.room((len(p) + 3) &^ 3) {
		copy(w.b[w.n:], p)
		for i := len(p); i < (len(p)+3)&^3; i++ {
			w.b[w.n+i] = 0
		}
		w.n += (len(p) + 3) &^ 3
	}
}

// attr appends a route attribute; a string gets its NUL.
func (w *nlWriter) attr(typ uint16, p []byte, nul bool) {
	l := 4 + len(p)
	if nul {
		l++
	}
	if !w.room((l + 3) &^ 3) {
		return
	}
	binary.LittleEndian.PutUint16(w.b[w.n:], uint16(l))
	binary.LittleEndian.PutUint16(w.b[w.n+2:], typ)
	copy(w.b[w.n+4:], p)
	for i := 4 + len(p); i < (l+3)&^3; i++ {
		w.b[w.n+i] = 0
	}
	w.n += (l + 3) &^ 3
}

func (w *nlWriter) link(seq uint32, index int32, name string, flags uint32, typ uint16, mtu uint32, hw []byte) {
	start := w.header(rtmNewLink, nlmMulti, seq)
	var ifi [16]byte // struct ifinfomsg
	binary.LittleEndian.PutUint16(ifi[2:], typ)
	binary.LittleEndian.PutUint32(ifi[4:], uint32(index))
	binary.LittleEndian.PutUint32(ifi[8:], flags)
	w.put(ifi[:])
	var nameBuf [16]byte
	w.attr(iflaIfname, nameBuf[:copy(nameBuf[:], name)], true)
	var m [4]byte
	binary.LittleEndian.PutUint32(m[:], mtu)
	w.attr(iflaMTU, m[:], false)
	if hw != nil {
		w.attr(iflaAddress, hw, false)
	}
	w.end(start)
}

func (w *nlWriter) addr(seq uint32, index int32, family, prefix, scope uint8, ip []byte, label string) {
	start := w.header(rtmNewAddr, nlmMulti, seq)
	var ifa [8]byte // struct ifaddrmsg
	ifa[0], ifa[1], ifa[3] = family, prefix, scope
	binary.LittleEndian.PutUint32(ifa[4:], uint32(index))
	w.put(ifa[:])
	w.attr(ifaAddress, ip, false)
	if family == afInet {
		w.attr(ifaLocal, ip, false)
	}
	if label != "" {
		var l [16]byte
		w.attr(ifaLabel, l[:copy(l[:], label)], true)
	}
	w.end(start)
}

func (w *nlWriter) done(seq uint32) {
	start := w.header(nlmsgDone, nlmMulti, seq)
	w.put([]byte{0, 0, 0, 0})
	w.end(start)
}

// errorReply is NLMSG_ERROR with the error and the request's header.
func (w *nlWriter) errorReply(seq uint32, req []byte, code int32) {
	start := w.header(nlmsgError, 0, seq)
	var e [4]byte
	binary.LittleEndian.PutUint32(e[:], uint32(code))
	w.put(e[:])
	w.put(req)
	w.end(start)
}
