package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// The file system: one tree in memory, like Linux's tmpfs. Directories and
// names live in a fixed inode table; file contents live in page frames
// reached through direct, indirect and double-indirect slots, as in ext2.
// Files from the image's PVH module (a tar archive) are read in place from
// the module's memory until first written, when they are copied to pages.
//
// Lookups scan the inode table for a parent and a name. That is linear in
// the number of files, which stays in the thousands for the programs and
// test suites this serves; a hash comes when it does not.

const (
	maxInodes    = 8192
	namePoolSize = 512 << 10
	nameMax      = 255
	pathMax      = 4096
	symlinkMax   = 40 // links followed in one lookup, as Linux's ELOOP limit

	nDirect      = 12
	ptrsPerPage  = pageSize / 8
	maxFilePages = nDirect + ptrsPerPage + ptrsPerPage*ptrsPerPage
	maxFileSize  = maxFilePages * pageSize

	rootIno = 0
)

// File types and permission bits of st_mode.
const (
	sIFMT   = 0o170000
	sIFDIR  = 0o040000
	sIFREG  = 0o100000
	sIFLNK  = 0o120000
	sIFCHR  = 0o020000
	sIFIFO  = 0o010000
	sIFSOCK = 0o140000
	modeMax = 0o7777
)

// Character devices under /dev.
const (
	devNone = iota
	devNull
	devZero
	devRandom
	devFull
)

type inode struct {
	used   bool
	dev    uint8 // a device under /dev, for sIFCHR
	mnt    uint8 // the mount it belongs to (mount.go)
	gen    uint8 // a file of /proc made on open (procfs.go); genNone if not
	mode   uint32
	parent int32 // the directory holding this name; -1 when unlinked
	name   span  // in namePool
	nlink  int32
	opens  int32 // open file descriptions; an unlinked inode lives while any
	uid    uint32
	gid    uint32
	size   int64
	atime  int64
	mtime  int64
	ctime  int64

	link   int32   // a hard link: the index+1 of the inode it names; 0 if none
	fifo   int32   // a FIFO: the index+1 of its pipe while open; 0 if none
	usock  int32   // a bound unix socket: the index+1 of the socket; 0 if none
	roData uintptr // contents in the PVH module, until first written; 0 if none
	direct [nDirect]uintptr
	ind    uintptr // a frame of frame addresses
	dind   uintptr // a frame of frames of frame addresses
}

var (
	inodes   [maxInodes]inode
	namePool [namePoolSize]byte
	nameUsed int32
	cwdIno   int32
)

func (n *inode) isDir() bool  { return n.mode&sIFMT == sIFDIR }
func (n *inode) isReg() bool  { return n.mode&sIFMT == sIFREG }
func (n *inode) isLink() bool { return n.mode&sIFMT == sIFLNK }

func (n *inode) nameBytes() []byte {
	return namePool[n.name.off : n.name.off+n.name.len]
}

func inodeIndex(n *inode) int32 {
	return int32((uintptr(unsafe.Pointer(n)) - uintptr(unsafe.Pointer(&inodes[0]))) / unsafe.Sizeof(inode{}))
}

// internName stores a name in the pool. Names are never freed: the pool
// holds what a test suite's worth of renames and creations needs.
func internName(b []byte) (span, linux.Errno) {
	if len(b) > nameMax {
		return span{}, linux.ENAMETOOLONG
	}
	if int(nameUsed)+len(b) > namePoolSize {
		return span{}, linux.ENOSPC
	}
	s := span{nameUsed, int32(len(b))}
	copy(namePool[nameUsed:], b)
	nameUsed += int32(len(b))
	return s, 0
}

