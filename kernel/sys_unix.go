package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// Unix-domain stream sockets, served in the kernel like pipes (as gVisor's
// sentry keeps them apart from netstack): a connection is two pipes, one
// each way; a listener keeps a queue of connections not yet accepted; a
// bound socket has a name in the file system, a socket inode.

const (
	afUnix         = 1
	maxUnixSockets = 256
	unixBacklog    = 128
	sunPathMax     = 108
)

const (
	usUnbound = iota
	usBound
	usListening
	usConnected
)

type unixSocket struct {
	used    bool
	state   uint8
	path    [sunPathMax]byte
	pathN   int
	peer    int32 // the other end of a connection
	rx, tx  int32 // pipes: read from rx, write to tx
	queue   [unixBacklog]int32
	qHead   int
	qN      int
	backlog int
	gen     uint64
	life    uint32 // counts the slot's sockets, so a stale peer index is caught

	dgram    bool       // SOCK_DGRAM: messages in dq, sent to a name or the peer
	dq       dgramQueue // received messages
	peerLife uint32     // the peer's life when connect chose it
	// seqpacket: SOCK_SEQPACKET, connected like a stream socket, its data in
	// messages (dq) as for SOCK_DGRAM; rdShut and wrShut record shutdown.
	seqpacket      bool
	rdShut, wrShut bool
}

var unixSockets [maxUnixSockets]unixSocket

func newUnixSocket() int32 {
	for i := range unixSockets {
		if !unixSockets[i].used {
			life := unixSockets[i].life + 1
			unixSockets[i] = unixSocket{used: true, peer: -1, rx: -1, tx: -1, life: life}
			return int32(i)
		}
	}
	return -1
}

// unixSocketCall makes the socket for socket(AF_UNIX, SOCK_STREAM, SOCK_DGRAM or
// SOCK_SEQPACKET, 0).
func unixSocketCall(typ, proto uint64) int64 {
	if typ&^(sockTypeMask|linux.O_NONBLOCK|linux.O_CLOEXEC) != 0 {
		return errno(linux.EINVAL)
	}
	if t := typ & sockTypeMask; t != sockStream && t != sockDgram && t != sockSeqpacket {
		return errno(linux.ESOCKTNOSUPPORT)
	}
	if proto != 0 {
		return errno(linux.EPROTONOSUPPORT)
	}
	s := newUnixSocket()
	if s < 0 {
		return errno(linux.ENFILE)
	}
	unixSockets[s].dgram = typ&sockTypeMask == sockDgram
	unixSockets[s].seqpacket = typ&sockTypeMask == sockSeqpacket
	fd := allocFD(fkUnix, s, linux.O_RDWR|typ&linux.O_NONBLOCK, typ&linux.O_CLOEXEC != 0)
	if fd < 0 {
		unixSockets[s].used = false
		return errno(linux.EMFILE)
	}
	return fd
}

func unixOf(fd uint64) (*unixSocket, int32, linux.Errno) {
	e := getFD(fd)
	if e == nil {
		return nil, -1, linux.EBADF
	}
	if e.kind != fkUnix {
		return nil, -1, linux.ENOTSOCK
	}
	return &unixSockets[e.obj], e.obj, 0
}

// sunPath reads the path of a sockaddr_un at addr.
func sunPath(addr, n uint64, buf *[sunPathMax]byte) ([]byte, linux.Errno) {
	if n < 3 || n > 2+sunPathMax {
		return nil, linux.EINVAL
	}
	var sa [2 + sunPathMax]byte
	if !copyIn(sa[:n], uintptr(addr)) {
		return nil, linux.EFAULT
	}
	if *(*uint16)(unsafe.Pointer(&sa[0])) != afUnix {
		return nil, linux.EINVAL
	}
	if sa[2] == 0 {
		// An abstract name: a leading NUL, then every byte addrlen covers.
		k := copy(buf[:], sa[2:n])
		return buf[:k], 0
	}
	p := cstr(sa[2:n])
	k := copy(buf[:], p)
	return buf[:k], 0
}

