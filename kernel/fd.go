package kernel

import "mote.dev/mote/kernel/abi/linux"

// The descriptor table and the kernel's own file objects: the console,
// eventfds and epoll instances, which Go's runtime needs for its timers and
// network poller from its first moments.

const maxFDs = 1024

type fileKind uint8

const (
	fkNone fileKind = iota
	fkConsole
	fkEventfd
	fkEpoll
	fkPipeRead
	fkPipeWrite
	fkFile
	fkSocket
	fkUnix
	fkNetlink
	fkVolume // a file on a volume (sys_volume.go)
)

type fdEntry struct {
	kind    fileKind
	cloexec bool
	flags   uint64 // O_ACCMODE, O_NONBLOCK, O_APPEND
	obj     int32  // index in the pool of kind
}

var fds = [maxFDs]fdEntry{
	{kind: fkConsole, obj: 0, flags: linux.O_RDWR},
	{kind: fkConsole, obj: 1, flags: linux.O_RDWR},
	{kind: fkConsole, obj: 2, flags: linux.O_RDWR},
}

func getFD(fd uint64) *fdEntry {
	if fd >= maxFDs || fds[fd].kind == fkNone {
		return nil
	}
	return &fds[fd]
}

// allocFD returns the lowest free descriptor, or -1.
func allocFD(kind fileKind, obj int32, flags uint64, cloexec bool) int64 {
	limit := rlimit(linux.RLIMIT_NOFILE)[0]
	for i := range fds {
		if uint64(i) >= limit {
			break
		}
		if fds[i].kind == fkNone {
			fds[i] = fdEntry{kind: kind, obj: obj, flags: flags, cloexec: cloexec}
			return int64(i)
		}
	}
	return -1
}

// refs counts descriptors per object, so an object lives while any
// descriptor (or dup of one) names it.
func objRefs(kind fileKind, obj int32) int {
	n := 0
	for i := range fds {
		if fds[i].kind == kind && fds[i].obj == obj {
			n++
		}
	}
	return n
}

// sysClose implements close(2).
func sysClose(t *thread, f *Frame) int64 {
	if getFD(f.RDI) == nil {
		return errno(linux.EBADF)
	}
	closeFD(f.RDI)
	return 0
}

// closeFD frees descriptor fd and, with its last descriptor, the object.
func closeFD(fd uint64) {
	e := &fds[fd]
	kind, obj := e.kind, e.obj
	*e = fdEntry{}
	last := objRefs(kind, obj) == 0
	locksClosed(kind, obj, last)
	if last {
		switch kind {
		case fkEventfd:
			eventfds[obj] = eventfd{}
		case fkEpoll:
			epolls[obj].used = false
		case fkPipeRead, fkPipeWrite:
			pipeClosed(kind, obj)
		case fkFile:
			closeFile(obj)
		case fkSocket:
			socketClosed(obj)
		case fkUnix:
			unixClosed(obj)
		case fkNetlink:
			netlinks[obj].used = false
		case fkVolume:
			volClosed(obj)
		}
		epollForget(int32(fd))
	}
}

// sysFcntl implements fcntl(2) for descriptor and status flags, and locks
// (sys_lock.go).
func sysFcntl(t *thread, f *Frame) int64 {
	e := getFD(f.RDI)
	if e == nil {
		return errno(linux.EBADF)
	}
	switch f.RSI {
	case linux.F_GETFD:
		if e.cloexec {
			return linux.FD_CLOEXEC
		}
		return 0
	case linux.F_SETFD:
		e.cloexec = f.RDX&linux.FD_CLOEXEC != 0
		return 0
	case linux.F_GETFL:
		return int64(e.flags)
	case linux.F_SETFL:
		e.flags = e.flags&linux.O_ACCMODE | f.RDX&(linux.O_NONBLOCK|linux.O_APPEND)
		return 0
	case linux.F_GETLK, linux.F_SETLK, linux.F_SETLKW, linux.F_OFD_GETLK, linux.F_OFD_SETLK, linux.F_OFD_SETLKW:
		return sysFcntlLock(t, e, f.RSI, uintptr(f.RDX))
	case linux.F_DUPFD, linux.F_DUPFD_CLOEXEC:
		for i := f.RDX; i < maxFDs; i++ {
			if fds[i].kind == fkNone {
				fds[i] = *e
				fds[i].cloexec = f.RSI == linux.F_DUPFD_CLOEXEC
				return int64(i)
			}
		}
		return errno(linux.EMFILE)
	}
	return errno(linux.EINVAL)
}

// Readiness, as epoll reports it.
const (
	epollIn      = 0x1
	epollOut     = 0x4
	epollErr     = 0x8
	epollHup     = 0x10
	epollRdHup   = 0x2000
	epollOneShot = 1 << 30
	epollET      = 1 << 31
)

// pollState returns the events fd is ready for and a generation that
// changes whenever its state does (for edge-triggered reporting).
func pollState(fd int32) (uint32, uint64) {
	e := getFD(uint64(fd))
	if e == nil {
		return 0, 0
	}
	switch e.kind {
	case fkConsole:
		ev := uint32(epollOut)
		if e.obj == 0 && stdinReady() {
			ev |= epollIn
		}
		return ev, stdinGen
	case fkEventfd:
		ef := &eventfds[e.obj]
		ev := uint32(0)
		if ef.count > 0 {
			ev |= epollIn
		}
		if ef.count < maxEventfd {
			ev |= epollOut
		}
		return ev, ef.gen
	case fkPipeRead, fkPipeWrite:
		return pipePoll(e)
	case fkSocket:
		return sockets[e.obj].ready, sockets[e.obj].gen
	case fkUnix:
		return unixPoll(e.obj)
	case fkNetlink:
		return netlinkPoll(e.obj)
	}
	return 0, 0
}

// wakePollers restarts the threads waiting in epoll or on an eventfd: a
// file's state changed.
func wakePollers() {
	for i := 0; i < hiThread; i++ {
		w := &threads[i]
		if w.state == tsBlocked && (w.wait == waitPoll) {
			wakeRestart(w)
		}
	}
}
