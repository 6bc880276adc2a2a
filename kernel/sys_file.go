package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/arch/amd64"
)

// read(2), write(2) and their vector forms, dispatched on the kind of the
// descriptor: the console, a file, a pipe or an eventfd.

// readFD reads into buf from descriptor e, at its offset.
func readFD(t *thread, e *fdEntry, buf []byte) int64 {
	switch e.kind {
	case fkConsole:
		return consoleRead(t, e, buf)
	case fkFile:
		of := &openFiles[e.obj]
		return fileRead(of, buf, of.off, true)
	case fkPipeRead:
		return pipeRead(t, e, buf)
	case fkEventfd:
		return eventfdRead(t, e, buf)
	case fkUnix:
		return unixIO(t, e, buf, false)
	case fkVolume:
		return volRW(t, e, bufAddr(buf), uint64(len(buf)), 0, true, false)
	case fkNetlink:
		return errno(linux.EOPNOTSUPP) // recvfrom, which Go's netlink code uses
	case fkPipeWrite:
		return errno(linux.EBADF) // not open for reading
	}
	return errno(linux.EINVAL)
}

// writeFD writes buf to descriptor e, at its offset.
func writeFD(t *thread, e *fdEntry, buf []byte) int64 {
	switch e.kind {
	case fkConsole:
		if e.obj == 0 {
			return errno(linux.EBADF) // stdin is the read side of COM1
		}
		uartWrite(consolePort(e), buf)
		return int64(len(buf))
	case fkFile:
		of := &openFiles[e.obj]
		return fileWrite(of, buf, of.off, true)
	case fkPipeWrite:
		return pipeWrite(t, e, buf)
	case fkEventfd:
		return eventfdWrite(t, e, buf)
	case fkUnix:
		return unixIO(t, e, buf, true)
	case fkVolume:
		return volRW(t, e, bufAddr(buf), uint64(len(buf)), 0, true, true)
	case fkNetlink:
		return errno(linux.EOPNOTSUPP) // sendto, which Go's netlink code uses
	case fkPipeRead:
		return errno(linux.EBADF) // not open for writing
	}
	return errno(linux.EINVAL)
}

// sysRead implements read(2).
func sysRead(t *thread, f *Frame) int64 {
	e := getFD(f.RDI)
	if e == nil {
		return errno(linux.EBADF)
	}
	if e.kind == fkVolume {
		return volRW(t, e, uintptr(f.RSI), f.RDX, 0, true, false)
	}
	buf, ok := userBytes(uintptr(f.RSI), uintptr(f.RDX), true)
	if !ok {
		return errno(linux.EFAULT)
	}
	if e.kind == fkSocket {
		return socketRW(t, e)
	}
	return readFD(t, e, buf)
}

// sysWrite implements write(2).
func sysWrite(t *thread, f *Frame) int64 {
	e := getFD(f.RDI)
	if e == nil {
		return errno(linux.EBADF)
	}
	if e.kind == fkVolume {
		return volRW(t, e, uintptr(f.RSI), f.RDX, 0, true, true)
	}
	buf, ok := userBytes(uintptr(f.RSI), uintptr(f.RDX), false)
	if !ok {
		return errno(linux.EFAULT)
	}
	if e.kind == fkSocket {
		return socketRW(t, e)
	}
	return writeFD(t, e, buf)
}

// bufAddr is the address of a user buffer already checked.
func bufAddr(b []byte) uintptr {
	if len(b) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&b[0]))
}

const iovMax = 1024

// vectorIO runs rw over the iovecs at iov in order, stopping at the first
// short transfer, as Linux does for the files it serves.
func vectorIO(t *thread, f *Frame, write bool) int64 {
	e := getFD(f.RDI)
	if e == nil {
		return errno(linux.EBADF)
	}
	iov, cnt := uintptr(f.RSI), f.RDX
	if cnt > iovMax {
		return errno(linux.EINVAL)
	}
	if e.kind == fkSocket {
		if !iovecsOK(iov, cnt, !write) {
			return errno(linux.EFAULT)
		}
		return socketRW(t, e)
	}
	total := int64(0)
	for i := uintptr(0); i < uintptr(cnt); i++ {
		if e.kind == fkVolume && total > 0 {
			// One request per call: a reply is kept only until the
			// next, so a second vector would lose the first's data
			// when the call is made again. A short transfer is allowed.
			break
		}
		base, ok1 := readU64(iov + i*16)
		n, ok2 := readU64(iov + i*16 + 8)
		if !ok1 || !ok2 || int64(n) < 0 {
			return errno(linux.EFAULT)
		}
		buf, ok := userBytes(uintptr(base), uintptr(n), !write)
		if !ok {
			if total > 0 {
				return total
			}
			return errno(linux.EFAULT)
		}
		var r int64
		if write {
			r = writeFD(t, e, buf)
		} else {
			r = readFD(t, e, buf)
		}
		if r < 0 || t.state != tsRunning {
			if total > 0 && t.state == tsRunning {
				return total
			}
			return r // an error, or the thread blocked on the first vector
		}
		total += r
		if r < int64(n) {
			break
		}
	}
	return total
}

