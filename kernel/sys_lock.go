package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// Advisory file locks: flock(2), and fcntl(2)'s record locks, both the
// traditional POSIX kind and open file description (OFD) locks, with
// Linux's semantics (flock(2), fcntl(2) "Advisory record locking"):
//   - flock locks belong to an open file description: dup'ed descriptors
//     share them, two opens of one file conflict. They go with the last
//     descriptor of their description, or LOCK_UN.
//   - POSIX locks belong to the process. A process's own locks never
//     conflict with each other: a new one replaces, splits or merges with
//     the old over its range. Closing any descriptor of the file releases
//     all of them, whichever descriptor set them.
//   - OFD locks belong to an open file description, like flock's, but
//     cover byte ranges like POSIX's, and conflict with POSIX locks even
//     in one process.
//   - flock locks and record locks do not interact (Linux keeps them apart).
// There is one process, so EDEADLK (a cycle of processes) cannot happen.
//
// A lock names its file by lockKey, the device and inode numbers stat
// shows, not by an index into the memory tree: files of any mount lock
// the same way. A call that must wait blocks like a pipe read (waitPoll)
// and is made again when any lock is released; a signal interrupts it
// with EINTR, or restarts it under SA_RESTART, as Linux does.

// lockKey names a locked file: st_dev and st_ino.
type lockKey struct{ dev, ino uint64 }

const (
	lkFlock uint8 = iota + 1
	lkPosix
	lkOFD
)

// posixOwner is the one process's owner id for POSIX locks.
const posixOwner = -1

// maxOffset is the end of a lock that runs to the end of the file, however
// far it grows.
const maxOffset = 1<<63 - 1

type fileLock struct {
	used  bool
	kind  uint8 // lkFlock, lkPosix or lkOFD
	write bool
	key   lockKey
	owner int32 // the open file description (ofdID), or posixOwner
	start int64 // the first byte
	end   int64 // the last byte, inclusive; maxOffset to the end
}

const maxLocks = 512

var fileLocks [maxLocks]fileLock

// lockTarget returns the lock key of the file behind e and the id of its
// open file description. Only files lock: a pipe or a socket gets EINVAL,
// where Linux would lock its inode (nothing known to need that).
func lockTarget(e *fdEntry) (lockKey, int32, bool) {
	switch e.kind {
	case fkFile:
		ino := openFiles[e.obj].ino
		return lockKey{dev: mountOf(ino).dev, ino: uint64(ino) + 1}, ofdID(e.kind, e.obj), true
	case fkVolume:
		dev, ino := volFileID(e.obj)
		return lockKey{dev: dev, ino: ino}, ofdID(e.kind, e.obj), true
	}
	return lockKey{}, 0, false
}

// lockBase returns the offset of the open file behind e and its size, for
// l_whence SEEK_CUR and SEEK_END. Like lockTarget, it has a case per kind
// of file that can lock.
func lockBase(e *fdEntry) (off, size int64) {
	switch e.kind {
	case fkFile:
		of := &openFiles[e.obj]
		return of.off, inodes[of.ino].size
	}
	return 0, 0
}

// ofdID makes one number of an open file description's kind and index.
func ofdID(kind fileKind, obj int32) int32 { return int32(kind)<<20 | obj }

// sysFlock implements flock(2).
func sysFlock(t *thread, f *Frame) int64 {
	e := getFD(f.RDI)
	if e == nil {
		return errno(linux.EBADF)
	}
	op := f.RSI &^ linux.LOCK_NB
	if op != linux.LOCK_SH && op != linux.LOCK_EX && op != linux.LOCK_UN {
		return errno(linux.EINVAL)
	}
	key, ofd, ok := lockTarget(e)
	if !ok {
		return errno(linux.EINVAL)
	}
	write := op == linux.LOCK_EX
	// A description holds one flock lock: a change of type drops the old one
	// first, so that two holders converting at once cannot deadlock (and, as
	// on Linux, the change is not atomic).
	for i := range fileLocks {
		l := &fileLocks[i]
		if l.used && l.kind == lkFlock && l.key == key && l.owner == ofd {
			if op != linux.LOCK_UN && l.write == write {
				return 0
			}
			l.used = false
			wakePollers()
		}
	}
	if op == linux.LOCK_UN {
		return 0
	}
	if c := lockConflict(lkFlock, key, ofd, write, 0, maxOffset); c >= 0 {
		if f.RSI&linux.LOCK_NB != 0 {
			return errno(linux.EAGAIN) // EWOULDBLOCK
		}
		block(t, waitPoll, 0, 0)
		return 0
	}
	if !addLock(fileLock{kind: lkFlock, write: write, key: key, owner: ofd, end: maxOffset}) {
		return errno(linux.ENOLCK)
	}
	return 0
}

