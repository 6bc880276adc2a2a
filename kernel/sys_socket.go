package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// Sockets. The network stack (gVisor's netstack) is Go code that needs the
// runtime, so it runs in the app's runtime as the socket service (package
// kernel/net), and socket system calls are forwarded to it: the calling
// thread blocks in the kernel, the request is queued and the service's
// eventfd made readable; the service, woken by Go's netpoller, takes the
// request with moteNextRequest, does it, and hands the result back with
// moteComplete. Readiness for epoll comes back the same way (moteSetReady).
// Apps that do not import net link no service: socket(2) is then
// EAFNOSUPPORT.
//
// Go makes socket, getsockname and getpeername with RawSyscall: its
// scheduler does not know the thread is in the kernel and cannot hand the
// thread's P to the service, so those calls must not wait for it. socket
// returns at once and queues the endpoint's creation; the addresses are
// kept here, set by the service (moteSetAddr), and answered here.

// The service's own system calls, numbered past Linux's.
const (
	nrMoteServiceFD   = 0x4d00 // returns the eventfd that signals queued requests
	nrMoteNextRequest = 0x4d01 // fills a ServiceRequest; EAGAIN when none is queued
	nrMoteComplete    = 0x4d02 // (tid, result): finishes a forwarded call
	nrMoteSetReady    = 0x4d03 // (socket, events): readiness for epoll
	nrMoteSetAddr     = 0x4d04 // (socket, which, sockaddr, len): 0 local, 1 peer
	nrMoteNetOpen     = 0x4d05 // (mac *[6]byte): the network device's eventfd
	nrMoteNetRecv     = 0x4d06 // (buf, len): one received Ethernet frame
	nrMoteNetSend     = 0x4d07 // (frame, len): one Ethernet frame to send
	// 0x4d08-0x4d0c are the agent's (kernel/abi/mote); the service's calls
	// go on past them.
	nrMoteNetConfig = 0x4d20 // (report *leaseReport): what DHCP found
)

// serviceRequest is what moteNextRequest hands the service; the layout is
// shared with kernel/net.
type serviceRequest struct {
	TID     int64     // the waiting thread; -1 for a request nobody waits for
	Nr      uint64    // the system call
	Socket  int64     // the socket it is about
	Args    [6]uint64 // its arguments, as the app passed them
	NewSock int64     // for socket and accept4: the socket to create
	Flags   uint64    // the socket descriptor's status flags (O_NONBLOCK)
}

const maxSockets = 1024

type socket struct {
	used   bool
	cookie uint32 // tells this socket from earlier ones with the same number
	ready  uint32
	gen    uint64
	local  [sockaddrMax]byte
	peer   [sockaddrMax]byte
	localN uint32
	peerN  uint32 // 0 while not connected
}

// The service's queue, first in first out: calls that threads wait on,
// and requests nobody waits for (create, close).
const queueLen = 2 * maxThreads

var (
	sockets      [maxSockets]socket
	serviceEvent int32 = -1 // eventfds index of the service's eventfd
	queue        [queueLen]serviceRequest
	qHead, qN    int
)

// enqueueRequest adds a request and wakes the service; false when full.
func enqueueRequest(r serviceRequest) bool {
	if qN == queueLen {
		return false
	}
	queue[(qHead+qN)%queueLen] = r
	qN++
	signalService()
	return true
}

// serviceUp reports whether a socket service registered itself.
func serviceUp() bool { return serviceEvent >= 0 }

// signalService makes the service's eventfd readable.
func signalService() { signalEventfd(serviceEvent) }

// forward queues t's system call for the service and blocks t until
// moteComplete. newSock is the socket the service creates (-1 for none).
func forward(t *thread, sock, newSock int32) int64 {
	f := &t.frame
	r := serviceRequest{TID: int64(t.tid()), Nr: t.sysnr, Socket: handle(sock),
		Args: [6]uint64{f.RDI, f.RSI, f.RDX, f.R10, f.R8, f.R9}, NewSock: handle(newSock)}
	if e := getFD(f.RDI); e != nil && e.kind == fkSocket {
		r.Flags = e.flags
	}
	if !enqueueRequest(r) {
		return errno(linux.EAGAIN)
	}
	t.svcNewSock = newSock
	block(t, waitService, 0, 0)
	return 0
}

