package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/arch/amd64"
)

// Files. Until the file system serves them, the app has the console on
// descriptors 0-2 and no files: opening any path gives ENOENT.

func consoleFD(fd uint64) bool {
	e := getFD(fd)
	return e != nil && e.kind == fkConsole
}

// sysRead implements read(2).
func sysRead(t *thread, f *Frame) int64 {
	e := getFD(f.RDI)
	if e == nil {
		return errno(linux.EBADF)
	}
	switch e.kind {
	case fkEventfd:
		return eventfdRead(t, e, uintptr(f.RSI), uintptr(f.RDX))
	case fkConsole:
		return consoleRead(t, e, f)
	case fkPipeRead:
		buf, ok := userBytes(uintptr(f.RSI), uintptr(f.RDX), true)
		if !ok {
			return errno(linux.EFAULT)
		}
		return pipeRead(t, e, buf)
	case fkPipeWrite:
		return errno(linux.EBADF) // not open for reading
	}
	return errno(linux.EINVAL)
}

// consoleRead reads standard input, COM1: what has arrived, or it waits for
// the next byte.
func consoleRead(t *thread, e *fdEntry, f *Frame) int64 {
	if e.obj != 0 {
		return errno(linux.EBADF) // stdout and stderr are write-only ports
	}
	buf, ok := userBytes(uintptr(f.RSI), uintptr(f.RDX), true)
	if !ok {
		return errno(linux.EFAULT)
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

// sysWrite implements write(2).
func sysWrite(t *thread, f *Frame) int64 {
	e := getFD(f.RDI)
	if e == nil {
		return errno(linux.EBADF)
	}
	switch e.kind {
	case fkEventfd:
		return eventfdWrite(t, e, uintptr(f.RSI), uintptr(f.RDX))
	case fkConsole:
		buf, ok := userBytes(uintptr(f.RSI), uintptr(f.RDX), false)
		if !ok {
			return errno(linux.EFAULT)
		}
		uartWrite(consolePort(e), buf)
		return int64(len(buf))
	case fkPipeWrite:
		buf, ok := userBytes(uintptr(f.RSI), uintptr(f.RDX), false)
		if !ok {
			return errno(linux.EFAULT)
		}
		return pipeWrite(t, e, buf)
	case fkPipeRead:
		return errno(linux.EBADF) // not open for writing
	}
	return errno(linux.EINVAL)
}

// sysWritev implements writev(2).
func sysWritev(t *thread, f *Frame) int64 {
	iov, cnt := uintptr(f.RSI), f.RDX
	e := getFD(f.RDI)
	if e == nil {
		return errno(linux.EBADF)
	}
	if e.kind != fkConsole {
		return errno(linux.EINVAL)
	}
	if cnt > 1024 {
		return errno(linux.EINVAL)
	}
	total := int64(0)
	for i := uintptr(0); i < uintptr(cnt); i++ {
		base, ok1 := readU64(iov + i*16)
		n, ok2 := readU64(iov + i*16 + 8)
		if !ok1 || !ok2 {
			return errno(linux.EFAULT)
		}
		buf, ok := userBytes(uintptr(base), uintptr(n), false)
		if !ok {
			return errno(linux.EFAULT)
		}
		uartWrite(consolePort(e), buf)
		total += int64(n)
	}
	return total
}

// sysOpen implements open(2).
func sysOpen(t *thread, f *Frame) int64 { return openPath(uintptr(f.RDI)) }

// sysOpenat implements openat(2).
func sysOpenat(t *thread, f *Frame) int64 { return openPath(uintptr(f.RSI)) }

func openPath(path uintptr) int64 {
	var buf [4096]byte
	p, ok := userString(path, buf[:])
	if !ok {
		return errno(linux.EFAULT)
	}
	if len(p) == 0 {
		return errno(linux.ENOENT)
	}
	return errno(linux.ENOENT)
}

// statConsole fills a struct stat for the console: a character device.
func statConsole(addr uintptr) int64 {
	var st [144]byte
	const sIFCHR = 0o020000
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

// sysFstat implements fstat(2).
func sysFstat(t *thread, f *Frame) int64 {
	e := getFD(f.RDI)
	if e == nil {
		return errno(linux.EBADF)
	}
	if e.kind == fkPipeRead || e.kind == fkPipeWrite {
		return statMode(uintptr(f.RSI), 0o010000|0o600) // S_IFIFO
	}
	if e.kind != fkConsole {
		return statMode(uintptr(f.RSI), 0o600)
	}
	return statConsole(uintptr(f.RSI))
}

// sysNewfstatat implements newfstatat(2).
func sysNewfstatat(t *thread, f *Frame) int64 {
	const atEmptyPath = 0x1000
	var buf [4096]byte
	p, ok := userString(uintptr(f.RSI), buf[:])
	if !ok {
		return errno(linux.EFAULT)
	}
	if len(p) == 0 && f.R10&atEmptyPath != 0 {
		if !consoleFD(f.RDI) {
			return errno(linux.EBADF)
		}
		return statConsole(uintptr(f.RDX))
	}
	return errno(linux.ENOENT)
}

// sysLseek implements lseek(2): no kernel object can seek.
func sysLseek(t *thread, f *Frame) int64 {
	if getFD(f.RDI) == nil {
		return errno(linux.EBADF)
	}
	return errno(linux.ESPIPE)
}

// sysPread64 implements pread64(2).
func sysPread64(t *thread, f *Frame) int64 { return sysLseek(t, f) }

// sysIoctl implements ioctl(2): the console is not a terminal.
func sysIoctl(t *thread, f *Frame) int64 {
	if getFD(f.RDI) == nil {
		return errno(linux.EBADF)
	}
	return errno(linux.ENOTTY)
}

// sysGetcwd implements getcwd(2).
func sysGetcwd(t *thread, f *Frame) int64 {
	dir := cwd.bytes()
	if len(dir) == 0 {
		dir = []byte("/")
	}
	if uint64(len(dir))+1 > f.RSI {
		return errno(linux.ERANGE)
	}
	if !copyOut(uintptr(f.RDI), dir) || !copyOut(uintptr(f.RDI)+uintptr(len(dir)), []byte{0}) {
		return errno(linux.EFAULT)
	}
	return int64(len(dir) + 1)
}
