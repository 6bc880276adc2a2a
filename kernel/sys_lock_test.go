package kernel

import (
	"testing"

	"mote.dev/mote/kernel/abi/linux"
)

// Locks run on the host: they touch no user memory but struct flock, which
// these tests hand to recordLock directly.

// openForLock makes descriptor fd an open file description of inode ino
// with access acc.
func openForLock(t *testing.T, fd int, obj int32, ino int32, acc uint64) *fdEntry {
	t.Helper()
	openFiles[obj] = openFile{used: true, ino: ino, flags: acc}
	inodes[ino].opens++
	fds[fd] = fdEntry{kind: fkFile, obj: obj, flags: acc}
	return &fds[fd]
}

func resetLocks(t *testing.T) (int32, int32) {
	t.Helper()
	resetFS(t)
	fileLocks = [maxLocks]fileLock{}
	for i := 3; i < maxFDs; i++ {
		fds[i] = fdEntry{}
	}
	openFiles = [len(openFiles)]openFile{}
	tmp := lookup(rootIno, []byte("tmp"))
	a, e := newInode(tmp, []byte("a"), sIFREG|0o644)
	if e != 0 {
		t.Fatal(e)
	}
	b, e := newInode(tmp, []byte("b"), sIFREG|0o644)
	if e != 0 {
		t.Fatal(e)
	}
	t.Cleanup(func() {
		for i := 3; i < maxFDs; i++ {
			fds[i] = fdEntry{}
		}
	})
	return a, b
}

func flock(fd int, op uint64) int64 {
	return sysFlock(&threads[0], &Frame{RDI: uint64(fd), RSI: op})
}

func TestFlock(t *testing.T) {
	a, b := resetLocks(t)
	openForLock(t, 3, 0, a, linux.O_RDONLY)
	openForLock(t, 4, 1, a, linux.O_RDWR)
	openForLock(t, 5, 2, b, linux.O_RDONLY)
	fds[6] = fds[3] // a dup of 3: the same description
	eagain := errno(linux.EAGAIN)
	steps := []struct {
		fd   int
		op   uint64
		want int64
	}{
		{3, linux.LOCK_EX | linux.LOCK_NB, 0},
		{4, linux.LOCK_SH | linux.LOCK_NB, eagain}, // another description of a
		{6, linux.LOCK_EX | linux.LOCK_NB, 0},      // the same description: already held
		{5, linux.LOCK_EX | linux.LOCK_NB, 0},      // another file
		{3, linux.LOCK_SH, 0},                      // converted
		{4, linux.LOCK_SH | linux.LOCK_NB, 0},      // shared with 3
		{4, linux.LOCK_EX | linux.LOCK_NB, eagain},
		{3, linux.LOCK_UN, 0},
		{4, linux.LOCK_EX | linux.LOCK_NB, 0},
		{3, linux.LOCK_SH | linux.LOCK_NB, eagain},
		{3, 0, errno(linux.EINVAL)},
		{9, linux.LOCK_SH, errno(linux.EBADF)},
	}
	for i, s := range steps {
		if got := flock(s.fd, s.op); got != s.want {
			t.Fatalf("step %d: flock(%d, %#x) = %d, want %d", i, s.fd, s.op, got, s.want)
		}
	}
	// A blocking request waits; closing the holder's last descriptor frees it.
	threads[0] = thread{state: tsRunning}
	if flock(3, linux.LOCK_EX); threads[0].state != tsBlocked {
		t.Fatalf("LOCK_EX against a held lock did not wait")
	}
	threads[0] = thread{}
	closeFD(4)
	if got := flock(3, linux.LOCK_EX|linux.LOCK_NB); got != 0 {
		t.Fatalf("after the holder closed: flock = %d", got)
	}
	closeFD(3)
	if got := flock(6, linux.LOCK_UN); got != 0 {
		t.Fatalf("LOCK_UN through the dup: %d", got)
	}
}

func setlk(fd int, cmd uint64, typ int16, start, n int64) int64 {
	fl := flockArg{typ: typ, start: start, len: n}
	return recordLock(&threads[0], &fds[fd], cmd, &fl)
}

func getlk(t *testing.T, fd int, cmd uint64, typ int16, start, n int64) flockArg {
	t.Helper()
	fl := flockArg{typ: typ, start: start, len: n}
	if r := recordLock(&threads[0], &fds[fd], cmd, &fl); r != 0 {
		t.Fatalf("getlk: %d", r)
	}
	return fl
}