// lockConflict returns the index of a lock that conflicts with a lock of
// kind for owner over [start, end], or -1.
func lockConflict(kind uint8, key lockKey, owner int32, write bool, start, end int64) int {
	for i := range fileLocks {
		l := &fileLocks[i]
		if !l.used || l.key != key || !(write || l.write) {
			continue
		}
		if kind == lkFlock {
			if l.kind == lkFlock && l.owner != owner {
				return i
			}
			continue
		}
		if l.kind == lkFlock || l.end < start || l.start > end {
			continue
		}
		// Record locks: the same owner never conflicts with itself; POSIX
		// locks all have the one process as owner.
		if l.kind == kind && l.owner == owner {
			continue
		}
		return i
	}
	return -1
}

func addLock(l fileLock) bool {
	for i := range fileLocks {
		if !fileLocks[i].used {
			l.used = true
			fileLocks[i] = l
			return true
		}
	}
	return false
}

// freeLockSlots counts the unused entries, so that a change that splits a
// lock can be refused before it starts.
func freeLockSlots() int {
	k := 0
	for i := range fileLocks {
		if !fileLocks[i].used {
			k++
		}
	}
	return k
}

// clearRange removes owner's record locks of kind over [start, end],
// cutting the ones that reach past it. It reports whether anything went.
// The caller has made sure of a free slot for a split.
func clearRange(kind uint8, key lockKey, owner int32, start, end int64) bool {
	changed := false
	for i := range fileLocks {
		l := &fileLocks[i]
		if !l.used || l.kind != kind || l.key != key || l.owner != owner || l.end < start || l.start > end {
			continue
		}
		changed = true
		switch {
		case l.start < start && l.end > end:
			// The range is inside l: l splits in two.
			tail := *l
			tail.start = end + 1
			l.end = start - 1
			addLock(tail)
		case l.start < start:
			l.end = start - 1
		case l.end > end:
			l.start = end + 1
		default:
			l.used = false
		}
	}
	return changed
}

// mergeLocks joins owner's locks of one type that touch or overlap, as
// Linux keeps a process's record locks.
func mergeLocks(kind uint8, key lockKey, owner int32) {
	for again := true; again; {
		again = false
		for i := range fileLocks {
			a := &fileLocks[i]
			if !a.used || a.kind != kind || a.key != key || a.owner != owner {
				continue
			}
			for j := range fileLocks {
				b := &fileLocks[j]
				if j == i || !b.used || b.kind != kind || b.key != key || b.owner != owner || b.write != a.write {
					continue
				}
				if b.start <= a.end+1 && a.start <= b.end+1 || a.end == maxOffset && b.start <= a.end {
					if b.start < a.start {
						a.start = b.start
					}
					if b.end > a.end {
						a.end = b.end
					}
					b.used = false
					again = true
				}
			}
		}
	}
}

// flockArg is struct flock (amd64).
type flockArg struct {
	typ    int16
	whence int16
	_      int32
	start  int64
	len    int64
	pid    int32
	_      int32
}

// sysFcntlLock serves fcntl's lock commands for descriptor e.
func sysFcntlLock(t *thread, e *fdEntry, cmd uint64, addr uintptr) int64 {
	var fl flockArg
	if !copyIn((*[unsafe.Sizeof(fl)]byte)(unsafe.Pointer(&fl))[:], addr) {
		return errno(linux.EFAULT)
	}
	r := recordLock(t, e, cmd, &fl)
	if r == 0 && (cmd == linux.F_GETLK || cmd == linux.F_OFD_GETLK) {
		if !copyOut(addr, (*[unsafe.Sizeof(fl)]byte)(unsafe.Pointer(&fl))[:]) {
			return errno(linux.EFAULT)
		}
	}
	return r
}

