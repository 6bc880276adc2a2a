package kernel

import (
	"testing"

	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/mm"
)

// The bookkeeping of file mappings runs on the host: which checks mmap
// makes of the descriptor, the object an area names, and how long the file
// lives. Faults and page tables need the guest (TestMmapFile).

func TestMapFileBookkeeping(t *testing.T) {
	resetFS(t)
	vmas = mm.Map{}
	mapObjs, nMapObjs = [maxMapObjs]mapObj{}, 0
	for i := 3; i < maxFDs; i++ {
		fds[i] = fdEntry{}
	}
	openFiles = [len(openFiles)]openFile{}
	th := &thread{state: tsRunning}

	tmp := lookup(rootIno, []byte("tmp"))
	ino, e := newInode(tmp, []byte("f"), sIFREG|0o644)
	if e != 0 {
		t.Fatal(e)
	}
	inodes[ino].size = 3 * pageSize // a hole: no frame is needed here
	rw := openInode(ino, linux.O_RDWR)
	ro := openInode(ino, linux.O_RDONLY)
	mmap := func(length, prot, flags uint64, fd int64, off uint64) int64 {
		return sysMmap(th, &Frame{RSI: length, RDX: prot, R10: flags, R8: uint64(fd), R9: off})
	}

	for _, c := range []struct {
		name       string
		prot, flag uint64
		fd         int64
		off        uint64
		want       linux.Errno
	}{
		{"shared writable, read-only descriptor", linux.PROT_READ | linux.PROT_WRITE, linux.MAP_SHARED, ro, 0, linux.EACCES},
		{"misaligned offset", linux.PROT_READ, linux.MAP_SHARED, rw, 100, linux.EINVAL},
		{"offset overflow", linux.PROT_READ, linux.MAP_SHARED, rw, 1<<64 - pageSize, linux.EOVERFLOW},
		{"bad descriptor", linux.PROT_READ, linux.MAP_SHARED, 900, 0, linux.EBADF},
		{"no mapping type", linux.PROT_READ, 0, rw, 0, linux.EINVAL},
	} {
		if r := mmap(pageSize, c.prot, c.flag, c.fd, c.off); r != errno(c.want) {
			t.Errorf("%s: mmap = %d, want %d", c.name, r, errno(c.want))
		}
	}
	if nMapObjs != 0 || inodes[ino].opens != 2 {
		t.Fatalf("after failed mmaps: %d objects, %d opens", nMapObjs, inodes[ino].opens)
	}

	a1 := mmap(2*pageSize, linux.PROT_READ|linux.PROT_WRITE, linux.MAP_SHARED, rw, 0)
	a2 := mmap(pageSize, linux.PROT_READ, linux.MAP_SHARED, ro, pageSize)
	a3 := mmap(pageSize, linux.PROT_READ|linux.PROT_WRITE, linux.MAP_PRIVATE, ro, 2*pageSize)
	if a1 < 0 || a2 < 0 || a3 < 0 {
		t.Fatalf("mmap = %d, %d, %d", a1, a2, a3)
	}
	area := func(addr int64) mm.Area { a, _ := vmas.Find(uintptr(addr)); return a }
	if a := area(a1); a.Obj == 0 || a.Flags != mm.Shared || a.Off != 0 {
		t.Errorf("shared read-write area %+v", a)
	}
	if a := area(a2); a.Obj != area(a1).Obj || a.Flags != mm.Shared|mm.NoWrite || a.Off != pageSize {
		t.Errorf("shared read-only area %+v (first %+v)", a, area(a1))
	}
	if a := area(a3); a.Obj != area(a1).Obj || a.Flags != 0 || a.Off != 2*pageSize {
		t.Errorf("private area %+v", a)
	}
	if nMapObjs != 1 || inodes[ino].opens != 3 {
		t.Errorf("%d objects, %d opens; want one object holding the file once", nMapObjs, inodes[ino].opens)
	}
	if r := sysMprotect(th, &Frame{RDI: uint64(a2), RSI: pageSize, RDX: linux.PROT_READ | linux.PROT_WRITE}); r != errno(linux.EACCES) {
		t.Errorf("mprotect PROT_WRITE of a read-only shared mapping = %d, want EACCES", r)
	}

	// Closed and unlinked, the file lives while mapped, and goes with its
	// last mapping.
	closeFD(uint64(rw))
	closeFD(uint64(ro))
	unlinkName(ino)
	if !inodes[ino].used {
		t.Fatal("a mapped file was released at unlink")
	}
	vmas.Remove(uintptr(a1), uintptr(a1)+2*pageSize)
	vmas.Remove(uintptr(a2), uintptr(a2)+pageSize)
	releaseMapObjs()
	if !inodes[ino].used || nMapObjs != 1 {
		t.Fatal("the file went while a private mapping still maps it")
	}
	vmas.Remove(uintptr(a3), uintptr(a3)+pageSize)
	releaseMapObjs()
	if inodes[ino].used || nMapObjs != 0 {
		t.Errorf("after the last munmap: inode used %v, %d objects", inodes[ino].used, nMapObjs)
	}
}