// findSocket finds the socket bound to a name: a socket inode in the file
// system, or an abstract name (a leading NUL), which lives only as long as
// its socket.
func findSocket(p []byte) (int32, linux.Errno) {
	if p[0] == 0 {
		for i := range unixSockets {
			u := &unixSockets[i]
			if u.used && u.state != usUnbound && bytesEqual(u.path[:u.pathN], p) {
				return int32(i), 0
			}
		}
		return -1, linux.ECONNREFUSED
	}
	r, e := resolve(cwdIno, p, true)
	if e != 0 {
		return -1, e
	}
	if r.ino < 0 {
		return -1, linux.ENOENT
	}
	if inodes[r.ino].mode&sIFMT != sIFSOCK {
		return -1, linux.ECONNREFUSED
	}
	i := inodes[r.ino].usock - 1
	if i < 0 || !unixSockets[i].used {
		return -1, linux.ECONNREFUSED
	}
	return i, 0
}

// autobindSeq numbers the names autobind gives, five hex digits as Linux's.
var autobindSeq uint32

// bindAbstract binds u to the abstract name p (p[0] == 0).
func bindAbstract(u *unixSocket, p []byte) int64 {
	if _, e := findSocket(p); e == 0 {
		return errno(linux.EADDRINUSE)
	}
	u.pathN = copy(u.path[:], p)
	u.state = usBound
	return 0
}

// autobind gives u an unused abstract name, as bind with only the family
// does on Linux.
func autobind(u *unixSocket) int64 {
	const hex = "0123456789abcdef"
	for try := 0; try < 1<<20; try++ {
		autobindSeq = (autobindSeq + 1) & 0xfffff
		var name [6]byte
		for i := 5; i > 0; i-- {
			name[i] = hex[autobindSeq>>(4*(5-i))&0xf]
		}
		if _, e := findSocket(name[:]); e != 0 {
			u.pathN = copy(u.path[:], name[:])
			u.state = usBound
			return 0
		}
	}
	return errno(linux.EADDRINUSE)
}

func unixBind(fd, addr, n uint64) int64 {
	u, s, e := unixOf(fd)
	if e != 0 {
		return errno(e)
	}
	if u.state != usUnbound {
		return errno(linux.EINVAL)
	}
	if n == 2 {
		var fam [2]byte
		if !copyIn(fam[:], uintptr(addr)) {
			return errno(linux.EFAULT)
		}
		if fam[0] == afUnix && fam[1] == 0 {
			return autobind(u)
		}
	}
	var pb [sunPathMax]byte
	p, e := sunPath(addr, n, &pb)
	if e != 0 {
		return errno(e)
	}
	if p[0] == 0 {
		return bindAbstract(u, p)
	}
	r, e := resolve(cwdIno, p, false)
	if e != 0 {
		return errno(e)
	}
	if r.ino >= 0 || r.viaLink {
		return errno(linux.EADDRINUSE)
	}
	if r.dir < 0 || len(r.last) == 0 {
		return errno(linux.ENOENT)
	}
	ino, e := createIn(r.dir, r.last, sIFSOCK|0o777&^umask)
	if e != 0 {
		return errno(e)
	}
	inodes[ino].usock = s + 1
	u.pathN = copy(u.path[:], p)
	u.state = usBound
	return 0
}

func unixListen(fd, backlog uint64) int64 {
	u, _, e := unixOf(fd)
	if e != 0 {
		return errno(e)
	}
	if u.dgram {
		return errno(linux.EOPNOTSUPP)
	}
	if u.state != usBound && u.state != usListening {
		return errno(linux.EINVAL)
	}
	u.state = usListening
	u.backlog = int(int32(backlog))
	if u.backlog < 1 || u.backlog > unixBacklog {
		u.backlog = unixBacklog
	}
	return 0
}

func newPipe() int32 {
	for i := range pipes {
		if !pipes[i].used {
			pipes[i] = pipe{used: true, readers: 1, writers: 1}
			return int32(i)
		}
	}
	return -1
}