// newInode makes an inode named name in directory parent.
func newInode(parent int32, name []byte, mode uint32) (int32, linux.Errno) {
	for i := range inodes {
		n := &inodes[i]
		if n.used {
			continue
		}
		s, e := internName(name)
		if e != 0 {
			return -1, e
		}
		now := walltime()
		*n = inode{used: true, mode: mode, parent: parent, name: s, nlink: 1, atime: now, mtime: now, ctime: now}
		if parent >= 0 {
			n.mnt = inodes[parent].mnt
		}
		if n.isDir() {
			n.nlink = 2
		}
		if parent >= 0 {
			inodes[parent].mtime = now
		}
		return int32(i), 0
	}
	return -1, linux.ENOSPC
}

// lookup finds name in directory dir.
func lookup(dir int32, name []byte) int32 {
	for i := range inodes {
		n := &inodes[i]
		if n.used && n.parent == dir && i != rootIno && bytesEqual(n.nameBytes(), name) {
			return int32(i)
		}
	}
	return -1
}

func bytesEqual(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// dirEmpty reports whether a directory has no entries.
func dirEmpty(dir int32) bool {
	for i := range inodes {
		if inodes[i].used && inodes[i].parent == dir && i != rootIno {
			return false
		}
	}
	return true
}

// release frees an inode once it has neither a name nor an open file.
func release(ino int32) {
	n := &inodes[ino]
	if n.parent >= 0 || n.opens > 0 || n.nlink > 0 || ino == rootIno {
		return
	}
	truncatePages(n, 0)
	n.used = false
}

// unlinkName removes the directory entry ent. The inode it names goes when
// it has no name and no open file left.
func unlinkName(ent int32) {
	n := &inodes[ent]
	now := walltime()
	if n.parent >= 0 {
		inodes[n.parent].mtime = now
		if n.isDir() {
			inodes[n.parent].nlink--
		}
	}
	if n.link != 0 {
		// A hard link: the entry goes, its target loses a name.
		b := n.link - 1
		*n = inode{}
		inodes[b].nlink--
		inodes[b].ctime = now
		release(b)
		return
	}
	n.parent = -1
	if n.isDir() {
		n.nlink = 0
	} else {
		n.nlink--
	}
	n.ctime = now
	release(ent)
}

// Path lookup.

// walkResult is what resolving a path found: the inode (or -1 when the
// last component does not exist), the directory entry that named it (a
// hard link names its target through an entry of its own), the directory,
// and the last component.
type walkResult struct {
	ino     int32
	name    int32
	dir     int32
	last    []byte
	hasDir  bool // the path ended in '/'
	viaLink bool // the last component was a symlink, followed

	// A path that leads into a volume (volume.go): 1 + the mount, the fid
	// the rest starts from, and the rest (in volRestBuf). ino, name and
	// dir are then -1.
	vol       int8
	volFid    uint32
	rest      []byte
	volFollow bool // a symbolic link last in rest is to be followed
}

// resolve walks path from start (a directory inode). With follow, a
// symbolic link in the last component is followed too; a trailing slash
// follows it as well, as on Linux, and makes anything but a directory
// ENOTDIR. The last component is returned in lastNameBuf, not in path or a
// link's target: the trap path cannot let a stack buffer escape to the heap.
func resolve(start int32, path []byte, follow bool) (walkResult, linux.Errno) {
	var linkBuf [pathMax]byte
	r, e := resolveDepth(start, path, follow, 0, linkBuf[:])
	if e == 0 && r.hasDir && r.ino >= 0 && !inodes[r.ino].isDir() {
		e = linux.ENOTDIR
	}
	// A new value, so that nothing returned can point into linkBuf or path.
	return walkResult{ino: r.ino, name: r.name, dir: r.dir, last: lastName(r.last),
		hasDir: r.hasDir, viaLink: r.viaLink, vol: r.vol, volFid: r.volFid, rest: volRestBuf[:len(r.rest)],
		volFollow: r.volFollow}, e
}

// lastNameBuf holds the final component of the last lookup. One CPU and no
// preemption in the kernel make one buffer enough.
var lastNameBuf [nameMax]byte

func lastName(b []byte) []byte {
	n := copy(lastNameBuf[:], b)
	return lastNameBuf[:n]
}

// body returns the inode a directory entry stands for: itself, or the
// target of a hard link.
func body(i int32) int32 {
	if i >= 0 && inodes[i].link != 0 {
		return inodes[i].link - 1
	}
	return i
}

func resolveDepth(start int32, path []byte, follow bool, depth int, linkBuf []byte) (walkResult, linux.Errno) {
	if len(path) == 0 {
		return walkResult{}, linux.ENOENT
	}
	if len(path) > pathMax {
		return walkResult{}, linux.ENAMETOOLONG
	}
	cur := start
	if path[0] == '/' {
		cur = rootIno
	} else if m := volMountAt(cur); m >= 0 {
		return volEnter(m, path, 0, follow), 0 // the working directory is a mount point
	}
	res := walkResult{ino: cur, name: cur, dir: cur}
	res.hasDir = path[len(path)-1] == '/'
	i := 0
	for {
		for i < len(path) && path[i] == '/' {
			i++
		}
		if i == len(path) {
			return res, 0
		}
		j := i
		for j < len(path) && path[j] != '/' {
			j++
		}
		comp := path[i:j]
		lastComp := true
		for k := j; k < len(path); k++ {
			if path[k] != '/' {
				lastComp = false
				break
			}
		}
		if len(comp) > nameMax {
			return res, linux.ENAMETOOLONG
		}
		if res.ino < 0 {
			return res, linux.ENOENT
		}
		dir := &inodes[res.ino]
		if !dir.isDir() {
			return res, linux.ENOTDIR
		}
		var entry int32
		switch {
		case len(comp) == 1 && comp[0] == '.':
			entry = res.ino
		case len(comp) == 2 && comp[0] == '.' && comp[1] == '.':
			entry = dir.parent
			if res.ino == rootIno || entry < 0 {
				entry = rootIno
			}
		default:
			if res.ino == procFdDir {
				refreshFdDir()
			}
			entry = lookup(res.ino, comp)
		}
		next := body(entry)
		if m := volMountAt(next); m >= 0 {
			return volEnter(m, path[j:], 0, follow), 0
		}
		if next >= 0 && inodes[next].isLink() && (!lastComp || follow || res.hasDir) {
			if depth >= symlinkMax {
				return res, linux.ELOOP
			}
			target := linkTarget(next, linkBuf)
			sub, e := resolveDepth(res.ino, target, true, depth+1, linkBuf[len(target):])
			if e != 0 {
				return sub, e
			}
			if sub.vol != 0 {
				if lastComp {
					sub.viaLink = true
					return sub, 0
				}
				return volEnter(int(sub.vol-1), path[j:], len(sub.rest), follow), 0
			}
			if lastComp {
				// A dangling link at the end names where O_CREAT creates.
				sub.hasDir = sub.hasDir || res.hasDir
				sub.viaLink = true
				return sub, 0
			}
			if sub.ino < 0 {
				return sub, linux.ENOENT
			}
			entry, next = sub.name, sub.ino
		}
		res.dir = res.ino
		res.last = comp
		res.ino = next
		res.name = entry
		i = j
	}
}

// linkTarget copies a symlink's target into buf.
func linkTarget(ino int32, buf []byte) []byte {
	n := &inodes[ino]
	k := int(n.size)
	if k > len(buf) {
		k = len(buf)
	}
	readAt(n, buf[:k], 0)
	return buf[:k]
}

// pathOf writes the absolute path of directory ino into buf, from the end,
// and returns it.
func pathOf(ino int32, buf []byte) ([]byte, bool) {
	end := len(buf)
	pos := end
	if ino == rootIno {
		pos--
		buf[pos] = '/'
		return buf[pos:], true
	}
	for ino != rootIno {
		n := &inodes[ino]
		if n.parent < 0 {
			return nil, false // an unlinked directory
		}
		name := n.nameBytes()
		if pos < len(name)+1 {
			return nil, false
		}
		pos -= len(name)
		copy(buf[pos:], name)
		pos--
		buf[pos] = '/'
		ino = n.parent
	}
	return buf[pos:], true
}

// File contents.

// pageSlot returns the slot holding the frame of page pg of n, creating the
// indirect frames when create is set; nil when absent.
func pageSlot(n *inode, pg int64, create bool) *uintptr {
	if pg < nDirect {
		return &n.direct[pg]
	}
	pg -= nDirect
	if pg < ptrsPerPage {
		if !indirect(&n.ind, create) {
			return nil
		}
		return &(*[ptrsPerPage]uintptr)(unsafe.Pointer(n.ind))[pg]
	}
	pg -= ptrsPerPage
	if pg >= ptrsPerPage*ptrsPerPage || !indirect(&n.dind, create) {
		return nil
	}
	l1 := &(*[ptrsPerPage]uintptr)(unsafe.Pointer(n.dind))[pg/ptrsPerPage]
	if !indirect(l1, create) {
		return nil
	}
	return &(*[ptrsPerPage]uintptr)(unsafe.Pointer(*l1))[pg%ptrsPerPage]
}

func indirect(slot *uintptr, create bool) bool {
	if *slot != 0 {
		return true
	}
	if !create {
		return false
	}
	p := allocFrame()
	if p == 0 {
		return false
	}
	clearPage(p)
	*slot = p
	return true
}

// readAt copies contents of n at off into buf and returns the count.
func readAt(n *inode, buf []byte, off int64) int {
	if off >= n.size {
		return 0
	}
	if int64(len(buf)) > n.size-off {
		buf = buf[:n.size-off]
	}
	if n.roData != 0 {
		copy(buf, unsafe.Slice((*byte)(unsafe.Pointer(n.roData+uintptr(off))), len(buf)))
		return len(buf)
	}
	done := 0
	for done < len(buf) {
		pos := off + int64(done)
		pg, in := pos/pageSize, int(pos%pageSize)
		k := pageSize - in
		if k > len(buf)-done {
			k = len(buf) - done
		}
		if slot := pageSlot(n, pg, false); slot != nil && *slot != 0 {
			copy(buf[done:done+k], unsafe.Slice((*byte)(unsafe.Pointer(*slot+uintptr(in))), k))
		} else {
			for i := done; i < done+k; i++ {
				buf[i] = 0 // a hole
			}
		}
		done += k
	}
	return done
}

// materialize moves contents read from the module into pages, before a write.
func materialize(n *inode) linux.Errno {
	if n.roData == 0 {
		return 0
	}
	src, size := n.roData, n.size
	n.roData = 0
	n.size = 0
	k, e := writeAt(n, unsafe.Slice((*byte)(unsafe.Pointer(src)), size), 0)
	if e == 0 && int64(k) < size {
		e = linux.ENOSPC
	}
	if e != 0 {
		// Out of room: the file stays as it was, read from the module.
		truncatePages(n, 0)
		n.roData, n.size = src, size
	}
	return e
}

// writeAt stores buf at off, growing the file; it stops early with ENOSPC
// when memory runs out.
func writeAt(n *inode, buf []byte, off int64) (int, linux.Errno) {
	if e := materialize(n); e != 0 {
		return 0, e
	}
	if off+int64(len(buf)) > maxFileSize || off+int64(len(buf)) < off {
		return 0, linux.EFBIG
	}
	if off > n.size {
		zeroTail(n)
	}
	done := 0
	for done < len(buf) {
		pos := off + int64(done)
		pg, in := pos/pageSize, int(pos%pageSize)
		k := pageSize - in
		if k > len(buf)-done {
			k = len(buf) - done
		}
		slot := pageSlot(n, pg, true)
		if slot != nil && *slot == 0 {
			*slot = newFilePage(n)
		}
		if slot == nil || *slot == 0 {
			if done == 0 {
				return 0, linux.ENOSPC
			}
			break
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(*slot+uintptr(in))), k), buf[done:done+k])
		done += k
	}
	if end := off + int64(done); end > n.size {
		n.size = end
	}
	n.mtime = walltime()
	n.ctime = n.mtime
	return done, 0
}

