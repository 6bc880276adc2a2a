package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/arch/amd64"
)

// Files. Until the file system serves them, the app has the console on
// descriptors 0-2 and no files: opening any path gives ENOENT.

const nconsole = 3

var (
	consoleOpen    = [nconsole]bool{true, true, true}
	consoleFDFlags [nconsole]uint64
	consoleFlags   = [nconsole]uint64{linux.O_RDWR, linux.O_RDWR, linux.O_RDWR}
)

func consoleFD(fd uint64) bool { return fd < nconsole && consoleOpen[fd] }

// sysRead implements read(2). Standard input is COM1: a read takes what has
// arrived, or waits for the next byte.
func sysRead(t *thread, f *Frame) int64 {
	fd := f.RDI
	if !consoleFD(fd) {
		return errno(linux.EBADF)
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
	if consoleFlags[fd]&linux.O_NONBLOCK != 0 {
		return errno(linux.EAGAIN)
	}
	stdinWaiting = true
	block(t, waitForever, 0, 0)
	t.wait = waitStdin
	return 0
}

const waitStdin = waitForever + 1

var stdinWaiting bool

// stdinInterrupt wakes the readers of standard input to read again.
func stdinInterrupt() {
	if !stdinWaiting {
		return
	}
	stdinWaiting = false
	for i := 0; i < hiThread; i++ {
		if threads[i].state == tsBlocked && threads[i].wait == waitStdin {
			wakeRestart(&threads[i])
		}
	}
}

func consolePort(fd uint64) uint16 {
	if fd == 2 {
		return com2
	}
	return com1
}

// sysWrite implements write(2).
func sysWrite(t *thread, f *Frame) int64 {
	fd := f.RDI
	if !consoleFD(fd) {
		return errno(linux.EBADF)
	}
	buf, ok := userBytes(uintptr(f.RSI), uintptr(f.RDX), false)
	if !ok {
		return errno(linux.EFAULT)
	}
	uartWrite(consolePort(fd), buf)
	return int64(len(buf))
}

// sysWritev implements writev(2).
func sysWritev(t *thread, f *Frame) int64 {
	fd, iov, cnt := f.RDI, uintptr(f.RSI), f.RDX
	if !consoleFD(fd) {
		return errno(linux.EBADF)
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
		uartWrite(consolePort(fd), buf)
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

// sysClose implements close(2).
func sysClose(t *thread, f *Frame) int64 {
	if !consoleFD(f.RDI) {
		return errno(linux.EBADF)
	}
	consoleOpen[f.RDI] = false
	return 0
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

// sysFstat implements fstat(2).
func sysFstat(t *thread, f *Frame) int64 {
	if !consoleFD(f.RDI) {
		return errno(linux.EBADF)
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

// sysLseek implements lseek(2): the console cannot seek.
func sysLseek(t *thread, f *Frame) int64 {
	if !consoleFD(f.RDI) {
		return errno(linux.EBADF)
	}
	return errno(linux.ESPIPE)
}

// sysPread64 implements pread64(2).
func sysPread64(t *thread, f *Frame) int64 { return sysLseek(t, f) }

// sysFcntl implements fcntl(2) for descriptor and status flags.
func sysFcntl(t *thread, f *Frame) int64 {
	fd := f.RDI
	if !consoleFD(fd) {
		return errno(linux.EBADF)
	}
	switch f.RSI {
	case linux.F_GETFD:
		return int64(consoleFDFlags[fd])
	case linux.F_SETFD:
		consoleFDFlags[fd] = f.RDX & linux.FD_CLOEXEC
		return 0
	case linux.F_GETFL:
		return int64(consoleFlags[fd])
	case linux.F_SETFL:
		consoleFlags[fd] = consoleFlags[fd]&linux.O_ACCMODE | f.RDX&(linux.O_NONBLOCK|linux.O_APPEND)
		return 0
	}
	return errno(linux.EINVAL)
}

// sysIoctl implements ioctl(2): the console is not a terminal.
func sysIoctl(t *thread, f *Frame) int64 {
	if !consoleFD(f.RDI) {
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