// sysSocketpair implements socketpair(2): two unix stream sockets connected
// to each other, as connect and accept would leave them, without names.
func sysSocketpair(t *thread, f *Frame) int64 {
	domain, typ, proto, sv := f.RDI, f.RSI, f.RDX, f.R10
	if domain != afUnix {
		return errno(linux.EOPNOTSUPP) // Linux: only AF_UNIX has socket pairs
	}
	if typ&^(sockTypeMask|linux.O_NONBLOCK|linux.O_CLOEXEC) != 0 {
		return errno(linux.EINVAL)
	}
	kind := typ & sockTypeMask
	if kind != sockStream && kind != sockDgram && kind != sockSeqpacket {
		return errno(linux.ESOCKTNOSUPPORT)
	}
	if proto != 0 {
		return errno(linux.EPROTONOSUPPORT)
	}
	if !userOK(uintptr(sv), 8, true) {
		return errno(linux.EFAULT)
	}
	if kind != sockStream {
		return messagePair(sv, typ)
	}
	a, b := newUnixSocket(), newUnixSocket()
	ab, ba := newPipe(), newPipe()
	var fa, fb int64 = -1, -1
	if a >= 0 && b >= 0 && ab >= 0 && ba >= 0 {
		flags := linux.O_RDWR | typ&linux.O_NONBLOCK
		fa = allocFD(fkUnix, a, flags, typ&linux.O_CLOEXEC != 0)
		if fa >= 0 {
			if fb = allocFD(fkUnix, b, flags, typ&linux.O_CLOEXEC != 0); fb < 0 {
				fds[fa] = fdEntry{}
			}
		}
	}
	if fb < 0 {
		for _, s := range [2]int32{a, b} {
			if s >= 0 {
				unixSockets[s].used = false
			}
		}
		for _, p := range [2]int32{ab, ba} {
			if p >= 0 {
				pipes[p].used = false
			}
		}
		if a < 0 || b < 0 || ab < 0 || ba < 0 {
			return errno(linux.ENFILE)
		}
		return errno(linux.EMFILE)
	}
	ua, ub := &unixSockets[a], &unixSockets[b]
	ua.state, ua.peer, ua.rx, ua.tx = usConnected, b, ba, ab
	ub.state, ub.peer, ub.rx, ub.tx = usConnected, a, ab, ba
	pair := [2]int32{int32(fa), int32(fb)}
	if !copyOut(uintptr(sv), unsafe.Slice((*byte)(unsafe.Pointer(&pair[0])), 8)) {
		return errno(linux.EFAULT) // checked above; a racing unmap is the app's own doing
	}
	return 0
}

// messagePair makes a socketpair of SOCK_DGRAM or SOCK_SEQPACKET sockets:
// each the other's peer, their data in messages.
func messagePair(sv, typ uint64) int64 {
	a, b := newUnixSocket(), newUnixSocket()
	var fa, fb int64 = -1, -1
	if a >= 0 && b >= 0 {
		flags := linux.O_RDWR | typ&linux.O_NONBLOCK
		if fa = allocFD(fkUnix, a, flags, typ&linux.O_CLOEXEC != 0); fa >= 0 {
			if fb = allocFD(fkUnix, b, flags, typ&linux.O_CLOEXEC != 0); fb < 0 {
				fds[fa] = fdEntry{}
			}
		}
	}
	if fb < 0 {
		for _, s := range [2]int32{a, b} {
			if s >= 0 {
				unixSockets[s].used = false
			}
		}
		if a < 0 || b < 0 {
			return errno(linux.ENFILE)
		}
		return errno(linux.EMFILE)
	}
	ua, ub := &unixSockets[a], &unixSockets[b]
	seq := typ&sockTypeMask == sockSeqpacket
	ua.dgram, ua.seqpacket, ua.peer, ua.peerLife = !seq, seq, b, ub.life
	ub.dgram, ub.seqpacket, ub.peer, ub.peerLife = !seq, seq, a, ua.life
	if seq {
		ua.state, ub.state = usConnected, usConnected
	}
	pair := [2]int32{int32(fa), int32(fb)}
	if !copyOut(uintptr(sv), unsafe.Slice((*byte)(unsafe.Pointer(&pair[0])), 8)) {
		return errno(linux.EFAULT)
	}
	return 0
}