func TestRecordLocks(t *testing.T) {
	a, _ := resetLocks(t)
	openForLock(t, 3, 0, a, linux.O_RDWR)
	openForLock(t, 4, 1, a, linux.O_RDWR)
	openForLock(t, 5, 2, a, linux.O_RDONLY)
	eagain := errno(linux.EAGAIN)

	// POSIX locks of the one process never conflict with each other.
	if r := setlk(3, linux.F_SETLK, linux.F_WRLCK, 0, 100); r != 0 {
		t.Fatal(r)
	}
	if r := setlk(4, linux.F_SETLK, linux.F_WRLCK, 50, 100); r != 0 {
		t.Fatalf("second POSIX lock of the process: %d", r)
	}
	if fl := getlk(t, 4, linux.F_GETLK, linux.F_WRLCK, 0, 0); fl.typ != linux.F_UNLCK {
		t.Fatalf("F_GETLK sees the process's own lock: %+v", fl)
	}
	// Merged into one [0, 149].
	n := 0
	for _, l := range fileLocks {
		if l.used {
			n++
			if l.start != 0 || l.end != 149 || !l.write {
				t.Errorf("merged lock = %+v", l)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d locks after merging, want 1", n)
	}
	// An OFD lock conflicts with them, even in the same process.
	if r := setlk(5, linux.F_OFD_SETLK, linux.F_RDLCK, 10, 1); r != eagain {
		t.Fatalf("OFD read lock over a POSIX write lock: %d", r)
	}
	if fl := getlk(t, 5, linux.F_OFD_GETLK, linux.F_RDLCK, 10, 1); fl.typ != linux.F_WRLCK || fl.start != 0 || fl.len != 150 || fl.pid != tidBase {
		t.Fatalf("F_OFD_GETLK = %+v", fl)
	}
	// Unlocking the middle splits the lock; the hole is free for others.
	if r := setlk(3, linux.F_SETLK, linux.F_UNLCK, 20, 10); r != 0 {
		t.Fatal(r)
	}
	if r := setlk(5, linux.F_OFD_SETLK, linux.F_RDLCK, 20, 10); r != 0 {
		t.Fatalf("OFD lock in the hole: %d", r)
	}
	if r := setlk(5, linux.F_OFD_SETLK, linux.F_RDLCK, 19, 2); r != eagain {
		t.Fatalf("OFD lock across the hole's edge: %d", r)
	}
	// The POSIX owner now finds the OFD lock with pid -1.
	if fl := getlk(t, 3, linux.F_GETLK, linux.F_WRLCK, 0, 0); fl.typ != linux.F_RDLCK || fl.start != 20 || fl.len != 10 || fl.pid != -1 {
		t.Fatalf("F_GETLK = %+v", fl)
	}
	// Access modes: a write lock needs a descriptor open for writing.
	if r := setlk(5, linux.F_OFD_SETLK, linux.F_WRLCK, 500, 1); r != errno(linux.EBADF) {
		t.Fatalf("write lock on a read-only descriptor: %d", r)
	}
	if r := setlk(5, linux.F_OFD_SETLK, 7, 500, 1); r != errno(linux.EINVAL) {
		t.Fatalf("bad l_type: %d", r)
	}
	fl := flockArg{typ: linux.F_RDLCK, pid: 5}
	if r := recordLock(&threads[0], &fds[5], linux.F_OFD_SETLK, &fl); r != errno(linux.EINVAL) {
		t.Fatalf("OFD lock with l_pid set: %d", r)
	}
	// A blocking request waits.
	threads[0] = thread{state: tsRunning}
	if setlk(3, linux.F_SETLKW, linux.F_WRLCK, 0, 0); threads[0].state != tsBlocked {
		t.Fatalf("F_SETLKW against an OFD lock did not wait")
	}
	threads[0] = thread{}
	// Closing any descriptor of the file drops every POSIX lock of the
	// process on it; the OFD lock stays with its description.
	fds[7] = fds[4] // keep description 1 open
	closeFD(4)
	posix, ofd := 0, 0
	for _, l := range fileLocks {
		if l.used && l.kind == lkPosix {
			posix++
		}
		if l.used && l.kind == lkOFD {
			ofd++
		}
	}
	if posix != 0 || ofd != 1 {
		t.Fatalf("after close: %d POSIX locks, %d OFD locks; want 0 and 1", posix, ofd)
	}
	closeFD(5)
	for _, l := range fileLocks {
		if l.used {
			t.Fatalf("lock left after the last close: %+v", l)
		}
	}
}

func TestLockRange(t *testing.T) {
	a, _ := resetLocks(t)
	e := openForLock(t, 3, 0, a, linux.O_RDWR)
	openFiles[0].off = 100
	inodes[a].size = 1000
	for _, c := range []struct {
		whence             int16
		start, len         int64
		wantStart, wantEnd int64
		want               linux.Errno
	}{
		{0, 10, 5, 10, 14, 0},
		{0, 10, 0, 10, maxOffset, 0},
		{0, 10, -5, 5, 9, 0},
		{0, 10, -11, 0, 0, linux.EINVAL},
		{1, -10, 10, 90, 99, 0},
		{2, 0, 0, 1000, maxOffset, 0},
		{0, -1, 1, 0, 0, linux.EINVAL},
		{3, 0, 0, 0, 0, linux.EINVAL},
		{0, 2, maxOffset, 0, 0, linux.EOVERFLOW},
		{0, 1, maxOffset, 1, maxOffset, 0},
	} {
		s, end, err := lockRange(e, &flockArg{whence: c.whence, start: c.start, len: c.len})
		if err != c.want || err == 0 && (s != c.wantStart || end != c.wantEnd) {
			t.Errorf("lockRange(whence %d, start %d, len %d) = %d, %d, %d; want %d, %d, %d",
				c.whence, c.start, c.len, s, end, err, c.wantStart, c.wantEnd, c.want)
		}
	}
}

// TestRecordLocksModel drives random lock and unlock requests of three owners (the process's
// POSIX locks and two open file descriptions' OFD locks) over a small file and compares each
// answer, and the bytes every owner holds afterwards, with a byte-by-byte model.
func TestRecordLocksModel(t *testing.T) {
	a, _ := resetLocks(t)
	openForLock(t, 3, 0, a, linux.O_RDWR)
	openForLock(t, 4, 1, a, linux.O_RDWR)
	openForLock(t, 5, 2, a, linux.O_RDWR)
	const size = 48
	type owner struct {
		fd  int
		cmd uint64
	}
	owners := []owner{{3, linux.F_SETLK}, {4, linux.F_OFD_SETLK}, {5, linux.F_OFD_SETLK}}
	var model [3][size]int16 // F_UNLCK, F_RDLCK or F_WRLCK per byte
	for o := range model {
		for i := range model[o] {
			model[o][i] = linux.F_UNLCK
		}
	}
	seed := uint64(1)
	rnd := func(n int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int(seed>>33) % n
	}
	for step := 0; step < 4000; step++ {
		o := rnd(3)
		typ := []int16{linux.F_RDLCK, linux.F_WRLCK, linux.F_UNLCK}[rnd(3)]
		start := rnd(size)
		n := 1 + rnd(size-start)
		conflict := false
		if typ != linux.F_UNLCK {
			for other := range model {
				if other == o {
					continue
				}
				for i := start; i < start+n; i++ {
					h := model[other][i]
					if h != linux.F_UNLCK && (h == linux.F_WRLCK || typ == linux.F_WRLCK) {
						conflict = true
					}
				}
			}
		}
		want := int64(0)
		if conflict {
			want = errno(linux.EAGAIN)
		}
		if got := setlk(owners[o].fd, owners[o].cmd, typ, int64(start), int64(n)); got != want {
			t.Fatalf("step %d: owner %d type %d [%d,+%d): got %d, want %d", step, o, typ, start, n, got, want)
		}
		if !conflict {
			for i := start; i < start+n; i++ {
				model[o][i] = typ
			}
		}
		// What the table holds, byte by byte, must be the model.
		for o := range model {
			for i := 0; i < size; i++ {
				held := int16(linux.F_UNLCK)
				count := 0
				for _, l := range fileLocks {
					if !l.used || l.start > int64(i) || l.end < int64(i) {
						continue
					}
					if o == 0 && l.kind != lkPosix || o > 0 && (l.kind != lkOFD || l.owner != ofdID(fkFile, int32(o))) {
						continue
					}
					count++
					held = linux.F_RDLCK
					if l.write {
						held = linux.F_WRLCK
					}
				}
				if count > 1 || held != model[o][i] {
					t.Fatalf("step %d: owner %d byte %d: %d locks, type %d; model %d", step, o, i, count, held, model[o][i])
				}
			}
		}
	}
}
