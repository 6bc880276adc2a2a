package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// System-call tracing (trace=1 on the command line) and counting
// (summary=1). The kernel sends raw numbers and the user memory only it can
// read; the host (internal/strace) names the call, decodes flags and errnos
// and formats the line as strace does. One record per completed call:
//
//	trace TID NR RESULT NS A0 A1 A2 A3 A4 A5 [I=DATA|I~DATA]...
//
// TID, NR, RESULT (signed; "?" for a call that does not return) and NS (its
// duration) are decimal; the arguments A0-A5 are hex without a prefix. Each
// I=DATA holds the memory argument I points at (a path, the first bytes of
// a buffer, a small structure such as a timespec), percent-encoded (bytes
// outside '!'..'~' and '%' itself as %XX); I~DATA marks it cut short. An
// argument whose memory cannot be read has no DATA: the host shows the
// address, and the kernel never touches the bad page.
//
// A blocked call is traced when it is woken, with its whole duration, so a
// record may come long after the call began and after other threads' calls.

// traceSyscalls logs every system call on the kernel channel (trace=1).
var traceSyscalls bool

// countSyscalls keeps per-call counts, errors and time, sent as "sum"
// records when the app exits (summary=1).
var countSyscalls bool

// Limits of the user memory copied into a record: the first bytes of a
// buffer, as strace -s 32 shows them, and a path in full up to a point.
const (
	traceBufMax  = 32
	tracePathMax = 256
)

// traceMem says which arguments of a call point at memory worth showing.
type traceMem struct {
	paths  uint8 // bit i: argument i is a NUL-terminated string
	buf    uint8 // 1 + the index of a buffer argument; 0 for none
	bufLen uint8 // 1 + the index of its length argument, or lenResult
	st     uint8 // 1 + the index of a structure argument; 0 for none
	stLen  uint8 // its size
	stOut  bool  // the call fills it in: shown only when it returned 0
}

// lenResult: the buffer holds what the call wrote, as many bytes as it returned.
const lenResult = 0xff

// Bits of traceMem.paths. The table is a constant composite literal, laid
// out by the linker: the kernel runs before any Go initialization.
const (
	p0 = 1 << iota
	p1
	p2
	p3
)

var (
	inBuf  = traceMem{buf: 2, bufLen: 3}             // (fd, buf, len): data the call reads
	outBuf = traceMem{buf: 2, bufLen: lenResult}     // (fd, buf, len): data the call wrote
	outTS2 = traceMem{st: 2, stLen: 16, stOut: true} // (clock, *timespec)
)

var traceMemTable = [linux.NumSyscalls]traceMem{
	linux.SYS_READ:       outBuf,
	linux.SYS_PREAD64:    outBuf,
	linux.SYS_RECVFROM:   outBuf,
	linux.SYS_WRITE:      inBuf,
	linux.SYS_PWRITE64:   inBuf,
	linux.SYS_SENDTO:     inBuf,
	linux.SYS_BIND:       inBuf, // (fd, sockaddr, len)
	linux.SYS_CONNECT:    inBuf,
	linux.SYS_GETCWD:     {buf: 1, bufLen: lenResult},
	linux.SYS_OPEN:       {paths: p0},
	linux.SYS_CREAT:      {paths: p0},
	linux.SYS_OPENAT:     {paths: p1},
	linux.SYS_STAT:       {paths: p0},
	linux.SYS_LSTAT:      {paths: p0},
	linux.SYS_NEWFSTATAT: {paths: p1},
	linux.SYS_STATFS:     {paths: p0},
	linux.SYS_ACCESS:     {paths: p0},
	linux.SYS_FACCESSAT:  {paths: p1},
	linux.SYS_FACCESSAT2: {paths: p1},
	linux.SYS_MKDIR:      {paths: p0},
	linux.SYS_MKDIRAT:    {paths: p1},
	linux.SYS_MKNOD:      {paths: p0},
	linux.SYS_MKNODAT:    {paths: p1},
	linux.SYS_UNLINK:     {paths: p0},
	linux.SYS_UNLINKAT:   {paths: p1},
	linux.SYS_RMDIR:      {paths: p0},
	linux.SYS_RENAME:     {paths: p0 | p1},
	linux.SYS_RENAMEAT:   {paths: p1 | p3},
	linux.SYS_RENAMEAT2:  {paths: p1 | p3},
	linux.SYS_LINK:       {paths: p0 | p1},
	linux.SYS_LINKAT:     {paths: p1 | p3},
	linux.SYS_SYMLINK:    {paths: p0 | p1},
	linux.SYS_SYMLINKAT:  {paths: p0 | p2},
	linux.SYS_READLINK:   {paths: p0, buf: 2, bufLen: lenResult},
	linux.SYS_READLINKAT: {paths: p1, buf: 3, bufLen: lenResult},
	linux.SYS_TRUNCATE:   {paths: p0},
	linux.SYS_CHMOD:      {paths: p0},
	linux.SYS_FCHMODAT:   {paths: p1},
	linux.SYS_FCHMODAT2:  {paths: p1},
	linux.SYS_FCHOWNAT:   {paths: p1},
	linux.SYS_UTIMENSAT:  {paths: p1},
	linux.SYS_CHDIR:      {paths: p0},
	linux.SYS_EXECVE:     {paths: p0},

	linux.SYS_NANOSLEEP:       {st: 1, stLen: 16},
	linux.SYS_CLOCK_NANOSLEEP: {st: 3, stLen: 16},
	linux.SYS_CLOCK_GETTIME:   outTS2,
	linux.SYS_CLOCK_GETRES:    outTS2,
	linux.SYS_GETTIMEOFDAY:    {st: 1, stLen: 16, stOut: true},
}