var sockCookie uint32

func newSocket() int32 {
	for i := range sockets {
		if !sockets[i].used {
			sockCookie++
			sockets[i] = socket{used: true, cookie: sockCookie}
			return int32(i)
		}
	}
	return -1
}

// handle names socket s to the service: its number and its cookie, so
// that a late word about a closed socket cannot land on its successor.
func handle(s int32) int64 {
	if s < 0 {
		return -1
	}
	return int64(s) | int64(sockets[s].cookie)<<16
}

// fromHandle finds the socket a service handle names, if it still exists.
func fromHandle(h uint64) (int32, bool) {
	s := int32(h & 0xffff)
	if s >= maxSockets || !sockets[s].used || uint64(sockets[s].cookie) != h>>16 {
		return -1, false
	}
	return s, true
}

// Socket families, types and protocols the service supports.
const (
	afInet       = 2
	afInet6      = 10
	sockStream   = 1
	sockDgram    = 2
	sockTypeMask = 0xf
	ipprotoTCP   = 6
	ipprotoUDP   = 17
)

func socketOf(fd uint64) (int32, linux.Errno) {
	e := getFD(fd)
	if e == nil {
		return -1, linux.EBADF
	}
	if e.kind != fkSocket {
		return -1, linux.ENOTSOCK
	}
	return e.obj, 0
}

// sysSocket implements socket(2): the arguments are checked here, so the
// service's creation of the endpoint, queued, cannot fail for them.
func sysSocket(t *thread, f *Frame) int64 {
	domain, typ, proto := f.RDI, f.RSI, f.RDX
	if domain == afUnix {
		return unixSocketCall(typ, proto)
	}
	if domain == afNetlink {
		return netlinkSocketCall(typ, proto)
	}
	if !serviceUp() || domain != afInet && domain != afInet6 {
		return errno(linux.EAFNOSUPPORT)
	}
	if typ&^(sockTypeMask|linux.O_NONBLOCK|linux.O_CLOEXEC) != 0 {
		return errno(linux.EINVAL)
	}
	switch {
	case typ&sockTypeMask == sockStream && (proto == 0 || proto == ipprotoTCP):
	case typ&sockTypeMask == sockDgram && (proto == 0 || proto == ipprotoUDP):
	case typ&sockTypeMask == sockStream || typ&sockTypeMask == sockDgram:
		return errno(linux.EPROTONOSUPPORT) // MPTCP among them: Go falls back to TCP
	default:
		return errno(linux.ESOCKTNOSUPPORT)
	}
	s := newSocket()
	if s < 0 {
		return errno(linux.ENFILE)
	}
	fd := allocFD(fkSocket, s, linux.O_RDWR|typ&linux.O_NONBLOCK, typ&linux.O_CLOEXEC != 0)
	if fd < 0 {
		sockets[s].used = false
		return errno(linux.EMFILE)
	}
	// An unbound socket's name: its family, no address, port 0.
	sk := &sockets[s]
	sk.local[0] = byte(domain)
	sk.localN = 16
	if domain == afInet6 {
		sk.localN = 28
	}
	if !enqueueRequest(serviceRequest{TID: -1, Nr: linux.SYS_SOCKET, Socket: handle(s),
		Args: [6]uint64{domain, typ, proto}, NewSock: handle(s)}) {
		fds[fd] = fdEntry{}
		sockets[s].used = false
		return errno(linux.ENOBUFS)
	}
	return fd
}

