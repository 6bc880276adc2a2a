package kernel

import "mote.dev/mote/kernel/abi/linux"

// memPager maps the in-memory files (vfs.go): the frames that hold a file
// are the pages its mappings show, so a shared mapping, read and write see
// one copy of the bytes and nothing is ever written back.
type memPager struct{}

var memPages memPager

func (*memPager) frame(ino int32, pg int64) (uintptr, linux.Errno) {
	n := &inodes[ino]
	if pg >= (n.size+pageSize-1)/pageSize {
		return 0, linux.EFAULT
	}
	// No room for the file's pages is ENOSPC, as for write: the access
	// gets SIGBUS, as on Linux's tmpfs, and the machine keeps running.
	if materialize(n) != 0 {
		return 0, linux.ENOSPC
	}
	slot := pageSlot(n, pg, true)
	if slot == nil {
		return 0, linux.ENOSPC
	}
	if *slot == 0 {
		// A hole: it gets its frame now, so that the mapping and the file
		// share it.
		p := newFilePage(n) // charged to the file's mount, as a write's
		if p == 0 {
			return 0, linux.ENOSPC
		}
		*slot = p
	}
	return *slot, 0
}

// prepare has nothing to do: frame fills a page when it is first touched.
func (*memPager) prepare(t *thread, ino int32, from, to int64) linux.Errno { return 0 }

// dirty has no data to move, the mapping stored into the file itself, but
// the file has changed: its times say so, as mmap(2) asks ("st_ctime and
// st_mtime ... updated after a write to the mapped region, and before a
// subsequent msync").
func (*memPager) dirty(ino int32, pg int64) {
	n := &inodes[ino]
	n.mtime = walltime()
	n.ctime = n.mtime
}

// sync has nothing to do: the mapping stored into the file itself.

func (*memPager) sync(t *thread, ino int32) linux.Errno { return 0 }

// hold counts a mapping as an open file: an unlinked file keeps its pages
// while mapped, as on Linux.
func (*memPager) hold(ino int32) { inodes[ino].opens++ }

func (*memPager) release(ino int32) {
	inodes[ino].opens--
	release(ino)
}