// Per-thread state of the call in progress, indexed like threads.
var (
	sysStart   [maxThreads]int64 // nanotime at entry
	sysPending [maxThreads]bool  // blocked: trace when woken
	sysRestart [maxThreads]restartedCall
)

// restartedCall is a call woken to be made again (wakeRestart): when the
// thread makes it, after any signal handler has run, it keeps its start and
// is counted once. Go makes every system call from one SYSCALL instruction,
// so the number is what tells it from the handler's own calls.
type restartedCall struct {
	set   bool
	nr    uint64
	rip   uint64
	start int64
}

// Counts for the summary, by call number.
var (
	sysCalls  [linux.NumSyscalls]uint32
	sysErrors [linux.NumSyscalls]uint32
	sysNanos  [linux.NumSyscalls]int64
)

// inSyscall is 1 + the index of the thread whose system call the kernel is
// serving, or 0: a kernel fault then also shows where the app made the
// call. An index, not a pointer: a pointer store in the kernel would call
// the Go runtime's write barrier while the app's GC runs.
var inSyscall int

// syscallEnter starts the bookkeeping of call nr by t.
func syscallEnter(t *thread, nr uint64, f *Frame) {
	inSyscall = t.index() + 1
	if !traceSyscalls && !countSyscalls {
		return
	}
	i := t.index()
	if r := &sysRestart[i]; r.set && r.nr == nr && r.rip == f.RIP {
		r.set = false
		sysStart[i] = r.start
	} else {
		sysStart[i] = nanotime()
		if countSyscalls && nr < linux.NumSyscalls {
			sysCalls[nr]++
		}
	}
	sysPending[i] = false
	// These do not return: record them now, as strace shows "= ?". The
	// thread's slot may serve a new thread next, which must not inherit a
	// restart.
	if nr == linux.SYS_EXIT || nr == linux.SYS_EXIT_GROUP {
		sysRestart[i] = restartedCall{}
		if traceSyscalls {
			traceRecord(t, nr, f, 0, false)
		}
	}
}

// syscallExit ends the bookkeeping of the call t made, now or, if it
// blocked, when it is woken.
func syscallExit(t *thread, r int64) {
	inSyscall = 0
	if !traceSyscalls && !countSyscalls {
		return
	}
	i := t.index()
	switch t.state {
	case tsRunning:
		syscallDone(t, r)
	case tsBlocked:
		sysPending[i] = true
	case tsRunnable: // yielded, or woken before the handler returned
		syscallDone(t, int64(t.frame.RAX))
	}
}

// syscallWoken is called by wake: a blocked call has its result.
func syscallWoken(t *thread) {
	i := t.index()
	if !sysPending[i] {
		return
	}
	sysPending[i] = false
	syscallDone(t, int64(t.frame.RAX))
}