// forwardNew forwards accept4, which makes a socket, with SOCK_NONBLOCK
// and SOCK_CLOEXEC from flags.
func forwardNew(t *thread, listener int32, flags uint64) int64 {
	s := newSocket()
	if s < 0 {
		return errno(linux.ENFILE)
	}
	fd := allocFD(fkSocket, s, linux.O_RDWR|flags&linux.O_NONBLOCK, flags&linux.O_CLOEXEC != 0)
	if fd < 0 {
		sockets[s].used = false
		return errno(linux.EMFILE)
	}
	t.svcFD = int32(fd)
	r := forward(t, listener, s)
	if r < 0 {
		fds[fd] = fdEntry{}
		sockets[s].used = false
	}
	return r
}

// sysAccept4 implements accept4(2).
func sysAccept4(t *thread, f *Frame) int64 {
	if isUnix(f.RDI) {
		if f.R10&^(linux.O_NONBLOCK|linux.O_CLOEXEC) != 0 {
			return errno(linux.EINVAL)
		}
		return unixAccept(t, f.RDI, f.RSI, f.RDX, f.R10)
	}
	s, e := socketOf(f.RDI)
	if e != 0 {
		return errno(e)
	}
	if f.R10&^(linux.O_NONBLOCK|linux.O_CLOEXEC) != 0 {
		return errno(linux.EINVAL)
	}
	if f.RSI != 0 && !userOK(uintptr(f.RSI), 128, true) || f.RDX != 0 && !userOK(uintptr(f.RDX), 4, true) {
		return errno(linux.EFAULT)
	}
	return forwardNew(t, s, f.R10)
}

// sysAccept implements accept(2).
func sysAccept(t *thread, f *Frame) int64 {
	f.R10 = 0
	return sysAccept4(t, f)
}

// forwardOn forwards a call on the socket fd with its user buffers checked:
// bufs lists (address, length, write) triples the service will touch.
func forwardOn(t *thread, fd uint64, bufs ...uint64) int64 {
	s, e := socketOf(fd)
	if e != 0 {
		return errno(e)
	}
	for i := 0; i+2 < len(bufs); i += 3 {
		if bufs[i] != 0 && !userOK(uintptr(bufs[i]), uintptr(bufs[i+1]), bufs[i+2] != 0) {
			return errno(linux.EFAULT)
		}
	}
	t.svcFD = -1
	return forward(t, s, -1)
}

// copyOutLen fills a value-result buffer, as getsockname and getsockopt do:
// as much of v as *lenp bytes at addr hold, then len(v) into *lenp.
func copyOutLen(addr, lenp uint64, v []byte) bool {
	room, ok := readU32(uintptr(lenp))
	return ok && copyOut(uintptr(addr), v[:min(uint32(len(v)), room)]) && writeU32(uintptr(lenp), uint32(len(v)))
}

// sockaddrMax bounds the socket addresses the service reads or writes.
const sockaddrMax = 128

// isUnixgram reports whether fd is a unix-domain socket whose data are
// messages: SOCK_DGRAM or SOCK_SEQPACKET.
func isUnixgram(fd uint64) bool {
	e := getFD(fd)
	return e != nil && e.kind == fkUnix && (unixSockets[e.obj].dgram || unixSockets[e.obj].seqpacket)
}

// isUnix reports whether fd is a unix-domain socket, served in the kernel.
func isUnix(fd uint64) bool {
	e := getFD(fd)
	return e != nil && e.kind == fkUnix
}

func sysBind(t *thread, f *Frame) int64 {
	if isUnix(f.RDI) {
		return unixBind(f.RDI, f.RSI, f.RDX)
	}
	if isNetlink(f.RDI) {
		return 0 // the kernel's port ID stays; no multicast groups are served
	}
	return forwardOn(t, f.RDI, f.RSI, f.RDX, 0)
}

func sysConnect(t *thread, f *Frame) int64 {
	if isUnix(f.RDI) {
		return unixConnect(f.RDI, f.RSI, f.RDX)
	}
	return forwardOn(t, f.RDI, f.RSI, f.RDX, 0)
}

func sysListen(t *thread, f *Frame) int64 {
	if isUnix(f.RDI) {
		return unixListen(f.RDI, f.RSI)
	}
	return forwardOn(t, f.RDI)
}

