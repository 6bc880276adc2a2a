package kernel

import "mote.dev/mote/kernel/abi/linux"

// Pagers: what a file system offers mmap. A mapped file is known to the
// memory system only through this interface, so each file system decides
// where its pages live:
//
//   - the in-memory tree (vfs.go, memPager in vfs_pager.go) hands out the
//     frames that hold a file itself, so a MAP_SHARED mapping, read and
//     write all touch the same bytes, and there is nothing to write back;
//   - a file system whose contents live elsewhere (a 9p volume) keeps its
//     pages in the page cache (pagecache.go): frames it fills from the file
//     (at mmap time, in prepare), keeps up to date when the file is written
//     through the kernel (its pwrite copies into cached frames too), and
//     writes back in sync.
//
// The kernel finds the pages a shared mapping has stored into from the
// dirty bit the CPU sets in the page table, and hands them to the pager
// (dirty) whenever it drops a page-table entry or is asked to sync: at
// msync, fsync, munmap, mremap and exit. Stores through a mapping reach the
// file's storage at msync and fsync (sync), as Linux promises; the pager
// should also write dirty pages back when the last mapping goes (release)
// and when the machine stops.
//
// frame, dirty, hold and release run in a page fault or deep in a system
// call: they may not block. prepare and sync run at the top of mmap,
// mremap, msync and fsync, before those change anything, and may block t
// the way a system call on a volume does (block, and the call is made
// again from its start when t wakes); the caller then returns at once.
// Every method runs on the trap path: no heap.
type pager interface {
	// prepare readies pages [from, to) of file id for a new mapping:
	// reads them into frames, for a pager that cannot do so in a fault.
	prepare(t *thread, id int32, from, to int64) linux.Errno
	// frame returns the frame holding page pg (bytes pg*4096 on) of file
	// id, by its kernel address (as allocFrame gives it), filled with the
	// file's contents; bytes past the end of the file read as zero. The
	// frame belongs to the pager and must stay valid until the pager calls
	// unmapFilePages for it (on truncation) or the file is released. EFAULT for a page wholly past the end of the file,
	// ENOSPC when the file system has no room for the page (the access
	// gets SIGBUS for either); ENOMEM when the machine is out of memory.
	frame(id int32, pg int64) (uintptr, linux.Errno)
	// dirty records that a shared mapping stored into page pg of file id.
	// Only the bytes below the file's size count.
	dirty(id int32, pg int64)
	// sync writes the dirty pages of file id back to its storage.
	sync(t *thread, id int32) linux.Errno
	// hold keeps file id (its identity, and its pages) alive while a
	// mapping refers to it, even after close and unlink; release ends that.
	hold(id int32)
	release(id int32)
}

// The pagers, by kind. A file system that maps files adds its kind here
// and answers for its descriptors in pagerOf. The table is filled in by the
// linker: the kernel stores no pointers at run time (no write barriers).
const (
	pagerMem = iota // the in-memory tree: memPager
	pagerVol        // volume files: volPager (vol_pager.go)
	numPagers
)

var pagers = [numPagers]pager{pagerMem: &memPages, pagerVol: &volPages}

// A mapObj is one mapped file: its pager's kind and its identity there.
// Areas of the address-space map name it by index+1 (mm.Area.Obj).
type mapObj struct {
	used bool
	kind uint8
	id   int32
}

func (o *mapObj) pager() pager { return pagers[o.kind] }

// pagerOf returns the pager kind and file identity behind descriptor e;
// false when it cannot be mapped. A file system with a pager of its own
// adds a case for its kind of descriptor. The identity names the file, not
// the open description: two opens of one file must share its pages.
func pagerOf(e *fdEntry) (uint8, int32, bool) {
	switch e.kind {
	case fkFile:
		if ino := openFiles[e.obj].ino; inodes[ino].isReg() {
			return pagerMem, ino, true
		}
	case fkVolume:
		id, ok := volPagerOf(e)
		return pagerVol, id, ok
	}
	return 0, 0, false
}

const maxMapObjs = 256

var (
	mapObjs  [maxMapObjs]mapObj
	nMapObjs int // objects in use, so that munmap of anonymous memory skips the scan
)

// mapObjFor returns the object for file id of pager kind, making one (and
// holding the file) on first use; 0 when the table is full.
func mapObjFor(kind uint8, id int32) int32 {
	if obj := findMapObj(kind, id); obj != 0 {
		return obj
	}
	for i := range mapObjs {
		if o := &mapObjs[i]; !o.used {
			*o = mapObj{used: true, kind: kind, id: id}
			nMapObjs++
			o.pager().hold(id)
			return int32(i + 1)
		}
	}
	return 0
}

// findMapObj returns the object of file id of pager kind, 0 if not mapped.
func findMapObj(kind uint8, id int32) int32 {
	if nMapObjs == 0 {
		return 0
	}
	for i := range mapObjs {
		if o := &mapObjs[i]; o.used && o.kind == kind && o.id == id {
			return int32(i + 1)
		}
	}
	return 0
}

// releaseMapObjs lets go of the files no area maps any more. Called after
// areas are removed or replaced.
func releaseMapObjs() {
	if nMapObjs == 0 {
		return
	}
	for i := range mapObjs {
		o := &mapObjs[i]
		if o.used && !vmas.Uses(int32(i+1)) {
			p, id := o.pager(), o.id
			*o = mapObj{}
			nMapObjs--
			p.release(id)
		}
	}
}

// objOf returns the mapped file an area names.
func objOf(obj int32) *mapObj { return &mapObjs[obj-1] }