// newFilePage returns a zeroed frame for a page of n's contents, charged to
// its mount; 0 when the mount is at its limit or memory is out. Every page
// a file holds comes from here, so that truncatePages can give it back.
func newFilePage(n *inode) uintptr {
	m := &mounts[n.mnt]
	if !chargePage(m) {
		return 0
	}
	p := allocFrame()
	if p == 0 {
		unchargePage(m)
		return 0
	}
	clearPage(p)
	return p
}

// truncatePages sets the size of n, freeing the pages past it.
func truncatePages(n *inode, size int64) linux.Errno {
	if n.roData != 0 {
		if size == 0 {
			n.roData, n.size = 0, 0
			return 0
		}
		if e := materialize(n); e != 0 {
			return e
		}
	}
	if size > maxFileSize {
		return linux.EFBIG
	}
	keep := (size + pageSize - 1) / pageSize
	if size > n.size {
		zeroTail(n)
	} else {
		unmapFilePages(pagerMem, inodeIndex(n), keep)
	}
	for pg := keep; pg < (n.size+pageSize-1)/pageSize; pg++ {
		if slot := pageSlot(n, pg, false); slot != nil && *slot != 0 {
			freeFrame(*slot)
			*slot = 0
			unchargePage(&mounts[n.mnt])
		}
	}
	if size%pageSize != 0 {
		// Zero the tail of the last page, so growing again reads zeros.
		if slot := pageSlot(n, keep-1, false); slot != nil && *slot != 0 {
			tail := unsafe.Slice((*byte)(unsafe.Pointer(*slot)), pageSize)[size%pageSize:]
			for i := range tail {
				tail[i] = 0
			}
		}
	}
	if keep <= nDirect {
		freeIndirect(&n.ind, 1)
		freeIndirect(&n.dind, 2)
	}
	n.size = size
	n.mtime = walltime()
	n.ctime = n.mtime
	return 0
}