func sysShutdown(t *thread, f *Frame) int64 {
	if isUnix(f.RDI) {
		return unixShutdown(f.RDI, f.RSI)
	}
	return forwardOn(t, f.RDI)
}

// sysGetsockname implements getsockname(2) from the address the service set.
func sysGetsockname(t *thread, f *Frame) int64 { return sockName(f, false) }

// sysGetpeername implements getpeername(2).
func sysGetpeername(t *thread, f *Frame) int64 { return sockName(f, true) }

func sockName(f *Frame, peer bool) int64 {
	if isUnix(f.RDI) {
		return unixName(&unixSockets[getFD(f.RDI).obj], peer, f.RSI, f.RDX)
	}
	if isNetlink(f.RDI) {
		return netlinkName(f.RSI, f.RDX)
	}
	s, e := socketOf(f.RDI)
	if e != 0 {
		return errno(e)
	}
	sk := &sockets[s]
	addr, n := sk.local[:], sk.localN
	if peer {
		if sk.peerN == 0 {
			return errno(linux.ENOTCONN)
		}
		addr, n = sk.peer[:], sk.peerN
	}
	room, ok := readU32(uintptr(f.RDX))
	if !ok {
		return errno(linux.EFAULT)
	}
	if int32(room) < 0 {
		return errno(linux.EINVAL)
	}
	k := n
	if room < k {
		k = room
	}
	if !copyOut(uintptr(f.RSI), addr[:k]) || !writeU32(uintptr(f.RDX), n) {
		return errno(linux.EFAULT)
	}
	return 0
}

func sysSetsockopt(t *thread, f *Frame) int64 {
	if isUnix(f.RDI) {
		return 0 // buffer sizes and the like: the pipes have one size
	}
	return forwardOn(t, f.RDI, f.R10, f.R8, 0)
}

func sysGetsockopt(t *thread, f *Frame) int64 {
	if isUnix(f.RDI) {
		return unixGetsockopt(f.RDI, f.RSI, f.RDX, f.R10, f.R8)
	}
	n, ok := readU32(uintptr(f.R8))
	if f.R8 != 0 && !ok {
		return errno(linux.EFAULT)
	}
	return forwardOn(t, f.RDI, f.R10, uint64(n), 1, f.R8, 4, 1)
}

func sysSendto(t *thread, f *Frame) int64 {
	if isUnixgram(f.RDI) {
		buf, ok := userBytes(uintptr(f.RSI), uintptr(f.RDX), false)
		if !ok {
			return errno(linux.EFAULT)
		}
		return dgramSend(t, getFD(f.RDI), buf, f.R8, f.R9)
	}
	if isUnix(f.RDI) {
		return unixBuf(t, f, true)
	}
	if isNetlink(f.RDI) {
		return netlinkSend(f.RDI, f.RSI, f.RDX)
	}
	return forwardOn(t, f.RDI, f.RSI, f.RDX, 0, f.R8, f.R9, 0)
}

func sysRecvfrom(t *thread, f *Frame) int64 {
	if isUnixgram(f.RDI) {
		buf, ok := userBytes(uintptr(f.RSI), uintptr(f.RDX), true)
		if !ok {
			return errno(linux.EFAULT)
		}
		r, total := dgramRecv(t, getFD(f.RDI), buf, f.R8, f.R9, f.R10&msgPeek != 0)
		if r >= 0 && f.R10&msgTruncFlag != 0 {
			return int64(total)
		}
		return r
	}
	if isUnix(f.RDI) {
		if f.R8 != 0 && f.R9 != 0 && !writeU32(uintptr(f.R9), 0) {
			return errno(linux.EFAULT)
		}
		return unixBuf(t, f, false)
	}
	if isNetlink(f.RDI) {
		return netlinkRecv(t, f.RDI, f.RSI, f.RDX, f.R8, f.R9)
	}
	return forwardOn(t, f.RDI, f.RSI, f.RDX, 1, f.R8, sockaddrMax, 1, f.R9, 4, 1)
}