// recordLock does a lock command of fcntl with its struct flock in fl;
// F_GETLK's answer goes back into fl.
func recordLock(t *thread, e *fdEntry, cmd uint64, fl *flockArg) int64 {
	key, ofd, ok := lockTarget(e)
	if !ok {
		return errno(linux.EINVAL)
	}
	kind, owner := lkPosix, int32(posixOwner)
	if cmd == linux.F_OFD_GETLK || cmd == linux.F_OFD_SETLK || cmd == linux.F_OFD_SETLKW {
		if fl.pid != 0 {
			return errno(linux.EINVAL) // "l_pid must be set to zero" for OFD locks
		}
		kind, owner = lkOFD, ofd
	}
	start, end, er := lockRange(e, fl)
	if er != 0 {
		return errno(er)
	}
	switch cmd {
	case linux.F_GETLK, linux.F_OFD_GETLK:
		if fl.typ != linux.F_RDLCK && fl.typ != linux.F_WRLCK {
			return errno(linux.EINVAL)
		}
		c := lockConflict(kind, key, owner, fl.typ == linux.F_WRLCK, start, end)
		if c < 0 {
			fl.typ = linux.F_UNLCK
		} else {
			l := &fileLocks[c]
			fl.typ = linux.F_RDLCK
			if l.write {
				fl.typ = linux.F_WRLCK
			}
			fl.whence = 0
			fl.start = l.start
			fl.len = 0
			if l.end != maxOffset {
				fl.len = l.end - l.start + 1
			}
			fl.pid = -1 // an OFD lock has no process
			if l.kind == lkPosix {
				fl.pid = tidBase
			}
		}
		return 0
	}
	acc := e.flags & linux.O_ACCMODE
	switch fl.typ {
	case linux.F_UNLCK:
		if freeLockSlots() == 0 {
			return errno(linux.ENOLCK)
		}
		if clearRange(kind, key, owner, start, end) {
			wakePollers()
		}
		return 0
	case linux.F_RDLCK:
		if acc == linux.O_WRONLY {
			return errno(linux.EBADF)
		}
	case linux.F_WRLCK:
		if acc == linux.O_RDONLY {
			return errno(linux.EBADF)
		}
	default:
		return errno(linux.EINVAL)
	}
	write := fl.typ == linux.F_WRLCK
	if lockConflict(kind, key, owner, write, start, end) >= 0 {
		if cmd == linux.F_SETLKW || cmd == linux.F_OFD_SETLKW {
			block(t, waitPoll, 0, 0)
			return 0
		}
		return errno(linux.EAGAIN)
	}
	// The new lock, a split and the old pieces: two free slots suffice.
	if freeLockSlots() < 2 {
		return errno(linux.ENOLCK)
	}
	if clearRange(kind, key, owner, start, end) {
		wakePollers() // a write lock turned read lets readers in
	}
	addLock(fileLock{kind: kind, write: write, key: key, owner: owner, start: start, end: end})
	mergeLocks(kind, key, owner)
	return 0
}

// lockRange turns l_whence, l_start and l_len into the first and last
// byte, as fcntl(2) defines them: a length of 0 runs to the end of the
// file, a negative one covers the bytes before l_start.
func lockRange(e *fdEntry, fl *flockArg) (int64, int64, linux.Errno) {
	var base int64
	off, size := lockBase(e)
	switch fl.whence {
	case 0: // SEEK_SET
	case 1: // SEEK_CUR
		base = off
	case 2: // SEEK_END
		base = size
	default:
		return 0, 0, linux.EINVAL
	}
	start := base + fl.start
	if fl.start > 0 && start < base {
		return 0, 0, linux.EOVERFLOW
	}
	switch {
	case fl.len > 0:
		end := start + fl.len - 1
		if end < start {
			return 0, 0, linux.EOVERFLOW
		}
		if start < 0 {
			return 0, 0, linux.EINVAL
		}
		return start, end, 0
	case fl.len < 0:
		end := start - 1
		start += fl.len
		if start < 0 {
			return 0, 0, linux.EINVAL
		}
		return start, end, 0
	}
	if start < 0 {
		return 0, 0, linux.EINVAL
	}
	return start, maxOffset, 0
}

// locksClosed releases locks when descriptor fd of (kind, obj) closes: the
// process's POSIX locks on the file at any close, and the description's
// flock and OFD locks with its last descriptor.
func locksClosed(kind fileKind, obj int32, last bool) {
	key, ofd, ok := lockTarget(&fdEntry{kind: kind, obj: obj})
	if !ok {
		return
	}
	changed := false
	for i := range fileLocks {
		l := &fileLocks[i]
		if !l.used || l.key != key {
			continue
		}
		if l.kind == lkPosix || last && l.owner == ofd {
			l.used = false
			changed = true
		}
	}
	if changed {
		wakePollers()
	}
}