// zeroTail zeroes the last page of n past its end, before the file grows:
// a shared mapping may have stored there, and those bytes must not appear
// in the file (Linux drops them too).
func zeroTail(n *inode) {
	if n.size%pageSize == 0 || n.roData != 0 {
		return
	}
	if slot := pageSlot(n, n.size/pageSize, false); slot != nil && *slot != 0 {
		tail := unsafe.Slice((*byte)(unsafe.Pointer(*slot)), pageSize)[n.size%pageSize:]
		for i := range tail {
			tail[i] = 0
		}
	}
}

// freeIndirect frees an indirect frame of the given depth whose entries
// are all released.
func freeIndirect(slot *uintptr, depth int) {
	if *slot == 0 {
		return
	}
	if depth == 2 {
		t := (*[ptrsPerPage]uintptr)(unsafe.Pointer(*slot))
		for i := range t {
			freeIndirect(&t[i], 1)
		}
	}
	freeFrame(*slot)
	*slot = 0
}

// Boot: the tree, /dev, /tmp, and the module's files.

func fsInit() {
	inodes[rootIno] = inode{used: true, mode: sIFDIR | 0o755, parent: rootIno, nlink: 2}
	rootMount()
	now := walltime()
	inodes[rootIno].atime, inodes[rootIno].mtime, inodes[rootIno].ctime = now, now, now
	dev := mkdirAll([]byte("/dev"))
	for _, d := range [...]struct {
		name string
		dev  uint8
	}{{"null", devNull}, {"zero", devZero}, {"random", devRandom}, {"urandom", devRandom}, {"full", devFull}} {
		if ino, e := newInode(dev, []byte(d.name), sIFCHR|0o666); e == 0 {
			inodes[ino].dev = d.dev
		}
	}
	addMount(dev, mkDev, false, 0)
	if tmp := mkdirAll([]byte("/tmp")); tmp >= 0 {
		inodes[tmp].mode = sIFDIR | 0o1777
		addMount(tmp, mkTmpfs, false, tmpfsPages())
	}
	// The directories and /etc files programs expect of a Linux system.
	for _, d := range [...]string{"/etc", "/usr/bin", "/usr/lib", "/var/tmp", "/home", "/root"} {
		mkdirAll([]byte(d))
	}
	etc := lookup(rootIno, []byte("etc"))
	for _, ef := range [...]struct{ name, body string }{
		{"passwd", "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"},
		{"group", "root:x:0:\nnogroup:x:65534:\n"},
		{"hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
		{"nsswitch.conf", "hosts: files dns\n"},
	} {
		if ino, e := newInode(etc, []byte(ef.name), sIFREG|0o644); e == 0 {
			writeAt(&inodes[ino], []byte(ef.body), 0)
		}
	}
	// The host name, where programs look for it: /etc/hostname, and
	// /proc/sys/kernel/hostname (procfs.go).
	if ino, e := newInode(etc, []byte("hostname"), sIFREG|0o644); e == 0 {
		writeAt(&inodes[ino], hostName(), 0)
		writeAt(&inodes[ino], []byte("\n"), inodes[ino].size)
	}
	procInit()
	cwdIno = rootIno
	if len(cwd.bytes()) > 0 && cwd.bytes()[0] == '/' {
		if d := mkdirAll(cwd.bytes()); d >= 0 {
			cwdIno = d
		}
	}
	// rw= directories are writable, their image files included: a tmpfs
	// that starts with what the image has there.
	for i := 0; i < nrw; i++ {
		if p := rwPaths[i].bytes(); len(p) > 0 && p[0] == '/' {
			addMount(mkdirAll(p), mkTmpfs, false, tmpfsPages())
		}
	}
	if initrd.end > initrd.start {
		unpackTar(cwdIno, initrdAddr, initrdAddr+initrd.end-initrd.start)
	}
}

// mkdirAll makes the directories of an absolute path and returns the last.
func mkdirAll(path []byte) int32 {
	cur := int32(rootIno)
	i := 0
	for i < len(path) {
		for i < len(path) && path[i] == '/' {
			i++
		}
		j := i
		for j < len(path) && path[j] != '/' {
			j++
		}
		if j > i {
			next := lookup(cur, path[i:j])
			if next < 0 {
				n, e := newInode(cur, path[i:j], sIFDIR|0o755)
				if e != 0 {
					return -1
				}
				inodes[cur].nlink++
				next = n
			}
			cur = next
		}
		i = j
	}
	return cur
}

// unpackTar adds the entries of the ustar/PAX archive in [start, end) under
// directory dir. File contents stay where they are.
func unpackTar(dir int32, start, end uintptr) {
	var longName [pathMax]byte
	longLen := 0
	for p := start; p+512 <= end; {
		h := unsafe.Slice((*byte)(unsafe.Pointer(p)), 512)
		if h[0] == 0 {
			return // the end-of-archive blocks
		}
		size := int64(octal(h[124:136]))
		data := p + 512
		next := data + uintptr((size+511)&^511)
		if next > end || next < data {
			logRecord().s("module: truncated tar archive").nl()
			return
		}
		typ := h[156]
		var name []byte
		switch {
		case typ == 'x' || typ == 'L':
			longLen = tarLongName(typ, unsafe.Slice((*byte)(unsafe.Pointer(data)), size), longName[:])
			p = next
			continue
		case longLen > 0:
			name = longName[:longLen]
		default:
			name = cstr(h[0:100])
			if prefix := cstr(h[345:500]); len(prefix) > 0 && bytesEqual(h[257:262], []byte("ustar")) {
				if len(prefix)+1+len(name) <= len(longName) {
					copy(longName[:], prefix)
					longName[len(prefix)] = '/'
					copy(longName[len(prefix)+1:], name)
					name = longName[:len(prefix)+1+len(name)]
				}
			}
		}
		longLen = 0
		mode := uint32(octal(h[100:108])) & modeMax
		top := dir
		if len(name) > 0 && name[0] == '/' {
			top = rootIno // an absolute name: a file the guest needs at the host's path
		}
		parent, base := tarParent(top, name)
		if parent >= 0 && len(base) > 0 {
			switch typ {
			case '5':
				if d := lookup(parent, base); d < 0 {
					if ino, e := newInode(parent, base, sIFDIR|mode); e == 0 {
						inodes[parent].nlink++
						_ = ino
					}
				}
			case '0', 0:
				if ino, e := newInode(parent, base, sIFREG|mode); e == 0 {
					inodes[ino].roData = data
					inodes[ino].size = size
				}
			case '2':
				if ino, e := newInode(parent, base, sIFLNK|0o777); e == 0 {
					writeAt(&inodes[ino], cstr(h[157:257]), 0)
				}
			}
		}
		p = next
	}
}

// tarParent makes the directories of a relative tar name under dir and
// returns the parent and the last component.
func tarParent(dir int32, name []byte) (int32, []byte) {
	for len(name) > 0 && name[len(name)-1] == '/' {
		name = name[:len(name)-1]
	}
	cut := -1
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			cut = i
			break
		}
	}
	if cut < 0 {
		return dir, name
	}
	cur := dir
	i := 0
	for i < cut && name[i] == '/' {
		i++
	}
	for i < cut {
		j := i
		for j < cut && name[j] != '/' {
			j++
		}
		if j > i && !(j-i == 1 && name[i] == '.') {
			next := lookup(cur, name[i:j])
			if next < 0 {
				n, e := newInode(cur, name[i:j], sIFDIR|0o755)
				if e != 0 {
					return -1, nil
				}
				inodes[cur].nlink++
				next = n
			}
			cur = next
		}
		i = j + 1
	}
	return cur, name[cut+1:]
}

