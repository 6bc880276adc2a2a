package net

import (
	"bytes"
	"encoding/binary"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// sock is one socket: a netstack endpoint and its wait queue.
type sock struct {
	id     int64
	family int
	typ    int
	ep     tcpip.Endpoint
	wq     *waiter.Queue
	entry  waiter.Entry
	closed atomic.Bool
	// connecting is set while a connect is in progress; ready() then sets
	// the addresses when it completes.
	connecting atomic.Bool
}

const allEvents = waiter.EventIn | waiter.EventOut | waiter.EventErr | waiter.EventHUp | waiter.EventRdHUp

// ready tells the kernel what the socket is ready for, for epoll. Only the
// updater goroutine calls it: two callers could land their views out of
// order and leave the kernel with a stale one, and a lost edge.
func (s *sock) ready() {
	if s.connecting.Load() {
		// A connection completes in netstack's time: its addresses reach the
		// kernel before the readiness that tells the app.
		if _, err := s.ep.GetRemoteAddress(); err == nil {
			s.connecting.Store(false)
			s.setAddrs()
		}
	}
	m := s.ep.Readiness(allEvents)
	syscall.RawSyscall(nrSetReady, uintptr(s.id), uintptr(m), 0)
}

// register makes netstack events update the kernel's view of the socket.
// The callback may run with netstack's locks held, so it only schedules the
// update.
func (svc *service) register(s *sock) {
	s.entry = waiter.NewFunctionEntry(allEvents, func(waiter.EventMask) { svc.dirty(s) })
	s.wq.EventRegister(&s.entry)
	svc.dirty(s)
}

var (
	dirtyMu   sync.Mutex
	dirtySet  = map[*sock]bool{}
	dirtyWake = make(chan struct{}, 1)
)

func (svc *service) dirty(s *sock) {
	dirtyMu.Lock()
	dirtySet[s] = true
	dirtyMu.Unlock()
	select {
	case dirtyWake <- struct{}{}:
	default:
	}
}

// updater reports readiness changes to the kernel, outside netstack's locks.
func (svc *service) updater() {
	for range dirtyWake {
		dirtyMu.Lock()
		set := dirtySet
		dirtySet = map[*sock]bool{}
		dirtyMu.Unlock()
		for s := range set {
			if !s.closed.Load() {
				s.ready()
			}
		}
	}
}

// Linux socket constants.
const (
	afInet       = 2
	afInet6      = 10
	sockStream   = 1
	sockDgram    = 2
	sockTypeMask = 0xf

	solSocket   = 1
	ipprotoTCP  = 6
	ipprotoIPv6 = 41

	soType       = 3
	soError      = 4
	soReuseaddr  = 2
	soKeepalive  = 9
	soBroadcast  = 6
	soSndbuf     = 7
	soRcvbuf     = 8
	soLinger     = 13
	soReuseport  = 15
	soAcceptconn = 30
	soProtocol   = 38
	soDomain     = 39

	tcpNodelay   = 1
	tcpKeepidle  = 4
	tcpKeepintvl = 5
	tcpKeepcnt   = 6

	ipv6V6only = 26

	ipprotoIP         = 0
	ipTOS             = 1
	ipTTL             = 2
	ipMulticastTTL    = 33
	ipMulticastLoop   = 34
	ipv6UnicastHops   = 16
	ipv6MulticastHops = 18
	ipv6MulticastLoop = 19
	ipv6TClass        = 67

	defaultTTL = 64 // netstack's, and Linux's

	msgPeek     = 0x2
	msgDontwait = 0x40
	msgTrunc    = 0x20
	msgNosignal = 0x4000
)

// handle does one forwarded call.
func (svc *service) handle(r *request) {
	if r.TID < 0 && r.Nr == syscall.SYS_CLOSE { // a socket whose last descriptor closed
		if s := svc.get(r.Socket); s != nil {
			s.closed.Store(true)
			s.wq.EventUnregister(&s.entry)
			s.ep.Close()
			svc.put(r.Socket, nil)
		}
		return
	}
	a := r.Args
	if r.Nr == syscall.SYS_SOCKET { // queued by socket(2), which has returned
		if res := svc.socket(r, int(a[0]), int(a[1]), int(a[2])); res < 0 {
			println("mote: socket service: cannot create socket:", syscall.Errno(-res).Error())
		}
		return
	}
	s := svc.get(r.Socket)
	if s == nil {
		complete(r.TID, errno(syscall.EBADF))
		return
	}
	nonblock := r.Flags&syscall.O_NONBLOCK != 0
	var res int64
	switch r.Nr {
	case syscall.SYS_BIND:
		addr, e := parseAddr(s, a[1], a[2])
		if e != 0 {
			res = errno(e)
			break
		}
		res = result(s.ep.Bind(addr))
		s.setAddrs()
	case syscall.SYS_LISTEN:
		backlog := int(int32(a[1]))
		if backlog < 1 {
			backlog = 1
		}
		res = result(s.ep.Listen(backlog))
	case syscall.SYS_ACCEPT, syscall.SYS_ACCEPT4:
		svc.retry(r, s, nonblock, waiter.ReadableEvents, func() (int64, bool) { return svc.accept(r, s) })
		return
	case syscall.SYS_CONNECT:
		addr, e := parseAddr(s, a[1], a[2])
		if e != 0 {
			res = errno(e)
			break
		}
		s.connecting.Store(true) // before Connect: it may complete at once
		err := s.ep.Connect(addr)
		if _, started := err.(*tcpip.ErrConnectStarted); !started {
			s.connecting.Store(false)
		}
		s.setAddrs()
		if _, started := err.(*tcpip.ErrConnectStarted); started && !nonblock {
			svc.retry(r, s, false, waiter.WritableEvents, func() (int64, bool) {
				if s.ep.Readiness(waiter.WritableEvents|waiter.EventErr|waiter.EventHUp) == 0 {
					return 0, false
				}
				s.setAddrs()
				return result(s.ep.LastError()), true
			})
			return
		}
		res = result(err)
	case syscall.SYS_SHUTDOWN:
		var how tcpip.ShutdownFlags
		switch a[1] {
		case 0:
			how = tcpip.ShutdownRead
		case 1:
			how = tcpip.ShutdownWrite
		case 2:
			how = tcpip.ShutdownRead | tcpip.ShutdownWrite
		default:
			res = errno(syscall.EINVAL)
		}
		if res == 0 {
			res = result(s.ep.Shutdown(how))
		}
	case syscall.SYS_GETSOCKNAME, syscall.SYS_GETPEERNAME:
		var fa tcpip.FullAddress
		var err tcpip.Error
		if r.Nr == syscall.SYS_GETSOCKNAME {
			fa, err = s.ep.GetLocalAddress()
		} else {
			fa, err = s.ep.GetRemoteAddress()
		}
		if err != nil {
			res = result(err)
			break
		}
		writeAddr(s, fa, a[1], a[2])
	case syscall.SYS_SETSOCKOPT:
		res = svc.setsockopt(s, int(a[1]), int(a[2]), userBytes(a[3], a[4]))
	case syscall.SYS_GETSOCKOPT:
		res = svc.getsockopt(s, int(a[1]), int(a[2]), a[3], a[4])
	case syscall.SYS_READ, syscall.SYS_READV, syscall.SYS_RECVFROM, syscall.SYS_RECVMSG:
		dontwait := r.Nr == syscall.SYS_RECVFROM && a[3]&msgDontwait != 0 || r.Nr == syscall.SYS_RECVMSG && a[2]&msgDontwait != 0
		svc.retry(r, s, nonblock || dontwait, waiter.ReadableEvents, func() (int64, bool) { return svc.recv(r, s) })
		return
	case syscall.SYS_WRITE, syscall.SYS_WRITEV, syscall.SYS_SENDTO, syscall.SYS_SENDMSG:
		dontwait := r.Nr == syscall.SYS_SENDTO && a[3]&msgDontwait != 0 || r.Nr == syscall.SYS_SENDMSG && a[2]&msgDontwait != 0
		svc.retry(r, s, nonblock || dontwait, waiter.WritableEvents, func() (int64, bool) { return svc.send(r, s) })
		return
	case syscall.SYS_SENDFILE:
		svc.retry(r, s, nonblock, waiter.WritableEvents, func() (int64, bool) { return svc.sendfile(r, s) })
		return
	default:
		res = errno(syscall.ENOSYS)
	}
	svc.dirty(s)
	complete(r.TID, res)
}

// retry runs try now and, for a blocking socket, again whenever the socket
// becomes ready for mask, until it reports done. try returns (result, done);
// not done means it would block.
func (svc *service) retry(r *request, s *sock, nonblock bool, mask waiter.EventMask, try func() (int64, bool)) {
	if res, done := try(); done || nonblock {
		if !done {
			res = errno(syscall.EAGAIN)
		}
		svc.dirty(s)
		complete(r.TID, res)
		return
	}
	tid := r.TID
	go func() {
		e, ch := waiter.NewChannelEntry(mask | waiter.EventErr | waiter.EventHUp)
		s.wq.EventRegister(&e)
		defer s.wq.EventUnregister(&e)
		for {
			if res, done := try(); done {
				svc.dirty(s)
				complete(tid, res)
				return
			}
			<-ch
		}
	}()
}

func (svc *service) socket(r *request, domain, typ, proto int) int64 {
	var netProto tcpip.NetworkProtocolNumber
	switch domain {
	case afInet:
		netProto = ipv4.ProtocolNumber
	case afInet6:
		netProto = ipv6.ProtocolNumber
	default:
		return errno(syscall.EAFNOSUPPORT)
	}
	var transProto tcpip.TransportProtocolNumber
	switch typ & sockTypeMask {
	case sockStream:
		if proto != 0 && proto != ipprotoTCP {
			return errno(syscall.EPROTONOSUPPORT) // MPTCP among them: Go falls back to TCP
		}
		transProto = tcp.ProtocolNumber
	case sockDgram:
		if proto != 0 && proto != syscall.IPPROTO_UDP {
			return errno(syscall.EPROTONOSUPPORT)
		}
		transProto = udp.ProtocolNumber
	default:
		return errno(syscall.ESOCKTNOSUPPORT)
	}
	wq := new(waiter.Queue)
	ep, err := svc.stack.NewEndpoint(transProto, netProto, wq)
	if err != nil {
		return result(err)
	}
	s := &sock{id: r.NewSock, family: domain, typ: typ & sockTypeMask, ep: ep, wq: wq}
	svc.put(s.id, s)
	svc.register(s)
	return 0
}

func (svc *service) accept(r *request, s *sock) (int64, bool) {
	var peer tcpip.FullAddress
	ep, wq, err := s.ep.Accept(&peer)
	if _, block := err.(*tcpip.ErrWouldBlock); block {
		return 0, false
	}
	if err != nil {
		return result(err), true
	}
	ns := &sock{id: r.NewSock, family: s.family, typ: s.typ, ep: ep, wq: wq}
	svc.put(ns.id, ns)
	ns.setAddrs()
	svc.register(ns)
	writeAddr(s, peer, r.Args[1], r.Args[2])
	return 0, true
}

// vecWriter writes into the app's buffers in order.
type vecWriter struct{ bufs [][]byte }

func (w *vecWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 && len(w.bufs) > 0 {
		k := copy(w.bufs[0], p)
		n += k
		p = p[k:]
		if w.bufs[0] = w.bufs[0][k:]; len(w.bufs[0]) == 0 {
			w.bufs = w.bufs[1:]
		}
	}
	if len(p) > 0 {
		return n, io.ErrShortWrite
	}
	return n, nil
}

// iovecs returns the app's buffers named by an iovec array.
func iovecs(addr, n uint64) [][]byte {
	bufs := make([][]byte, 0, n)
	raw := userBytes(addr, n*16)
	for i := uint64(0); i < n; i++ {
		base := binary.LittleEndian.Uint64(raw[i*16:])
		l := binary.LittleEndian.Uint64(raw[i*16+8:])
		if b := userBytes(base, l); len(b) > 0 {
			bufs = append(bufs, b)
		}
	}
	return bufs
}

func total(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// vecReader reads the app's buffers in place: netstack takes what its send
// buffer has room for, and a 1 GiB writev is never copied whole.
type vecReader struct {
	bufs [][]byte
	n    int
}

func (r *vecReader) Read(p []byte) (int, error) {
	k := 0
	for k < len(p) && len(r.bufs) > 0 {
		c := copy(p[k:], r.bufs[0])
		k += c
		r.n -= c
		if r.bufs[0] = r.bufs[0][c:]; len(r.bufs[0]) == 0 {
			r.bufs = r.bufs[1:]
		}
	}
	if k == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return k, nil
}

// Len is how much is left to read.
func (r *vecReader) Len() int { return r.n }

// msghdr fields (struct msghdr, amd64).
func msghdr(addr uint64) (name, namelen, iov, iovlen uint64) {
	h := userBytes(addr, 56)
	return binary.LittleEndian.Uint64(h[0:]), uint64(binary.LittleEndian.Uint32(h[8:])),
		binary.LittleEndian.Uint64(h[16:]), binary.LittleEndian.Uint64(h[24:])
}

func (svc *service) recv(r *request, s *sock) (int64, bool) {
	a := r.Args
	var bufs [][]byte
	var flags, addr, addrlen uint64
	switch r.Nr {
	case syscall.SYS_READ:
		bufs = [][]byte{userBytes(a[1], a[2])}
	case syscall.SYS_READV:
		bufs = iovecs(a[1], a[2])
	case syscall.SYS_RECVFROM:
		bufs, flags, addr, addrlen = [][]byte{userBytes(a[1], a[2])}, a[3], a[4], a[5]
	case syscall.SYS_RECVMSG:
		var iov, iovlen uint64
		addr, _, iov, iovlen = msghdr(a[1])
		bufs, flags = iovecs(iov, iovlen), a[2]
	}
	want := total(bufs)
	if want == 0 && s.typ == sockStream {
		return 0, true
	}
	var dst io.Writer = &tcpip.LimitedWriter{W: &vecWriter{bufs: bufs}, N: int64(want)}
	if want == 0 {
		// A datagram read into no room is still read, and dropped, as on
		// Linux; netstack would call the empty buffer bad.
		dst = io.Discard
	}
	res, err := s.ep.Read(dst, tcpip.ReadOptions{
		Peek:           flags&msgPeek != 0,
		NeedRemoteAddr: addr != 0,
	})
	if want == 0 {
		res.Count = 0
	}
	if _, block := err.(*tcpip.ErrWouldBlock); block {
		return 0, false
	}
	if _, eof := err.(*tcpip.ErrClosedForReceive); eof {
		return 0, true
	}
	if err != nil {
		return result(err), true
	}
	switch r.Nr {
	case syscall.SYS_RECVFROM:
		if addr != 0 {
			writeAddr(s, res.RemoteAddr, addr, addrlen)
		}
	case syscall.SYS_RECVMSG:
		h := userBytes(a[1], 56)
		if addr != 0 {
			n := putAddr(s, res.RemoteAddr, userBytes(addr, uint64(binary.LittleEndian.Uint32(h[8:]))))
			binary.LittleEndian.PutUint32(h[8:], uint32(n))
		}
		binary.LittleEndian.PutUint64(h[40:], 0) // msg_controllen: no control messages
		mflags := uint32(0)
		if res.Total > res.Count {
			mflags |= msgTrunc
		}
		binary.LittleEndian.PutUint32(h[48:], mflags)
	}
	if flags&msgTrunc != 0 && s.typ == sockDgram {
		return int64(res.Total), true
	}
	return int64(res.Count), true
}

func (svc *service) send(r *request, s *sock) (int64, bool) {
	a := r.Args
	var bufs [][]byte
	var to *tcpip.FullAddress
	switch r.Nr {
	case syscall.SYS_WRITE:
		bufs = [][]byte{userBytes(a[1], a[2])}
	case syscall.SYS_WRITEV:
		bufs = iovecs(a[1], a[2])
	case syscall.SYS_SENDTO:
		bufs = [][]byte{userBytes(a[1], a[2])}
		if a[4] != 0 {
			fa, e := parseAddr(s, a[4], a[5])
			if e != 0 {
				return errno(e), true
			}
			to = &fa
		}
	case syscall.SYS_SENDMSG:
		name, namelen, iov, iovlen := msghdr(a[1])
		bufs = iovecs(iov, iovlen)
		if name != 0 {
			fa, e := parseAddr(s, name, namelen)
			if e != 0 {
				return errno(e), true
			}
			to = &fa
		}
	}
	src := &vecReader{bufs: bufs, n: total(bufs)}
	if src.n == 0 && s.typ == sockStream {
		return 0, true
	}
	n, err := s.ep.Write(src, tcpip.WriteOptions{To: to})
	if _, block := err.(*tcpip.ErrWouldBlock); block {
		return 0, false
	}
	if err != nil {
		if _, closed := err.(*tcpip.ErrClosedForSend); closed {
			return errno(syscall.EPIPE), true
		}
		return result(err), true
	}
	return n, true
}

// sendfileChunk is how much of the file one step of sendfile reads.
const sendfileChunk = 64 << 10

// sendfile sends from the app's file to the socket: the service reads the
// file itself, through the kernel, and takes only what netstack accepts, so
// the file's offset (or *offp) moves by exactly what was sent.
func (svc *service) sendfile(r *request, s *sock) (int64, bool) {
	in, offp, count := int(r.Args[1]), r.Args[2], int64(r.Args[3])
	var off int64
	if offp != 0 {
		off = int64(binary.LittleEndian.Uint64(userBytes(offp, 8)))
	} else {
		var err error
		if off, err = syscall.Seek(in, 0, io.SeekCurrent); err != nil {
			return errno(err.(syscall.Errno)), true
		}
	}
	buf := make([]byte, min(count, sendfileChunk))
	var sent int64
	for sent < count {
		n, err := syscall.Pread(in, buf[:min(int64(len(buf)), count-sent)], off+sent)
		if err != nil {
			if sent == 0 {
				return errno(err.(syscall.Errno)), true
			}
			break
		}
		if n == 0 {
			break // the end of the file
		}
		w, terr := s.ep.Write(bytes.NewReader(buf[:n]), tcpip.WriteOptions{})
		if _, block := terr.(*tcpip.ErrWouldBlock); block {
			if sent == 0 {
				return 0, false
			}
			break
		}
		if terr != nil {
			if sent > 0 {
				break
			}
			if _, closed := terr.(*tcpip.ErrClosedForSend); closed {
				return errno(syscall.EPIPE), true
			}
			return result(terr), true
		}
		sent += w
		if w < int64(n) {
			break // the send buffer is full
		}
	}
	if offp != 0 {
		binary.LittleEndian.PutUint64(userBytes(offp, 8), uint64(off+sent))
	} else if _, err := syscall.Seek(in, off+sent, io.SeekStart); err != nil {
		return errno(err.(syscall.Errno)), true
	}
	return sent, true
}

// parseAddr reads a sockaddr_in or sockaddr_in6 from the app.
func parseAddr(s *sock, addr, n uint64) (tcpip.FullAddress, syscall.Errno) {
	if n < 2 || n > 128 || addr == 0 {
		return tcpip.FullAddress{}, syscall.EINVAL
	}
	b := userBytes(addr, n)
	family := int(binary.LittleEndian.Uint16(b))
	switch {
	case family == afInet && n >= 16:
		fa := tcpip.FullAddress{Port: binary.BigEndian.Uint16(b[2:]), Addr: tcpip.AddrFrom4Slice(b[4:8])}
		if s.family == afInet6 {
			// A v4 address on a dual-stack socket travels v4-mapped.
			var m [16]byte
			m[10], m[11] = 0xff, 0xff
			copy(m[12:], b[4:8])
			fa.Addr = tcpip.AddrFrom16(m)
		}
		if fa.Addr == tcpip.AddrFrom4([4]byte{}) {
			fa.Addr = tcpip.Address{} // INADDR_ANY
		}
		return fa, 0
	case family == afInet6 && n >= 24 && s.family == afInet6:
		fa := tcpip.FullAddress{Port: binary.BigEndian.Uint16(b[2:]), Addr: tcpip.AddrFrom16Slice(b[8:24])}
		if fa.Addr == tcpip.AddrFrom16([16]byte{}) {
			fa.Addr = tcpip.Address{} // in6addr_any
		}
		return fa, 0
	case family == 0 && s.typ == sockDgram: // AF_UNSPEC: disconnect
		return tcpip.FullAddress{}, 0
	}
	return tcpip.FullAddress{}, syscall.EAFNOSUPPORT
}

// putAddr encodes fa as the socket's family into b; it returns the full size.
func putAddr(s *sock, fa tcpip.FullAddress, b []byte) int {
	var out [28]byte
	size := 16
	if s.family == afInet6 {
		size = 28
		binary.LittleEndian.PutUint16(out[0:], afInet6)
		binary.BigEndian.PutUint16(out[2:], fa.Port)
		if fa.Addr.Len() == 4 {
			out[18], out[19] = 0xff, 0xff
			a4 := fa.Addr.As4()
			copy(out[20:], a4[:])
		} else if fa.Addr.Len() == 16 {
			a16 := fa.Addr.As16()
			copy(out[8:], a16[:])
		}
	} else {
		binary.LittleEndian.PutUint16(out[0:], afInet)
		binary.BigEndian.PutUint16(out[2:], fa.Port)
		if fa.Addr.Len() == 4 {
			a4 := fa.Addr.As4()
			copy(out[4:], a4[:])
		}
	}
	copy(b, out[:size])
	return size
}

// setAddrs tells the kernel the socket's addresses, which getsockname and
// getpeername read there.
func (s *sock) setAddrs() {
	var b [28]byte
	if fa, err := s.ep.GetLocalAddress(); err == nil {
		n := putAddr(s, fa, b[:])
		syscall.RawSyscall6(nrSetAddr, uintptr(s.id), 0, uintptr(unsafe.Pointer(&b[0])), uintptr(n), 0, 0)
	}
	if fa, err := s.ep.GetRemoteAddress(); err == nil {
		n := putAddr(s, fa, b[:])
		syscall.RawSyscall6(nrSetAddr, uintptr(s.id), 1, uintptr(unsafe.Pointer(&b[0])), uintptr(n), 0, 0)
	}
}

// writeAddr stores fa at addr, honouring and updating *addrlen.
func writeAddr(s *sock, fa tcpip.FullAddress, addr, addrlen uint64) {
	if addr == 0 || addrlen == 0 {
		return
	}
	lp := userU32(addrlen)
	n := putAddr(s, fa, userBytes(addr, uint64(*lp)))
	*lp = uint32(n)
}

func boolOpt(b []byte) (bool, int64) {
	if len(b) < 4 {
		return false, errno(syscall.EINVAL)
	}
	return binary.LittleEndian.Uint32(b) != 0, 0
}

func (svc *service) setsockopt(s *sock, level, name int, b []byte) int64 {
	so := s.ep.SocketOptions()
	v, e := boolOpt(b)
	if e != 0 {
		return e
	}
	n := int(binary.LittleEndian.Uint32(b))
	switch {
	case level == solSocket && name == soReuseaddr:
		so.SetReuseAddress(v)
	case level == solSocket && name == soReuseport:
		so.SetReusePort(v)
	case level == solSocket && name == soKeepalive:
		so.SetKeepAlive(v)
	case level == solSocket && name == soBroadcast:
		so.SetBroadcast(v)
	case level == solSocket && name == soRcvbuf:
		so.SetReceiveBufferSize(int64(n)*2, true)
	case level == solSocket && name == soSndbuf:
		so.SetSendBufferSize(int64(n)*2, true)
	case level == solSocket && name == soLinger:
		// l_onoff, l_linger: recorded by netstack for close.
		so.SetLinger(tcpip.LingerOption{Enabled: v})
	case level == ipprotoTCP && name == tcpNodelay:
		so.SetDelayOption(!v)
	case level == ipprotoTCP && (name == tcpKeepidle || name == tcpKeepintvl || name == tcpKeepcnt):
		return svc.keepalive(s, name, n)
	case level == ipprotoIPv6 && name == ipv6V6only:
		so.SetV6Only(v)
	case level == ipprotoIP && name == ipMulticastLoop, level == ipprotoIPv6 && name == ipv6MulticastLoop:
		so.SetMulticastLoop(v)
	default:
		if opt, ok := ipIntOpt(level, name); ok {
			return svc.setIPInt(s, level, name, opt, n)
		}
		return errno(syscall.ENOPROTOOPT)
	}
	return 0
}

// ipIntOpt maps the integer IP options to netstack's.
func ipIntOpt(level, name int) (tcpip.SockOptInt, bool) {
	switch {
	case level == ipprotoIP && name == ipTOS:
		return tcpip.IPv4TOSOption, true
	case level == ipprotoIP && name == ipTTL:
		return tcpip.IPv4TTLOption, true
	case level == ipprotoIP && name == ipMulticastTTL, level == ipprotoIPv6 && name == ipv6MulticastHops:
		return tcpip.MulticastTTLOption, true
	case level == ipprotoIPv6 && name == ipv6UnicastHops:
		return tcpip.IPv6HopLimitOption, true
	case level == ipprotoIPv6 && name == ipv6TClass:
		return tcpip.IPv6TrafficClassOption, true
	}
	return 0, false
}

// setIPInt checks a value as Linux does (ip(7), ipv6(7)): a TTL or hop
// limit is 1-255, or -1 for the default.
func (svc *service) setIPInt(s *sock, level, name int, opt tcpip.SockOptInt, n int) int64 {
	switch opt {
	case tcpip.IPv4TTLOption:
		if n == -1 {
			n = tcpip.UseDefaultIPv4TTL
		} else if n < 1 || n > 255 {
			return errno(syscall.EINVAL)
		}
	case tcpip.IPv6HopLimitOption:
		if n < -1 || n > 255 {
			return errno(syscall.EINVAL)
		}
	case tcpip.MulticastTTLOption:
		if n == -1 {
			n = 1
		} else if n < 0 || n > 255 {
			return errno(syscall.EINVAL)
		}
	case tcpip.IPv4TOSOption, tcpip.IPv6TrafficClassOption:
		if n < -1 || n > 255 {
			return errno(syscall.EINVAL)
		}
		if n == -1 {
			n = 0
		}
	}
	return result(s.ep.SetSockOptInt(opt, n))
}

func (svc *service) keepalive(s *sock, name, n int) int64 {
	if n < 1 {
		return errno(syscall.EINVAL)
	}
	switch name {
	case tcpKeepcnt:
		return result(s.ep.SetSockOptInt(tcpip.KeepaliveCountOption, n))
	case tcpKeepidle:
		o := tcpip.KeepaliveIdleOption(secondsOpt(n))
		return result(s.ep.SetSockOpt(&o))
	default:
		o := tcpip.KeepaliveIntervalOption(secondsOpt(n))
		return result(s.ep.SetSockOpt(&o))
	}
}

func (svc *service) getsockopt(s *sock, level, name int, addr, lenp uint64) int64 {
	if addr == 0 || lenp == 0 {
		return errno(syscall.EFAULT)
	}
	var v int32
	so := s.ep.SocketOptions()
	switch {
	case level == solSocket && name == soError:
		v = int32(-result(s.ep.LastError()))
	case level == solSocket && name == soType:
		v = int32(s.typ)
	case level == solSocket && name == soDomain:
		v = int32(s.family)
	case level == solSocket && name == soProtocol:
		v = ipprotoTCP
		if s.typ == sockDgram {
			v = syscall.IPPROTO_UDP
		}
	case level == solSocket && name == soReuseaddr:
		v = b2i(so.GetReuseAddress())
	case level == solSocket && name == soKeepalive:
		v = b2i(so.GetKeepAlive())
	case level == solSocket && name == soRcvbuf:
		v = int32(so.GetReceiveBufferSize())
	case level == solSocket && name == soSndbuf:
		v = int32(so.GetSendBufferSize())
	case level == solSocket && name == soAcceptconn:
		v = b2i(s.ep.Readiness(0) == 0 && s.typ == sockStream && isListening(s))
	case level == ipprotoTCP && name == tcpNodelay:
		v = b2i(!so.GetDelayOption())
	case level == ipprotoTCP && name == tcpKeepcnt:
		n, err := s.ep.GetSockOptInt(tcpip.KeepaliveCountOption)
		if err != nil {
			return result(err)
		}
		v = int32(n)
	case level == ipprotoTCP && name == tcpKeepidle:
		var o tcpip.KeepaliveIdleOption
		if err := s.ep.GetSockOpt(&o); err != nil {
			return result(err)
		}
		v = int32(time.Duration(o) / time.Second)
	case level == ipprotoTCP && name == tcpKeepintvl:
		var o tcpip.KeepaliveIntervalOption
		if err := s.ep.GetSockOpt(&o); err != nil {
			return result(err)
		}
		v = int32(time.Duration(o) / time.Second)
	case level == ipprotoIPv6 && name == ipv6V6only:
		v = b2i(so.GetV6Only())
	case level == ipprotoIP && name == ipMulticastLoop, level == ipprotoIPv6 && name == ipv6MulticastLoop:
		v = b2i(so.GetMulticastLoop())
	default:
		opt, ok := ipIntOpt(level, name)
		if !ok {
			return errno(syscall.ENOPROTOOPT)
		}
		n, err := s.ep.GetSockOptInt(opt)
		if err != nil {
			return result(err)
		}
		if opt == tcpip.IPv4TTLOption && n == tcpip.UseDefaultIPv4TTL || opt == tcpip.IPv6HopLimitOption && n == tcpip.UseDefaultIPv6HopLimit {
			n = defaultTTL
		}
		v = int32(n)
	}
	lp := userU32(lenp)
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(v))
	n := copy(userBytes(addr, uint64(*lp)), b[:])
	*lp = uint32(n)
	return 0
}

func isListening(s *sock) bool {
	return tcp.EndpointState(s.ep.State()) == tcp.StateListen
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// result maps a netstack error to -errno, as Linux reports the same cases.
func result(err tcpip.Error) int64 {
	if err == nil {
		return 0
	}
	switch err.(type) {
	case *tcpip.ErrWouldBlock:
		return errno(syscall.EAGAIN)
	case *tcpip.ErrConnectStarted:
		return errno(syscall.EINPROGRESS)
	case *tcpip.ErrAlreadyConnecting:
		return errno(syscall.EALREADY)
	case *tcpip.ErrAlreadyConnected:
		return errno(syscall.EISCONN)
	case *tcpip.ErrNotConnected:
		return errno(syscall.ENOTCONN)
	case *tcpip.ErrConnectionRefused:
		return errno(syscall.ECONNREFUSED)
	case *tcpip.ErrConnectionReset:
		return errno(syscall.ECONNRESET)
	case *tcpip.ErrConnectionAborted, *tcpip.ErrAborted:
		return errno(syscall.ECONNABORTED)
	case *tcpip.ErrPortInUse, *tcpip.ErrNoPortAvailable:
		return errno(syscall.EADDRINUSE)
	case *tcpip.ErrBadLocalAddress:
		return errno(syscall.EADDRNOTAVAIL)
	case *tcpip.ErrAlreadyBound, *tcpip.ErrInvalidEndpointState:
		return errno(syscall.EINVAL)
	case *tcpip.ErrTimeout:
		return errno(syscall.ETIMEDOUT)
	case *tcpip.ErrNetworkUnreachable, *tcpip.ErrNoNet:
		return errno(syscall.ENETUNREACH)
	case *tcpip.ErrHostUnreachable, *tcpip.ErrHostDown:
		return errno(syscall.EHOSTUNREACH)
	case *tcpip.ErrClosedForSend:
		return errno(syscall.EPIPE)
	case *tcpip.ErrClosedForReceive:
		return 0
	case *tcpip.ErrMessageTooLong:
		return errno(syscall.EMSGSIZE)
	case *tcpip.ErrNoBufferSpace:
		return errno(syscall.ENOBUFS)
	case *tcpip.ErrDestinationRequired:
		return errno(syscall.EDESTADDRREQ)
	case *tcpip.ErrBroadcastDisabled, *tcpip.ErrNotPermitted:
		return errno(syscall.EACCES)
	case *tcpip.ErrAddressFamilyNotSupported:
		return errno(syscall.EAFNOSUPPORT)
	case *tcpip.ErrNotSupported, *tcpip.ErrQueueSizeNotSupported:
		return errno(syscall.EOPNOTSUPP)
	case *tcpip.ErrUnknownProtocolOption:
		return errno(syscall.ENOPROTOOPT)
	case *tcpip.ErrBadAddress:
		return errno(syscall.EFAULT)
	}
	return errno(syscall.EINVAL)
}

// get and put guard the socket table: blocking calls finish on goroutines
// of their own.
func (svc *service) get(id int64) *sock {
	svc.mu.Lock()
	defer svc.mu.Unlock()
	return svc.socks[id]
}

func (svc *service) put(id int64, s *sock) {
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if s == nil {
		delete(svc.socks, id)
		return
	}
	svc.socks[id] = s
}
