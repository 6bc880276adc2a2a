package kernel

import "unsafe"

// Threads and scheduling. Every thread is one of the Go runtime's Ms, made
// by clone. One CPU, one kernel stack: a trap saves the running thread's
// registers into its thread record, the kernel decides, and the return path
// loads whichever thread runs next. Threads blocked in the kernel (futex,
// nanosleep) keep no kernel stack: their result is written into their saved
// RAX when they are woken.
//
// Preemption is tickless: the timer is armed only for the earliest sleeper
// and, when another thread is waiting to run, for the end of the time slice.

const (
	maxThreads = 512
	timeSlice  = 10_000_000 // ns

	tidBase = 1 // thread i has TID i+tidBase; the first is also the PID
)

type threadState uint8

const (
	tsFree threadState = iota
	tsRunnable
	tsRunning
	tsBlocked
)

// Why a blocked thread waits.
const (
	waitNone = iota
	waitFutex
	waitSleep
	waitForever
	waitPoll    // epoll, eventfd, stdin: restarted when a file changes
	waitService // a call forwarded to the socket service; not interrupted
	waitFIFO    // an open of a FIFO, for the other end; not interrupted
	waitVolume  // a request to a volume's device, or a free slot for one; not interrupted
)

type thread struct {
	state threadState
	wait  uint8
	frame Frame

	fsbase          uint64
	deadline        int64   // nanotime at which a blocked thread times out; 0 for never
	futex           uintptr // address waited on
	bitset          uint32
	clearTID        uintptr // CLONE_CHILD_CLEARTID: zeroed and woken at exit
	timeoutResult   uint64  // RAX on timeout (-ETIMEDOUT, or 0 for nanosleep)
	sysnr           uint64  // the system call in progress
	restartDeadline int64   // the deadline a restarted call keeps (Linux's restart_block)

	// A call forwarded to the socket service (sys_socket.go).
	svcNewSock int32
	svcFD      int32 // the descriptor accept4 made, or -1

	// An open of a FIFO waiting for the other end (sys_pipe.go).
	fifoPipe int32
	fifoKind fileKind
	fifoFD   int32

	sigmask  uint64
	pending  uint64
	altSP    uint64
	altSize  uint64
	altFlags int32
	fault    faultInfo // the synchronous signal being delivered

	fx [512 + 16]byte // FXSAVE area; 16-byte aligned inside
}

type faultInfo struct {
	code int32
	addr uint64
	pid  int32 // sender, for signals sent with kill/tgkill
}

var (
	threads  [maxThreads]thread
	nthreads int // live threads
	hiThread int // threads at or above this index are free
	cur      int // the running thread
	sliceEnd int64

	runq            [maxThreads]int32
	runqHead, runqN int
)

func (t *thread) fxArea() uintptr {
	return (uintptr(unsafe.Pointer(&t.fx[0])) + 15) &^ 15
}

func (t *thread) tid() int32 { return int32(t.index()) + tidBase }

func (t *thread) index() int {
	return int((uintptr(unsafe.Pointer(t)) - uintptr(unsafe.Pointer(&threads[0]))) / unsafe.Sizeof(thread{}))
}

func threadByTID(tid int32) *thread {
	i := int(tid - tidBase)
	if i < 0 || i >= maxThreads || threads[i].state == tsFree {
		return nil
	}
	return &threads[i]
}

func threadsInit() {}

// newThread returns a free thread record, or nil.
func newThread() *thread {
	for i := range threads {
		t := &threads[i]
		if t.state == tsFree {
			*t = thread{}
			t.state = tsBlocked
			nthreads++
			stats.threadsCreated++
			if i >= hiThread {
				hiThread = i + 1
			}
			return t
		}
	}
	return nil
}

// initFX gives t the FPU state of a fresh process: x87 control word 0x37f,
// MXCSR 0x1f80 (all exceptions masked).
func (t *thread) initFX() {
	a := (*[512]byte)(unsafe.Pointer(t.fxArea()))
	for i := range a {
		a[i] = 0
	}
	a[0], a[1] = 0x7f, 0x03
	a[24], a[25] = 0x80, 0x1f
}