// sysReadv implements readv(2).
func sysReadv(t *thread, f *Frame) int64 { return vectorIO(t, f, false) }

// sysWritev implements writev(2).
func sysWritev(t *thread, f *Frame) int64 { return vectorIO(t, f, true) }

// iovecsOK checks an iovec array and the buffers it names.
func iovecsOK(iov uintptr, cnt uint64, write bool) bool {
	if cnt > iovMax {
		return false
	}
	for i := uintptr(0); i < uintptr(cnt); i++ {
		base, ok1 := readU64(iov + i*16)
		n, ok2 := readU64(iov + i*16 + 8)
		if !ok1 || !ok2 || int64(n) < 0 || !userOK(uintptr(base), uintptr(n), write) {
			return false
		}
	}
	return true
}

// consoleRead reads standard input, COM1: what has arrived, or it waits for
// the next byte.
func consoleRead(t *thread, e *fdEntry, buf []byte) int64 {
	if e.obj != 0 {
		return errno(linux.EBADF) // stdout and stderr are write-only ports
	}
	if len(buf) == 0 {
		return 0
	}
	n := 0
	for n < len(buf) && amd64.Inb(com1+uartLSR)&lsrDataReady != 0 {
		buf[n] = amd64.Inb(com1 + uartData)
		n++
	}
	if n > 0 {
		return int64(n)
	}
	if e.flags&linux.O_NONBLOCK != 0 {
		return errno(linux.EAGAIN)
	}
	block(t, waitPoll, 0, 0)
	return 0
}

// stdinGen counts the bytes that arrived on standard input, for epoll.
var stdinGen uint64

func stdinReady() bool { return amd64.Inb(com1+uartLSR)&lsrDataReady != 0 }

// stdinInterrupt is COM1's receive interrupt: wake the readers.
func stdinInterrupt() {
	stdinGen++
	wakePollers()
}

func consolePort(e *fdEntry) uint16 {
	if e.obj == 2 {
		return com2
	}
	return com1
}

// statConsole fills a struct stat for the console: a character device.
func statConsole(addr uintptr) int64 {
	var st [144]byte
	*(*uint64)(unsafe.Pointer(&st[16])) = 1              // st_nlink
	*(*uint32)(unsafe.Pointer(&st[24])) = sIFCHR | 0o620 // st_mode
	*(*uint64)(unsafe.Pointer(&st[40])) = 4<<8 | 64      // st_rdev: ttyS0
	*(*int64)(unsafe.Pointer(&st[56])) = 1024            // st_blksize
	if !copyOut(addr, st[:]) {
		return errno(linux.EFAULT)
	}
	return 0
}

// statMode fills a struct stat for a kernel object: a pipe (S_IFIFO), or an
// eventfd or epoll instance, which Linux reports with mode 0600 and no type.
func statMode(addr uintptr, mode uint32) int64 {
	var st [144]byte
	*(*uint64)(unsafe.Pointer(&st[16])) = 1
	*(*uint32)(unsafe.Pointer(&st[24])) = mode
	*(*int64)(unsafe.Pointer(&st[56])) = 4096
	if !copyOut(addr, st[:]) {
		return errno(linux.EFAULT)
	}
	return 0
}

// sysIoctl implements ioctl(2): no descriptor is a terminal.
func sysIoctl(t *thread, f *Frame) int64 {
	if getFD(f.RDI) == nil {
		return errno(linux.EBADF)
	}
	return errno(linux.ENOTTY)
}

// sysSplice implements splice(2) for the descriptors mote has, none of
// which supports splicing: Linux answers EINVAL for such a pair ("the
// target file does not support splicing"), and callers such as Go's
// io.Copy then copy through a buffer.
func sysSplice(t *thread, f *Frame) int64 {
	if getFD(f.RDI) == nil || getFD(f.RDX) == nil {
		return errno(linux.EBADF)
	}
	return errno(linux.EINVAL)
}
