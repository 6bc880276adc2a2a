package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// eventfd and epoll.

const (
	maxEventfd   = 1<<64 - 2
	efdSemaphore = 1
	efdNonblock  = linux.O_NONBLOCK
	efdCloexec   = linux.O_CLOEXEC
)

type eventfd struct {
	used      bool
	semaphore bool
	count     uint64
	gen       uint64
}

var eventfds [256]eventfd

// kernelEventfd makes an eventfd the kernel signals (the socket service's,
// the network device's): non-blocking, close-on-exec. It returns the
// descriptor and the eventfds index.
func kernelEventfd() (int64, int32) {
	for i := range eventfds {
		if !eventfds[i].used {
			fd := allocFD(fkEventfd, int32(i), linux.O_RDWR|linux.O_NONBLOCK, true)
			if fd < 0 {
				return errno(linux.EMFILE), -1
			}
			eventfds[i] = eventfd{used: true}
			return fd, int32(i)
		}
	}
	return errno(linux.ENFILE), -1
}

// signalEventfd makes a kernel eventfd readable and wakes its waiters.
func signalEventfd(i int32) {
	ef := &eventfds[i]
	ef.count++
	ef.gen++
	wakePollers()
}

// sysEventfd2 implements eventfd2(2).
func sysEventfd2(t *thread, f *Frame) int64 {
	flags := f.RSI
	if flags&^(efdSemaphore|efdNonblock|efdCloexec) != 0 {
		return errno(linux.EINVAL)
	}
	for i := range eventfds {
		if !eventfds[i].used {
			fd := allocFD(fkEventfd, int32(i), linux.O_RDWR|flags&efdNonblock, flags&efdCloexec != 0)
			if fd < 0 {
				return errno(linux.EMFILE)
			}
			eventfds[i] = eventfd{used: true, semaphore: flags&efdSemaphore != 0, count: uint64(uint32(f.RDI))}
			return fd
		}
	}
	return errno(linux.ENFILE)
}

// sysEventfd implements eventfd(2).
func sysEventfd(t *thread, f *Frame) int64 {
	f2 := *f
	f2.RSI = 0
	return sysEventfd2(t, &f2)
}

func eventfdRead(t *thread, e *fdEntry, buf []byte) int64 {
	if len(buf) < 8 {
		return errno(linux.EINVAL)
	}
	ef := &eventfds[e.obj]
	if ef.count == 0 {
		if e.flags&linux.O_NONBLOCK != 0 {
			return errno(linux.EAGAIN)
		}
		block(t, waitPoll, 0, 0)
		return 0
	}
	v := ef.count
	if ef.semaphore {
		v = 1
	}
	*(*uint64)(unsafe.Pointer(&buf[0])) = v
	ef.count -= v
	ef.gen++
	wakePollers()
	return 8
}

func eventfdWrite(t *thread, e *fdEntry, buf []byte) int64 {
	if len(buf) < 8 {
		return errno(linux.EINVAL)
	}
	v := *(*uint64)(unsafe.Pointer(&buf[0]))
	if v == ^uint64(0) {
		return errno(linux.EINVAL)
	}
	ef := &eventfds[e.obj]
	if ef.count+v > maxEventfd || ef.count+v < ef.count {
		if e.flags&linux.O_NONBLOCK != 0 {
			return errno(linux.EAGAIN)
		}
		block(t, waitPoll, 0, 0)
		return 0
	}
	ef.count += v
	ef.gen++
	wakePollers()
	return 8
}

type epollItem struct {
	used    bool
	fd      int32
	events  uint32
	data    uint64
	lastGen uint64
	lastEv  uint32
}

type epollInstance struct {
	used  bool
	items [512]epollItem
}

var epolls [8]epollInstance

// sysEpollCreate1 implements epoll_create1(2).
func sysEpollCreate1(t *thread, f *Frame) int64 {
	if f.RDI&^linux.O_CLOEXEC != 0 {
		return errno(linux.EINVAL)
	}
	for i := range epolls {
		if !epolls[i].used {
			fd := allocFD(fkEpoll, int32(i), linux.O_RDWR, f.RDI&linux.O_CLOEXEC != 0)
			if fd < 0 {
				return errno(linux.EMFILE)
			}
			epolls[i] = epollInstance{used: true}
			return fd
		}
	}
	return errno(linux.ENFILE)
}

// sysEpollCreate implements epoll_create(2).
func sysEpollCreate(t *thread, f *Frame) int64 {
	if int32(f.RDI) <= 0 {
		return errno(linux.EINVAL)
	}
	f2 := *f
	f2.RDI = 0
	return sysEpollCreate1(t, &f2)
}