// syscallRestarting is called by wakeRestart, before the wake: t's call is
// not done but will be made again.
func syscallRestarting(t *thread) {
	i := t.index()
	if !sysPending[i] {
		return
	}
	sysPending[i] = false
	sysRestart[i] = restartedCall{set: true, nr: t.sysnr, rip: t.frame.RIP, start: sysStart[i]}
}

func syscallDone(t *thread, r int64) {
	nr := t.sysnr
	if countSyscalls && nr < linux.NumSyscalls {
		sysNanos[nr] += nanotime() - sysStart[t.index()]
		if r < 0 && r > -4096 {
			sysErrors[nr]++
		}
	}
	if traceSyscalls {
		traceRecord(t, nr, &t.frame, r, true)
	}
}

func traceRecord(t *thread, nr uint64, f *Frame, r int64, returned bool) {
	d := nanotime() - sysStart[t.index()]
	w := klog.s("trace ").dec(int64(t.tid())).s(" ").dec(int64(nr)).s(" ")
	if returned {
		w.dec(r)
	} else {
		w.s("?")
	}
	w.s(" ").dec(d)
	args := [6]uint64{f.RDI, f.RSI, f.RDX, f.R10, f.R8, f.R9}
	for _, a := range args {
		w.s(" ").hexs(a)
	}
	if nr < linux.NumSyscalls {
		m := traceMemTable[nr]
		for i := 0; i < 6; i++ {
			if m.paths&(1<<i) != 0 {
				traceString(w, i, uintptr(args[i]))
			}
		}
		if m.buf != 0 {
			n := int64(-1)
			switch {
			case m.bufLen == lenResult && returned:
				n = r
			case m.bufLen != lenResult:
				n = int64(args[m.bufLen-1])
			}
			if n >= 0 {
				traceBuf(w, int(m.buf-1), uintptr(args[m.buf-1]), n)
			}
		}
		if m.st != 0 && (!m.stOut || returned && r == 0) {
			traceBuf(w, int(m.st-1), uintptr(args[m.st-1]), int64(m.stLen))
		}
	}
	w.nl()
}

// traceString sends the NUL-terminated string at addr, if it can be read.
func traceString(w kw, arg int, addr uintptr) {
	var buf [tracePathMax]byte
	n, complete := 0, false
	for n < len(buf) {
		p := addr + uintptr(n)
		if (n == 0 || p&(pageSize-1) == 0) && !userOK(p, 1, false) {
			if n == 0 {
				return
			}
			break
		}
		c := *(*byte)(unsafe.Pointer(p))
		if c == 0 {
			complete = true
			break
		}
		buf[n] = c
		n++
	}
	traceData(w, arg, buf[:n], complete)
}

// traceBuf sends the first bytes of the n-byte buffer at addr, if they can be read.
func traceBuf(w kw, arg int, addr uintptr, n int64) {
	m := min(n, traceBufMax)
	var buf [traceBufMax]byte
	if !copyIn(buf[:m], addr) {
		return
	}
	traceData(w, arg, buf[:m], m == n)
}

func traceData(w kw, arg int, p []byte, complete bool) {
	w.s(" ").dec(int64(arg))
	if complete {
		w.s("=")
	} else {
		w.s("~")
	}
	for _, c := range p {
		e, n := traceEscape(c)
		w.b(e[:n])
	}
}

// traceEscape percent-encodes c unless it is printable and not a space or '%'.
func traceEscape(c byte) ([3]byte, int) {
	if c > ' ' && c <= '~' && c != '%' {
		return [3]byte{c}, 1
	}
	return [3]byte{'%', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15]}, 3
}

// hexs writes v in hex without a prefix or leading zeros.
func (w kw) hexs(v uint64) kw {
	var buf [16]byte
	i := len(buf)
	for {
		i--
		buf[i] = "0123456789abcdef"[v&15]
		v >>= 4
		if v == 0 {
			break
		}
	}
	return w.b(buf[i:])
}

// syscallSummary sends the counts as "sum NR CALLS ERRORS NS" records, one
// per call made, before the exit record.
func syscallSummary() {
	if !countSyscalls {
		return
	}
	for nr := range sysCalls {
		if sysCalls[nr] == 0 {
			continue
		}
		klog.s("sum ").dec(int64(nr)).s(" ").dec(int64(sysCalls[nr])).s(" ").
			dec(int64(sysErrors[nr])).s(" ").dec(sysNanos[nr]).nl()
	}
}