func unixConnect(fd, addr, n uint64) int64 {
	u, s, e := unixOf(fd)
	if e != 0 {
		return errno(e)
	}
	if u.dgram {
		return dgramConnect(u, addr, n)
	}
	if u.state == usConnected {
		return errno(linux.EISCONN)
	}
	if u.state == usListening {
		return errno(linux.EINVAL)
	}
	var pb [sunPathMax]byte
	p, e := sunPath(addr, n, &pb)
	if e != 0 {
		return errno(e)
	}
	li, e := findSocket(p)
	if e != 0 {
		return errno(e)
	}
	if unixSockets[li].dgram {
		return errno(linux.EPROTOTYPE)
	}
	if unixSockets[li].state != usListening {
		return errno(linux.ECONNREFUSED)
	}
	l := &unixSockets[li]
	if l.seqpacket != u.seqpacket {
		return errno(linux.EPROTOTYPE)
	}
	if l.qN >= l.backlog {
		return errno(linux.EAGAIN) // Linux: the listener's queue is full
	}
	srv := newUnixSocket()
	if srv < 0 {
		return errno(linux.ENFILE)
	}
	if u.seqpacket {
		// Messages go straight into the other end's queue: no pipes.
		sv := &unixSockets[srv]
		sv.seqpacket = true
		sv.state, sv.peer, sv.peerLife = usConnected, s, u.life
		sv.pathN = copy(sv.path[:], l.path[:l.pathN])
		u.state, u.peer, u.peerLife = usConnected, srv, sv.life
		l.queue[(l.qHead+l.qN)%unixBacklog] = srv
		l.qN++
		l.gen++
		wakePollers()
		return 0
	}
	up, down := newPipe(), newPipe()
	if up < 0 || down < 0 {
		if up >= 0 {
			pipes[up].used = false
		}
		unixSockets[srv].used = false
		return errno(linux.ENFILE)
	}
	sv := &unixSockets[srv]
	sv.state, sv.peer, sv.rx, sv.tx = usConnected, s, up, down
	sv.pathN = copy(sv.path[:], l.path[:l.pathN])
	u.state, u.peer, u.rx, u.tx = usConnected, srv, down, up
	l.queue[(l.qHead+l.qN)%unixBacklog] = srv
	l.qN++
	l.gen++
	wakePollers()
	return 0
}

func unixAccept(t *thread, fd, addr, addrlen, flags uint64) int64 {
	u, _, e := unixOf(fd)
	if e != 0 {
		return errno(e)
	}
	if u.dgram {
		return errno(linux.EOPNOTSUPP)
	}
	if u.state != usListening {
		return errno(linux.EINVAL)
	}
	if u.qN == 0 {
		if getFD(fd).flags&linux.O_NONBLOCK != 0 {
			return errno(linux.EAGAIN)
		}
		block(t, waitPoll, 0, 0)
		return 0
	}
	c := u.queue[u.qHead]
	nfd := allocFD(fkUnix, c, linux.O_RDWR|flags&linux.O_NONBLOCK, flags&linux.O_CLOEXEC != 0)
	if nfd < 0 {
		return errno(linux.EMFILE)
	}
	u.qHead = (u.qHead + 1) % unixBacklog
	u.qN--
	u.gen++
	if addr != 0 {
		// The connecting socket is unbound: its name is the family alone.
		sa := [2]byte{afUnix, 0}
		if !copyOutLen(addr, addrlen, sa[:]) {
			return errno(linux.EFAULT)
		}
	}
	return nfd
}

// unixName writes the socket's name (or its peer's) as sockaddr_un.
func unixName(u *unixSocket, peer bool, addr, addrlen uint64) int64 {
	src := u
	if peer {
		if u.dgram && (u.peer < 0 || unixSockets[u.peer].life != u.peerLife) || !u.dgram && u.state != usConnected {
			return errno(linux.ENOTCONN)
		}
		src = &unixSockets[u.peer]
	}
	var sa sockaddrUn
	if !copyOutLen(addr, addrlen, sa.of(src.path[:src.pathN])) {
		return errno(linux.EFAULT)
	}
	return 0
}

// sockaddrUn holds a struct sockaddr_un.
type sockaddrUn [2 + sunPathMax + 1]byte

// of fills sa for a socket named name and returns its bytes: the family
// alone for an unnamed socket, a path with its NUL, an abstract name (a
// leading NUL) without one.
func (sa *sockaddrUn) of(name []byte) []byte {
	sa[0], sa[1] = afUnix, 0
	n := 2 + copy(sa[2:], name)
	if len(name) > 0 && name[0] != 0 {
		sa[n] = 0
		n++
	}
	return sa[:n]
}