func getEpoll(fd uint64) *epollInstance {
	e := getFD(fd)
	if e == nil || e.kind != fkEpoll {
		return nil
	}
	return &epolls[e.obj]
}

// sysEpollCtl implements epoll_ctl(2).
func sysEpollCtl(t *thread, f *Frame) int64 {
	const ctlAdd, ctlDel, ctlMod = 1, 2, 3
	ep := getEpoll(f.RDI)
	if ep == nil {
		if getFD(f.RDI) == nil {
			return errno(linux.EBADF)
		}
		return errno(linux.EINVAL)
	}
	fd := int32(f.RDX)
	target := getFD(uint64(f.RDX))
	if target == nil {
		return errno(linux.EBADF)
	}
	if uint64(fd) == f.RDI || target.kind == fkEpoll {
		return errno(linux.EINVAL)
	}
	if target.kind == fkFile {
		return errno(linux.EPERM) // files are always ready; Linux refuses to poll them
	}
	var ev struct {
		Events uint32
		Data   uint64
	}
	if f.RSI != ctlDel {
		var b [12]byte
		if !copyIn(b[:], uintptr(f.R10)) {
			return errno(linux.EFAULT)
		}
		ev.Events = *(*uint32)(unsafe.Pointer(&b[0]))
		ev.Data = *(*uint64)(unsafe.Pointer(&b[4]))
	}
	var it *epollItem
	for i := range ep.items {
		if ep.items[i].used && ep.items[i].fd == fd {
			it = &ep.items[i]
			break
		}
	}
	switch f.RSI {
	case ctlAdd:
		if it != nil {
			return errno(linux.EEXIST)
		}
		for i := range ep.items {
			if !ep.items[i].used {
				ep.items[i] = epollItem{used: true, fd: fd, events: ev.Events, data: ev.Data, lastGen: ^uint64(0)}
				return 0
			}
		}
		return errno(linux.ENOSPC)
	case ctlMod:
		if it == nil {
			return errno(linux.ENOENT)
		}
		it.events, it.data, it.lastGen = ev.Events, ev.Data, ^uint64(0)
		return 0
	case ctlDel:
		if it == nil {
			return errno(linux.ENOENT)
		}
		*it = epollItem{}
		return 0
	}
	return errno(linux.EINVAL)
}

// epollForget drops a closed descriptor from every epoll instance, as
// closing the last reference does on Linux.
func epollForget(fd int32) {
	for i := range epolls {
		if !epolls[i].used {
			continue
		}
		for j := range epolls[i].items {
			if epolls[i].items[j].used && epolls[i].items[j].fd == fd {
				epolls[i].items[j] = epollItem{}
			}
		}
	}
}

// sysEpollPwait implements epoll_pwait(2) (the signal mask argument is not
// applied: Go passes none).
func sysEpollPwait(t *thread, f *Frame) int64 {
	ep := getEpoll(f.RDI)
	if ep == nil {
		return errno(linux.EBADF)
	}
	max := int64(int32(f.RDX))
	if max <= 0 || max > 1<<20 {
		return errno(linux.EINVAL)
	}
	out := uintptr(f.RSI)
	if !userOK(out, uintptr(max)*12, true) {
		return errno(linux.EFAULT)
	}
	n := int64(0)
	for i := range ep.items {
		if n == max {
			break
		}
		it := &ep.items[i]
		if !it.used {
			continue
		}
		ev, gen := pollState(it.fd)
		ev &= it.events | epollErr | epollHup
		if ev == 0 {
			continue
		}
		if it.events&epollET != 0 && gen == it.lastGen && ev == it.lastEv {
			continue
		}
		it.lastGen, it.lastEv = gen, ev
		p := out + uintptr(n)*12
		*(*uint32)(unsafe.Pointer(p)) = ev
		*(*uint64)(unsafe.Pointer(p + 4)) = it.data
		n++
		if it.events&epollOneShot != 0 {
			it.events = 0
		}
	}
	if n > 0 {
		return n
	}
	timeout := int64(int32(f.R10))
	if timeout == 0 {
		return 0
	}
	deadline := t.restartDeadline
	if timeout > 0 && deadline == 0 {
		deadline = after(timeout * 1e6)
	}
	block(t, waitPoll, deadline, 0)
	return 0
}

// sysEpollWait implements epoll_wait(2).
func sysEpollWait(t *thread, f *Frame) int64 { return sysEpollPwait(t, f) }