// msghdrOK checks a struct msghdr and everything it points at: the name,
// the iovecs and the control buffer.
func msghdrOK(addr uintptr, write bool) bool {
	var h [56]byte
	if !copyIn(h[:], addr) {
		return false
	}
	name := *(*uint64)(unsafe.Pointer(&h[0]))
	namelen := uint64(*(*uint32)(unsafe.Pointer(&h[8])))
	iov := *(*uint64)(unsafe.Pointer(&h[16]))
	iovlen := *(*uint64)(unsafe.Pointer(&h[24]))
	control := *(*uint64)(unsafe.Pointer(&h[32]))
	controllen := *(*uint64)(unsafe.Pointer(&h[40]))
	return (name == 0 || userOK(uintptr(name), uintptr(namelen), write)) &&
		iovecsOK(uintptr(iov), iovlen, write) &&
		(control == 0 || userOK(uintptr(control), uintptr(controllen), write)) &&
		(!write || userOK(addr, 56, true))
}

func sysSendmsg(t *thread, f *Frame) int64 {
	if !msghdrOK(uintptr(f.RSI), false) {
		return errno(linux.EFAULT)
	}
	if isUnixgram(f.RDI) {
		return dgramMsg(t, f, true)
	}
	if isUnix(f.RDI) {
		return unixMsg(t, f, true)
	}
	return forwardOn(t, f.RDI)
}

func sysRecvmsg(t *thread, f *Frame) int64 {
	if !msghdrOK(uintptr(f.RSI), true) {
		return errno(linux.EFAULT)
	}
	if isUnixgram(f.RDI) {
		return dgramMsg(t, f, false)
	}
	if isUnix(f.RDI) {
		return unixMsg(t, f, false)
	}
	return forwardOn(t, f.RDI)
}

// socketRW forwards read, write, readv and writev on a socket, whose
// buffers the caller checked.
func socketRW(t *thread, e *fdEntry) int64 {
	t.svcFD = -1
	return forward(t, e.obj, -1)
}

// socketClosed queues the closing of a socket whose last descriptor went.
func socketClosed(s int32) {
	h := handle(s)
	sockets[s].used = false
	if serviceUp() && !enqueueRequest(serviceRequest{TID: -1, Nr: linux.SYS_CLOSE, Socket: h, NewSock: -1}) {
		logRecord().s("socket service queue full: a closed socket stays open in the service").nl()
	}
}

// sysMoteServiceFD registers the caller as the socket service and returns
// the eventfd that tells it requests are waiting.
func sysMoteServiceFD(t *thread, f *Frame) int64 {
	if serviceUp() {
		return errno(linux.EBUSY)
	}
	fd, i := kernelEventfd()
	if i >= 0 {
		serviceEvent = i
	}
	return fd
}

// sysMoteNextRequest hands the service the next queued request.
func sysMoteNextRequest(t *thread, f *Frame) int64 {
	if qN == 0 {
		return errno(linux.EAGAIN)
	}
	r := &queue[qHead]
	if !copyOut(uintptr(f.RDI), (*[unsafe.Sizeof(serviceRequest{})]byte)(unsafe.Pointer(r))[:]) {
		return errno(linux.EFAULT)
	}
	qHead = (qHead + 1) % queueLen
	qN--
	return 0
}

// sysMoteComplete finishes a forwarded call: thread tid returns result. For
// socket and accept4, success returns the descriptor made for the call.
func sysMoteComplete(t *thread, f *Frame) int64 {
	w := threadByTID(int32(f.RDI))
	if w == nil || w.state != tsBlocked || w.wait != waitService {
		return errno(linux.ESRCH)
	}
	result := int64(f.RSI)
	if w.svcFD >= 0 {
		if result >= 0 {
			result = int64(w.svcFD) // accept4 made this descriptor
		} else {
			// accept4 failed (EAGAIN, most often): its descriptor and socket go.
			fds[w.svcFD] = fdEntry{}
			sockets[w.svcNewSock].used = false
		}
	}
	w.svcFD = -1
	wake(w, uint64(result))
	return 0
}