// unixIO reads or writes a connected socket through its pipes.
func unixIO(t *thread, e *fdEntry, buf []byte, write bool) int64 {
	u := &unixSockets[e.obj]
	if u.dgram || u.seqpacket {
		if write {
			return dgramSend(t, e, buf, 0, 0)
		}
		r, _ := dgramRecv(t, e, buf, 0, 0, false)
		return r
	}
	if u.state != usConnected {
		return errno(linux.ENOTCONN)
	}
	pe := fdEntry{kind: fkPipeRead, obj: u.rx, flags: e.flags}
	if write {
		pe = fdEntry{kind: fkPipeWrite, obj: u.tx, flags: e.flags}
		if pipes[u.tx].writers == 0 {
			sendSignal(t, linux.SIGPIPE, linux.SI_USER, tidBase)
			return errno(linux.EPIPE) // shut down for writing
		}
		return pipeWrite(t, &pe, buf)
	}
	if pipes[u.rx].readers == 0 {
		return 0 // shut down for reading
	}
	return pipeRead(t, &pe, buf)
}

func unixShutdown(fd, how uint64) int64 {
	u, _, e := unixOf(fd)
	if e != 0 {
		return errno(e)
	}
	if u.state != usConnected {
		return errno(linux.ENOTCONN)
	}
	if how > 2 {
		return errno(linux.EINVAL)
	}
	if u.seqpacket {
		u.rdShut = u.rdShut || how != 1
		u.wrShut = u.wrShut || how != 0
		seqpacketChanged(u)
		return 0
	}
	if how != 1 && pipes[u.rx].readers != 0 {
		pipeClosed(fkPipeRead, u.rx)
	}
	if how != 0 && pipes[u.tx].writers != 0 {
		pipeClosed(fkPipeWrite, u.tx)
	}
	return 0
}

// unixClosed releases a socket whose last descriptor went: its pipe ends,
// and for a listener, the connections nobody accepted.
func unixClosed(s int32) {
	u := &unixSockets[s]
	dgramClosed(u)
	if u.seqpacket && u.state == usConnected {
		seqpacketChanged(u)
	}
	if u.state == usConnected && !u.seqpacket {
		if pipes[u.rx].readers != 0 {
			pipeClosed(fkPipeRead, u.rx)
		}
		if pipes[u.tx].writers != 0 {
			pipeClosed(fkPipeWrite, u.tx)
		}
	}
	for u.qN > 0 {
		c := u.queue[u.qHead]
		u.qHead = (u.qHead + 1) % unixBacklog
		u.qN--
		unixClosed(c)
	}
	for i := range inodes {
		if inodes[i].used && inodes[i].usock == s+1 {
			inodes[i].usock = 0 // the name stays; connecting to it is refused
		}
	}
	u.used = false
}

func unixPoll(s int32) (uint32, uint64) {
	u := &unixSockets[s]
	if u.dgram {
		return dgramPoll(u)
	}
	if u.seqpacket && u.state == usConnected {
		return seqpacketPoll(u)
	}
	switch u.state {
	case usListening:
		if u.qN > 0 {
			return epollIn, u.gen
		}
		return 0, u.gen
	case usConnected:
		rx, tx := &pipes[u.rx], &pipes[u.tx]
		ev := uint32(0)
		if rx.n > 0 {
			ev |= epollIn
		}
		if rx.writers == 0 {
			ev |= epollIn | epollRdHup
		}
		if tx.n < pipeSize && tx.readers != 0 {
			ev |= epollOut
		}
		if tx.readers == 0 {
			ev |= epollOut | epollErr
		}
		if rx.writers == 0 && tx.readers == 0 {
			ev |= epollHup
		}
		return ev, u.gen + rx.gen + tx.gen
	}
	return epollOut | epollHup, u.gen
}

func unixGetsockopt(fd, level, name, addr, lenp uint64) int64 {
	if _, _, e := unixOf(fd); e != 0 {
		return errno(e)
	}
	const solSocket, soType, soError, soDomain, soProtocol = 1, 3, 4, 39, 38
	if level != solSocket {
		return errno(linux.ENOPROTOOPT)
	}
	var v uint32
	switch name {
	case soType:
		v = sockStream
		if unixSockets[getFD(fd).obj].dgram {
			v = sockDgram
		}
		if unixSockets[getFD(fd).obj].seqpacket {
			v = sockSeqpacket
		}
	case soError, soProtocol:
		v = 0
	case soDomain:
		v = afUnix
	default:
		return errno(linux.ENOPROTOOPT)
	}
	if !copyOutLen(addr, lenp, (*[4]byte)(unsafe.Pointer(&v))[:]) {
		return errno(linux.EFAULT)
	}
	return 0
}