func enqueue(i int) {
	runq[(runqHead+runqN)%maxThreads] = int32(i)
	runqN++
}

func dequeue() int {
	i := int(runq[runqHead])
	runqHead = (runqHead + 1) % maxThreads
	runqN--
	return i
}

// wake makes a blocked thread runnable with result in RAX.
func wake(t *thread, result uint64) {
	if t.state != tsBlocked {
		return
	}
	t.frame.RAX = result
	t.state = tsRunnable
	t.wait = waitNone
	t.deadline = 0
	enqueue(t.index())
	syscallWoken(t)
}

// wakeRestart makes a blocked thread runnable so that it makes its system
// call again: the call found nothing to do and waited for a device.
func wakeRestart(t *thread) {
	if t.state != tsBlocked {
		return
	}
	d := t.deadline
	syscallRestarting(t)
	wake(t, t.sysnr)
	t.restartDeadline = d
	t.frame.RIP -= 2 // back onto the SYSCALL instruction
}

// block stops the running thread until wake; with a deadline, wake happens
// then with timeoutResult in RAX.
func block(t *thread, why uint8, deadline int64, timeoutResult uint64) {
	t.state = tsBlocked
	t.wait = why
	t.deadline = deadline
	t.timeoutResult = timeoutResult
	if deadline != 0 && (earliestDeadline == 0 || deadline < earliestDeadline) {
		earliestDeadline = deadline
	}
}

// earliestDeadline is no later than any blocked thread's deadline; 0 when
// none has one. It may be earlier than all of them (a thread woken before
// its deadline leaves it as it was), which costs only an early look.
// schedule runs at every trap, and looking through every thread there (a
// busy server has over a hundred, one per runtime M) cost examples/http
// about 6% of its requests per second under TCG.
var earliestDeadline int64

// expireTimers wakes the threads whose deadline has passed, and returns the
// earliest deadline still pending (0 for none).
func expireTimers(now int64) int64 {
	if earliestDeadline == 0 || now < earliestDeadline {
		return earliestDeadline
	}
	next := int64(0)
	for i := 0; i < hiThread; i++ {
		t := &threads[i]
		if t.state != tsBlocked || t.deadline == 0 {
			continue
		}
		if t.deadline <= now {
			wake(t, t.timeoutResult)
			continue
		}
		if next == 0 || t.deadline < next {
			next = t.deadline
		}
	}
	earliestDeadline = next
	return next
}

// schedule picks the thread to run next and loads it into the trap frame.
// preempt asks to rotate the running thread if its slice is over.
func schedule(preempt bool) {
	now := nanotime()
	if txDue != 0 && now >= txDue {
		announceTx()
	}
	next := expireTimers(now)
	if txDue != 0 && (next == 0 || txDue < next) {
		next = txDue
	}
	t := &threads[cur]
	profAccount(t, now)
	if t.state == tsRunning && runqN > 0 && (preempt && now >= sliceEnd || false) {
		t.state = tsRunnable
		enqueue(cur)
	}
	if t.state != tsRunning {
		for runqN == 0 {
			idle(next)
			now = nanotime()
			next = expireTimers(now)
		}
		cur = dequeue()
		t = &threads[cur]
		t.state = tsRunning
		sliceEnd = now + timeSlice
	}
	deliverSignals(t)
	if runqN > 0 && (next == 0 || sliceEnd < next) {
		next = sliceEnd
	}
	next = profDeadline(now, next)
	armTimer(next)
	*userFrame() = t.frame
	curFX = t.fxArea()
	curFS = uintptr(t.fsbase)
}

// idle halts until an interrupt, with the timer armed for deadline.
func idle(deadline int64) {
	if nthreads == 0 {
		exitGroup(0)
	}
	announceTx() // nothing else to do: frames waiting for the doorbell go now
	armTimer(deadline)
	t0 := nanotime()
	idleHalt()
	t1 := nanotime()
	stats.idleNs += t1 - t0
	profLast = t1 // halted time is no CPU time
}