// tarLongName takes the name from a PAX header ("N path=NAME\n" records) or
// a GNU long-name entry.
func tarLongName(typ byte, data []byte, out []byte) int {
	if typ == 'L' {
		return copy(out, cstr(data))
	}
	for len(data) > 0 {
		sp := 0
		for sp < len(data) && data[sp] != ' ' {
			sp++
		}
		n := int(parseUint(data[:sp]))
		if n <= sp || n > len(data) {
			return 0
		}
		rec := data[sp+1 : n-1] // without the newline
		if len(rec) > 5 && bytesEqual(rec[:5], []byte("path=")) {
			return copy(out, rec[5:])
		}
		data = data[n:]
	}
	return 0
}

func cstr(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

func octal(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		if c == ' ' || c == 0 {
			if v != 0 {
				break
			}
			continue
		}
		if c < '0' || c > '7' {
			break
		}
		v = v*8 + uint64(c-'0')
	}
	return v
}

// hostsInit names the guest in /etc/hosts once the network is known: its
// address (on the user-mode network, with the host as host.mote.internal);
// without a network, 127.0.1.1 as Debian has it.
func hostsInit() {
	if nic.present {
		if addressed() { // a DHCP guest's line comes with its lease (hostsSelf)
			var buf [15]byte
			addHost(buf[:formatIPv4(&netcfg.ip, buf[:])], hostName())
		}
		if !netcfg.custom {
			addHost([]byte("10.0.2.2"), []byte("host.mote.internal"))
		}
		return
	}
	addHost([]byte("127.0.1.1"), hostName())
}

// addHost appends "ADDR\tNAME" to /etc/hosts.
func addHost(addr, name []byte) {
	etc := lookup(rootIno, []byte("etc"))
	if etc < 0 {
		return
	}
	ino := lookup(etc, []byte("hosts"))
	if ino < 0 {
		return
	}
	n := &inodes[ino]
	writeAt(n, addr, n.size)
	writeAt(n, []byte("\t"), n.size)
	writeAt(n, name, n.size)
	writeAt(n, []byte("\n"), n.size)
}