// sysMoteSetAddr records a socket's own address (which 0) or its peer's (1).
func sysMoteSetAddr(t *thread, f *Frame) int64 {
	which, n := f.RSI, f.R10
	s, ok := fromHandle(f.RDI)
	if !ok {
		return errno(linux.EBADF) // closed meanwhile: nothing to record
	}
	if which > 1 || n > sockaddrMax {
		return errno(linux.EINVAL)
	}
	sk := &sockets[s]
	dst, dn := &sk.local, &sk.localN
	if which == 1 {
		dst, dn = &sk.peer, &sk.peerN
	}
	if !copyIn(dst[:n], uintptr(f.RDX)) {
		return errno(linux.EFAULT)
	}
	*dn = uint32(n)
	return 0
}

// sysMoteSetReady records the readiness of a socket, as epoll reports it.
func sysMoteSetReady(t *thread, f *Frame) int64 {
	s, ok := fromHandle(f.RDI)
	if !ok {
		return errno(linux.EBADF) // closed meanwhile: nothing to record
	}
	sockets[s].ready = uint32(f.RSI)
	sockets[s].gen++
	wakePollers()
	return 0
}

// serviceCall dispatches the socket service's own system calls.
func serviceCall(t *thread, f *Frame, nr uint64) int64 {
	switch nr {
	case nrMoteServiceFD:
		return sysMoteServiceFD(t, f)
	case nrMoteNextRequest:
		return sysMoteNextRequest(t, f)
	case nrMoteComplete:
		return sysMoteComplete(t, f)
	case nrMoteSetAddr:
		return sysMoteSetAddr(t, f)
	case nrMoteNetOpen:
		return sysMoteNetOpen(t, f)
	case nrMoteNetRecv:
		return sysMoteNetRecv(t, f)
	case nrMoteNetSend:
		return sysMoteNetSend(t, f)
	case nrMoteNetConfig:
		return sysMoteNetConfig(t, f)
	}
	return sysMoteSetReady(t, f)
}

// unixBuf serves sendto and recvfrom on a unix stream socket: the address,
// if any, is ignored, as on Linux for a connected stream.
func unixBuf(t *thread, f *Frame, write bool) int64 {
	buf, ok := userBytes(uintptr(f.RSI), uintptr(f.RDX), !write)
	if !ok {
		return errno(linux.EFAULT)
	}
	return unixIO(t, getFD(f.RDI), buf, write)
}

// unixMsg serves sendmsg and recvmsg on a unix stream socket (the msghdr
// was checked): the iovecs carry the data; no name, no control messages.
func unixMsg(t *thread, f *Frame, write bool) int64 {
	hdr := uintptr(f.RSI)
	iov, _ := readU64(hdr + 16)
	n, _ := readU64(hdr + 24)
	v := Frame{RDI: f.RDI, RSI: iov, RDX: n}
	r := vectorIO(t, &v, write)
	if !write && r >= 0 && t.state == tsRunning {
		writeU32(hdr+8, 0)  // msg_namelen
		writeU64(hdr+40, 0) // msg_controllen
		writeU32(hdr+48, 0) // msg_flags
	}
	return r
}

// sysSendfile implements sendfile(2) from a file to a TCP or UDP socket: the
// service reads the file through the kernel and sends what netstack takes.
// Other destinations get EINVAL, which Go (and most programs) answer by
// copying with read and write.
func sysSendfile(t *thread, f *Frame) int64 {
	out, in, offp := f.RDI, f.RSI, f.RDX
	ie := getFD(in)
	if ie == nil || getFD(out) == nil {
		return errno(linux.EBADF)
	}
	if ie.kind != fkFile || ie.flags&linux.O_ACCMODE == linux.O_WRONLY {
		return errno(linux.EINVAL)
	}
	if getFD(out).kind != fkSocket {
		return errno(linux.EINVAL)
	}
	if offp != 0 && !userOK(uintptr(offp), 8, true) {
		return errno(linux.EFAULT)
	}
	return forwardOn(t, out)
}
