package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// File-system system calls over the tree in vfs.go.

// openFile is an open file description: what open(2) makes and dup shares.
type openFile struct {
	used  bool
	ino   int32
	off   int64
	flags uint64
}

var (
	openFiles [1024]openFile
	umask     uint32 = 0o022
)

const (
	atSymlinkNofollow = 0x100
	atRemovedir       = 0x200
	atSymlinkFollow   = 0x400
	atEmptyPath       = 0x1000
	oTmpfile          = 0x400000
	renameNoreplace   = 1
	renameExchange    = 2
	utimeNow          = 1<<30 - 1
	utimeOmit         = 1<<30 - 2
	tmpfsMagic        = 0x01021994
)

// atFDCWD is AT_FDCWD as a register holds it.
const atFDCWD uint64 = 1<<64 - 100

// userPath reads a path argument.
func userPath(addr uintptr, buf []byte) ([]byte, linux.Errno) {
	p, ok := userString(addr, buf)
	if !ok {
		if userOK(addr, 1, false) && userOK(addr, uintptr(len(buf)), false) {
			return nil, linux.ENAMETOOLONG
		}
		return nil, linux.EFAULT
	}
	return p, 0
}

// fileOf returns the open file behind fd, if fd is one.
func fileOf(fd uint64) (*openFile, *fdEntry) {
	e := getFD(fd)
	if e == nil || e.kind != fkFile {
		return nil, e
	}
	return &openFiles[e.obj], e
}

// startDir is where a relative path given with dirfd starts.
func startDir(dirfd uint64) (int32, linux.Errno) {
	if int32(dirfd) == linux.AT_FDCWD {
		return cwdIno, 0
	}
	of, e := fileOf(dirfd)
	if of == nil {
		if e == nil {
			return -1, linux.EBADF
		}
		return -1, linux.ENOTDIR
	}
	if !inodes[of.ino].isDir() {
		return -1, linux.ENOTDIR
	}
	return of.ino, 0
}

// lookupAt resolves a path argument of an *at system call.
func lookupAt(dirfd uint64, pathAddr uintptr, follow bool) (walkResult, linux.Errno) {
	var buf [pathMax]byte
	p, e := userPath(pathAddr, buf[:])
	if e != 0 {
		return walkResult{}, e
	}
	if int32(dirfd) == linux.AT_FDCWD {
		if r, ok := volCwdLookup(p, follow); ok {
			return r, 0
		}
	}
	if vf := volFileOf(dirfd); vf != nil && len(p) > 0 && p[0] != '/' {
		if !vf.dir {
			return walkResult{}, linux.ENOTDIR
		}
		r := volEnter(int(vf.m), p, 0, follow)
		r.volFid = vf.fid
		return r, 0
	}
	start, e := startDir(dirfd)
	if e != 0 && (len(p) == 0 || p[0] != '/') {
		return walkResult{}, e
	}
	return resolve(start, p, follow)
}

func openInode(ino int32, flags uint64) int64 {
	for i := range openFiles {
		if openFiles[i].used {
			continue
		}
		fd := allocFD(fkFile, int32(i), flags&^(linux.O_CREAT|linux.O_EXCL|linux.O_TRUNC|linux.O_CLOEXEC|linux.O_NOCTTY), flags&linux.O_CLOEXEC != 0)
		if fd < 0 {
			return errno(linux.EMFILE)
		}
		openFiles[i] = openFile{used: true, ino: ino, flags: flags}
		inodes[ino].opens++
		return fd
	}
	return errno(linux.ENFILE)
}

// closeFile drops an open file description whose last descriptor closed.
func closeFile(obj int32) {
	of := &openFiles[obj]
	of.used = false
	inodes[of.ino].opens--
	release(of.ino)
}

// sysOpenat implements openat(2).
func sysOpenat(t *thread, f *Frame) int64 {
	return openAt(t, f.RDI, uintptr(f.RSI), f.RDX, uint32(f.R10))
}

// sysOpen implements open(2).
func sysOpen(t *thread, f *Frame) int64 {
	return openAt(t, atFDCWD, uintptr(f.RDI), f.RSI, uint32(f.RDX))
}

// sysCreat implements creat(2).
func sysCreat(t *thread, f *Frame) int64 {
	return openAt(t, atFDCWD, uintptr(f.RDI), linux.O_CREAT|linux.O_WRONLY|linux.O_TRUNC, uint32(f.RSI))
}

func openAt(t *thread, dirfd uint64, path uintptr, flags uint64, mode uint32) int64 {
	if flags&oTmpfile == oTmpfile {
		return errno(linux.EOPNOTSUPP)
	}
	// O_CREAT|O_EXCL never follows a final symlink: a dangling one is EEXIST.
	excl := flags&(linux.O_CREAT|linux.O_EXCL) == linux.O_CREAT|linux.O_EXCL
	r, e := lookupAt(dirfd, path, flags&linux.O_NOFOLLOW == 0 && !excl)
	if e != 0 {
		return errno(e)
	}
	if r.vol != 0 {
		p := volPathOf(&r)
		return volOpen(t, &p, flags, mode)
	}
	acc := flags & linux.O_ACCMODE
	if r.ino < 0 {
		if flags&linux.O_CREAT == 0 {
			return errno(linux.ENOENT)
		}
		if r.hasDir {
			return errno(linux.EISDIR)
		}
		if r.dir < 0 || !inodes[r.dir].isDir() {
			return errno(linux.ENOENT)
		}
		ino, e := createIn(r.dir, r.last, sIFREG|mode&modeMax&^umask)
		if e != 0 {
			return errno(e)
		}
		fd := openInode(ino, flags)
		if fd < 0 {
			unlinkName(ino)
		}
		return fd
	}
	n := &inodes[r.ino]
	switch {
	case flags&(linux.O_CREAT|linux.O_EXCL) == linux.O_CREAT|linux.O_EXCL:
		return errno(linux.EEXIST)
	case n.isLink():
		return errno(linux.ELOOP) // O_NOFOLLOW on a link
	case flags&linux.O_DIRECTORY != 0 && !n.isDir(), r.hasDir && !n.isDir():
		return errno(linux.ENOTDIR)
	case n.isDir() && (acc != linux.O_RDONLY || flags&linux.O_CREAT != 0):
		return errno(linux.EISDIR)
	}
	if n.mode&sIFMT == sIFIFO {
		return openFIFO(t, r.ino, flags)
	}
	// A read-only mount refuses to open its files and directories for
	// writing, or to truncate them; devices stay writable, as on Linux.
	if acc != linux.O_RDONLY || flags&linux.O_TRUNC != 0 && n.isReg() {
		if n.isReg() || n.isDir() {
			if e := writable(r.ino); e != 0 {
				return errno(e)
			}
		}
	}
	if n.gen != genNone && n.isReg() {
		snap, e := procSnapshot(r.ino)
		if e != 0 {
			return errno(e)
		}
		fd := openInode(snap, flags)
		release(snap) // when openInode failed
		return fd
	}
	if flags&linux.O_TRUNC != 0 && n.isReg() && acc != linux.O_RDONLY {
		if e := truncatePages(n, 0); e != 0 {
			return errno(e)
		}
	}
	return openInode(r.ino, flags)
}

// fileRead reads an open file at off; advance says whether to move its offset.
func fileRead(of *openFile, buf []byte, off int64, advance bool) int64 {
	if of.flags&linux.O_ACCMODE == linux.O_WRONLY {
		return errno(linux.EBADF)
	}
	n := &inodes[of.ino]
	switch {
	case n.isDir():
		return errno(linux.EISDIR)
	case n.mode&sIFMT == sIFCHR:
		switch n.dev {
		case devNull:
			return 0
		case devRandom:
			for i := 0; i < len(buf); i += 8 {
				v := randomU64()
				for j := 0; j < 8 && i+j < len(buf); j++ {
					buf[i+j] = byte(v >> (8 * j))
				}
			}
		default: // zero, full
			for i := range buf {
				buf[i] = 0
			}
		}
		return int64(len(buf))
	}
	k := readAt(n, buf, off)
	if advance {
		of.off = off + int64(k)
	}
	return int64(k)
}

// fileWrite writes an open file at off (at the end with O_APPEND).
func fileWrite(of *openFile, buf []byte, off int64, advance bool) int64 {
	if of.flags&linux.O_ACCMODE == linux.O_RDONLY {
		return errno(linux.EBADF)
	}
	n := &inodes[of.ino]
	if n.mode&sIFMT == sIFCHR {
		if n.dev == devFull {
			return errno(linux.ENOSPC)
		}
		return int64(len(buf))
	}
	if of.flags&linux.O_APPEND != 0 && advance {
		off = n.size
	}
	if len(buf) == 0 {
		return 0
	}
	k, e := writeAt(n, buf, off)
	if k == 0 && e != 0 {
		return errno(e)
	}
	if advance {
		of.off = off + int64(k)
	}
	return int64(k)
}

// seekable returns the open file behind fd for the calls that take an
// offset: EBADF for no descriptor, ESPIPE for one that is not a file.
func seekable(fd uint64) (*openFile, linux.Errno) {
	of, e := fileOf(fd)
	if of == nil {
		if e == nil {
			return nil, linux.EBADF
		}
		return nil, linux.ESPIPE
	}
	return of, 0
}

// positioned serves pread64 and pwrite64: I/O at an offset that leaves the
// file's own offset alone.
func positioned(t *thread, f *Frame, write bool) int64 {
	if e := getFD(f.RDI); e != nil && e.kind == fkVolume {
		return volRW(t, e, uintptr(f.RSI), f.RDX, int64(f.R10), false, write)
	}
	of, e := seekable(f.RDI)
	if e != 0 {
		return errno(e)
	}
	if int64(f.R10) < 0 {
		return errno(linux.EINVAL)
	}
	buf, ok := userBytes(uintptr(f.RSI), uintptr(f.RDX), !write)
	if !ok {
		return errno(linux.EFAULT)
	}
	if write {
		return fileWrite(of, buf, int64(f.R10), false)
	}
	return fileRead(of, buf, int64(f.R10), false)
}

// sysPread64 implements pread64(2).
func sysPread64(t *thread, f *Frame) int64 { return positioned(t, f, false) }

// sysPwrite64 implements pwrite64(2).
func sysPwrite64(t *thread, f *Frame) int64 { return positioned(t, f, true) }

// sysLseek implements lseek(2).
func sysLseek(t *thread, f *Frame) int64 {
	if vf := volFileOf(f.RDI); vf != nil {
		return volLseek(t, vf, int64(f.RSI), f.RDX)
	}
	of, e := seekable(f.RDI)
	if e != 0 {
		return errno(e)
	}
	const seekSet, seekCur, seekEnd, seekData, seekHole = 0, 1, 2, 3, 4
	n := &inodes[of.ino]
	off := int64(f.RSI)
	switch f.RDX {
	case seekSet:
	case seekCur:
		off += of.off
	case seekEnd:
		off += n.size
	case seekData:
		if off >= n.size {
			return errno(linux.ENXIO)
		}
	case seekHole:
		if off >= n.size {
			return errno(linux.ENXIO)
		}
		off = n.size
	default:
		return errno(linux.EINVAL)
	}
	if off < 0 {
		return errno(linux.EINVAL)
	}
	of.off = off
	return off
}

// statInode writes struct stat (amd64) for inode ino to addr.
func statInode(ino int32, addr uintptr) int64 {
	n := &inodes[ino]
	var st [144]byte
	put := func(off int, v uint64) { *(*uint64)(unsafe.Pointer(&st[off])) = v }
	put(0, mountOf(ino).dev) // st_dev
	put(8, uint64(ino)+1)    // st_ino
	put(16, uint64(n.nlink)) // st_nlink
	*(*uint32)(unsafe.Pointer(&st[24])) = n.mode
	*(*uint32)(unsafe.Pointer(&st[28])) = n.uid
	*(*uint32)(unsafe.Pointer(&st[32])) = n.gid
	if n.mode&sIFMT == sIFCHR {
		put(40, 1<<8|uint64(n.dev)) // st_rdev: major 1, as Linux's mem devices
	}
	put(48, uint64(n.size))
	put(56, pageSize)
	put(64, uint64((n.size+511)/512))
	for i, ts := range [...]int64{n.atime, n.mtime, n.ctime} {
		put(72+16*i, uint64(ts/1e9))
		put(80+16*i, uint64(ts%1e9))
	}
	if !copyOut(addr, st[:]) {
		return errno(linux.EFAULT)
	}
	return 0
}

// statFD is fstat for any descriptor.
func statFD(fd uint64, addr uintptr) int64 {
	e := getFD(fd)
	if e == nil {
		return errno(linux.EBADF)
	}
	switch e.kind {
	case fkFile:
		return statInode(openFiles[e.obj].ino, addr)
	case fkConsole:
		return statConsole(addr)
	case fkPipeRead, fkPipeWrite:
		return statMode(addr, sIFIFO|0o600)
	case fkSocket, fkUnix:
		return statMode(addr, sIFSOCK|0o777)
	}
	return statMode(addr, 0o600)
}

// sysFstat implements fstat(2).
func sysFstat(t *thread, f *Frame) int64 {
	if vf := volFileOf(f.RDI); vf != nil {
		return volFstat(t, vf, uintptr(f.RSI))
	}
	return statFD(f.RDI, uintptr(f.RSI))
}

// sysNewfstatat implements newfstatat(2).
func sysNewfstatat(t *thread, f *Frame) int64 {
	if f.R10&atEmptyPath != 0 {
		var b [1]byte
		if p, ok := userString(uintptr(f.RSI), b[:]); ok && len(p) == 0 {
			if int32(f.RDI) == linux.AT_FDCWD {
				return statInode(cwdIno, uintptr(f.RDX))
			}
			if vf := volFileOf(f.RDI); vf != nil {
				return volFstat(t, vf, uintptr(f.RDX))
			}
			return statFD(f.RDI, uintptr(f.RDX))
		}
	}
	return statPath(t, f.RDI, uintptr(f.RSI), uintptr(f.RDX), f.R10&atSymlinkNofollow == 0)
}

func statPath(t *thread, dirfd uint64, path, addr uintptr, follow bool) int64 {
	r, e := lookupAt(dirfd, path, follow)
	if e != 0 {
		return errno(e)
	}
	if r.vol != 0 {
		p := volPathOf(&r)
		return volStat(t, &p, addr)
	}
	if r.ino < 0 {
		return errno(linux.ENOENT)
	}
	if r.hasDir && !inodes[r.ino].isDir() {
		return errno(linux.ENOTDIR)
	}
	return statInode(r.ino, addr)
}

// sysStat implements stat(2).
func sysStat(t *thread, f *Frame) int64 {
	return statPath(t, atFDCWD, uintptr(f.RDI), uintptr(f.RSI), true)
}

// sysLstat implements lstat(2).
func sysLstat(t *thread, f *Frame) int64 {
	return statPath(t, atFDCWD, uintptr(f.RDI), uintptr(f.RSI), false)
}

// sysGetdents64 implements getdents64(2). The file offset counts entries:
// 0 is ".", 1 is "..", and k+2 resumes the scan at inode k.
func sysGetdents64(t *thread, f *Frame) int64 {
	if vf := volFileOf(f.RDI); vf != nil {
		buf, ok := userBytes(uintptr(f.RSI), uintptr(f.RDX), true)
		if !ok {
			return errno(linux.EFAULT)
		}
		return volGetdents(t, vf, buf)
	}
	of, e := fileOf(f.RDI)
	if of == nil {
		if e == nil {
			return errno(linux.EBADF)
		}
		return errno(linux.ENOTDIR)
	}
	dir := &inodes[of.ino]
	if !dir.isDir() {
		return errno(linux.ENOTDIR)
	}
	if of.ino == procFdDir {
		refreshFdDir()
	}
	buf, ok := userBytes(uintptr(f.RSI), uintptr(f.RDX), true)
	if !ok {
		return errno(linux.EFAULT)
	}
	used := 0
	emit := func(ino int32, typ uint8, name []byte, next int64) bool {
		reclen := (19 + len(name) + 1 + 7) &^ 7
		if used+reclen > len(buf) {
			return false
		}
		rec := buf[used : used+reclen]
		for i := range rec {
			rec[i] = 0
		}
		*(*uint64)(unsafe.Pointer(&rec[0])) = uint64(ino) + 1
		*(*int64)(unsafe.Pointer(&rec[8])) = next
		*(*uint16)(unsafe.Pointer(&rec[16])) = uint16(reclen)
		rec[18] = typ
		copy(rec[19:], name)
		used += reclen
		return true
	}
	const dtDir = 4
	for of.off < 2 {
		name, ino := []byte("."), of.ino
		if of.off == 1 {
			name, ino = []byte(".."), dir.parent
			if ino < 0 {
				ino = of.ino
			}
		}
		if !emit(ino, dtDir, name, of.off+1) {
			return getdentsResult(used)
		}
		of.off++
	}
	for i := of.off - 2; i < maxInodes; i++ {
		n := &inodes[i]
		if !n.used || n.parent != of.ino || i == rootIno {
			continue
		}
		b := body(int32(i))
		if !emit(b, dirType(&inodes[b]), n.nameBytes(), i+3) {
			return getdentsResult(used)
		}
		of.off = i + 3
	}
	of.off = maxInodes + 2
	return int64(used)
}

func getdentsResult(used int) int64 {
	if used == 0 {
		return errno(linux.EINVAL) // the buffer holds not even one entry
	}
	return int64(used)
}

func dirType(n *inode) uint8 {
	switch n.mode & sIFMT {
	case sIFDIR:
		return 4
	case sIFREG:
		return 8
	case sIFLNK:
		return 10
	case sIFCHR:
		return 2
	case sIFIFO:
		return 1
	case sIFSOCK:
		return 12
	}
	return 0
}

// sysMkdirat implements mkdirat(2).
func sysMkdirat(t *thread, f *Frame) int64 { return mkdirAt(t, f.RDI, uintptr(f.RSI), uint32(f.RDX)) }

// sysMkdir implements mkdir(2).
func sysMkdir(t *thread, f *Frame) int64 {
	return mkdirAt(t, atFDCWD, uintptr(f.RDI), uint32(f.RSI))
}

func mkdirAt(t *thread, dirfd uint64, path uintptr, mode uint32) int64 {
	r, e := lookupAt(dirfd, path, false)
	if e != 0 {
		return errno(e)
	}
	if r.vol != 0 {
		p := volPathOf(&r)
		return volMkdir(t, &p, mode)
	}
	if r.ino >= 0 || r.viaLink {
		return errno(linux.EEXIST) // a dangling symlink is a name too
	}
	if r.dir < 0 || len(r.last) == 0 {
		return errno(linux.ENOENT)
	}
	ino, e := createIn(r.dir, r.last, sIFDIR|mode&modeMax&^umask)
	if e != 0 {
		return errno(e)
	}
	inodes[r.dir].nlink++
	_ = ino
	return 0
}

// sysUnlinkat implements unlinkat(2).
func sysUnlinkat(t *thread, f *Frame) int64 {
	if f.RDX&^atRemovedir != 0 {
		return errno(linux.EINVAL)
	}
	return unlinkAt(t, f.RDI, uintptr(f.RSI), f.RDX&atRemovedir != 0)
}

// sysUnlink implements unlink(2).
func sysUnlink(t *thread, f *Frame) int64 {
	return unlinkAt(t, atFDCWD, uintptr(f.RDI), false)
}

// sysRmdir implements rmdir(2).
func sysRmdir(t *thread, f *Frame) int64 {
	return unlinkAt(t, atFDCWD, uintptr(f.RDI), true)
}

func unlinkAt(t *thread, dirfd uint64, path uintptr, rmdir bool) int64 {
	r, e := lookupAt(dirfd, path, false)
	if e != 0 {
		return errno(e)
	}
	if r.vol != 0 {
		p := volPathOf(&r)
		return volUnlink(t, &p, rmdir)
	}
	// Linux asks the mount for write access before it looks the name up:
	// on a read-only mount even a missing name is EROFS.
	if e := writable(r.dir); e != 0 {
		return errno(e)
	}
	if r.ino < 0 {
		return errno(linux.ENOENT)
	}
	n := &inodes[r.ino]
	if rmdir {
		switch {
		case !n.isDir():
			return errno(linux.ENOTDIR)
		case r.ino == rootIno:
			return errno(linux.EBUSY)
		case len(r.last) == 1 && r.last[0] == '.':
			return errno(linux.EINVAL)
		case !dirEmpty(r.ino):
			return errno(linux.ENOTEMPTY)
		}
	} else if n.isDir() || r.hasDir {
		return errno(linux.EISDIR)
	}
	unlinkName(r.name)
	return 0
}

// sysRenameat2 implements renameat2(2) with RENAME_NOREPLACE.
func sysRenameat2(t *thread, f *Frame) int64 {
	if f.R8&^renameNoreplace != 0 {
		return errno(linux.EINVAL)
	}
	return renameAt(t, f.RDI, uintptr(f.RSI), f.RDX, uintptr(f.R10), f.R8&renameNoreplace != 0)
}

// sysRenameat implements renameat(2).
func sysRenameat(t *thread, f *Frame) int64 {
	return renameAt(t, f.RDI, uintptr(f.RSI), f.RDX, uintptr(f.R10), false)
}

// sysRename implements rename(2).
func sysRename(t *thread, f *Frame) int64 {
	cwdFD := atFDCWD
	return renameAt(t, cwdFD, uintptr(f.RDI), cwdFD, uintptr(f.RSI), false)
}

func renameAt(t *thread, olddirfd uint64, oldpath uintptr, newdirfd uint64, newpath uintptr, noreplace bool) int64 {
	from, e := lookupAt(olddirfd, oldpath, false)
	if e != 0 {
		return errno(e)
	}
	if from.vol != 0 {
		src := volPathOf(&from)
		src.rest = volRenameBuf[:copy(volRenameBuf[:], src.rest)]
		to, e := lookupAt(newdirfd, newpath, false)
		if e != 0 {
			return errno(e)
		}
		if to.vol == 0 {
			return errno(linux.EXDEV)
		}
		dst := volPathOf(&to)
		return volRename(t, &src, &dst, noreplace)
	}
	// Keep from's fields: the second lookup reuses the last-name buffer.
	fromIno, fromName, fromDir := from.ino, from.name, from.dir
	fromDots := isDots(from.last)
	to, e := lookupAt(newdirfd, newpath, false)
	if e != 0 {
		return errno(e)
	}
	if to.vol != 0 {
		return errno(linux.EXDEV) // from the tree in memory into a volume
	}
	// As Linux: two mounts first (EXDEV), then a read-only one (EROFS),
	// before the names themselves.
	if e := sameMount(fromDir, to.dir); e != 0 {
		return errno(e)
	}
	if e := writable(fromDir); e != 0 {
		return errno(e)
	}
	from.ino, from.name, from.dir = fromIno, fromName, fromDir
	if from.ino < 0 {
		return errno(linux.ENOENT)
	}
	if from.ino == rootIno || fromDots {
		return errno(linux.EBUSY) // "." and ".." are not names that can move
	}
	if to.ino == rootIno || isDots(to.last) {
		return errno(linux.EBUSY)
	}
	if to.dir < 0 || !inodes[to.dir].isDir() {
		return errno(linux.ENOENT)
	}
	if to.ino == from.ino {
		return 0
	}
	src := &inodes[from.ino]  // what moves
	ent := &inodes[from.name] // the entry that names it
	// A directory cannot move below itself.
	if src.isDir() {
		for d := to.dir; ; d = inodes[d].parent {
			if d == from.ino {
				return errno(linux.EINVAL)
			}
			if d == rootIno || d < 0 {
				break
			}
		}
	}
	var name span
	if to.ino >= 0 {
		if noreplace {
			return errno(linux.EEXIST)
		}
		dst := &inodes[to.ino]
		switch {
		case src.isDir() && !dst.isDir():
			return errno(linux.ENOTDIR)
		case !src.isDir() && dst.isDir():
			return errno(linux.EISDIR)
		case dst.isDir() && !dirEmpty(to.ino):
			return errno(linux.ENOTEMPTY)
		}
		name = inodes[to.name].name
		unlinkName(to.name)
	} else {
		if to.hasDir && !src.isDir() {
			return errno(linux.ENOTDIR)
		}
		var e linux.Errno
		if name, e = internName(to.last); e != 0 {
			return errno(e)
		}
	}
	if src.isDir() {
		inodes[ent.parent].nlink--
		inodes[to.dir].nlink++
	}
	ent.parent = to.dir
	ent.name = name
	now := walltime()
	src.ctime = now
	inodes[to.dir].mtime = now
	return 0
}

// sysReadlinkat implements readlinkat(2).
func sysReadlinkat(t *thread, f *Frame) int64 {
	return readlinkAt(t, f.RDI, uintptr(f.RSI), uintptr(f.RDX), f.R10)
}

// sysReadlink implements readlink(2).
func sysReadlink(t *thread, f *Frame) int64 {
	return readlinkAt(t, atFDCWD, uintptr(f.RDI), uintptr(f.RSI), f.RDX)
}

func readlinkAt(t *thread, dirfd uint64, path, buf uintptr, size uint64) int64 {
	if int64(size) <= 0 {
		return errno(linux.EINVAL)
	}
	r, e := lookupAt(dirfd, path, false)
	if e != 0 {
		return errno(e)
	}
	if r.vol != 0 {
		p := volPathOf(&r)
		return volReadlink(t, &p, buf, size)
	}
	if r.ino < 0 {
		return errno(linux.ENOENT)
	}
	if !inodes[r.ino].isLink() {
		return errno(linux.EINVAL)
	}
	var tb [pathMax]byte
	target := linkTarget(r.ino, tb[:])
	if uint64(len(target)) > size {
		target = target[:size]
	}
	if !copyOut(buf, target) {
		return errno(linux.EFAULT)
	}
	return int64(len(target))
}

// sysSymlinkat implements symlinkat(2).
func sysSymlinkat(t *thread, f *Frame) int64 {
	return symlinkAt(t, uintptr(f.RDI), f.RSI, uintptr(f.RDX))
}

// sysSymlink implements symlink(2).
func sysSymlink(t *thread, f *Frame) int64 {
	return symlinkAt(t, uintptr(f.RDI), atFDCWD, uintptr(f.RSI))
}

func symlinkAt(t *thread, target uintptr, dirfd uint64, path uintptr) int64 {
	var tb [pathMax]byte
	tp, e := userPath(target, tb[:])
	if e != 0 {
		return errno(e)
	}
	if len(tp) == 0 {
		return errno(linux.ENOENT)
	}
	r, e := lookupAt(dirfd, path, false)
	if e != 0 {
		return errno(e)
	}
	if r.vol != 0 {
		p := volPathOf(&r)
		return volSymlink(t, tp, &p)
	}
	if r.ino >= 0 {
		return errno(linux.EEXIST)
	}
	if r.dir < 0 || len(r.last) == 0 {
		return errno(linux.ENOENT)
	}
	ino, e := createIn(r.dir, r.last, sIFLNK|0o777)
	if e != 0 {
		return errno(e)
	}
	if _, e := writeAt(&inodes[ino], tp, 0); e != 0 {
		unlinkName(ino)
		return errno(e)
	}
	return 0
}

// sysFtruncate implements ftruncate(2).
func sysFtruncate(t *thread, f *Frame) int64 {
	if vf := volFileOf(f.RDI); vf != nil {
		switch {
		case int64(f.RSI) < 0, vf.dir, vf.flags&linux.O_ACCMODE == linux.O_RDONLY:
			return errno(linux.EINVAL)
		}
		return volSetattr(t, nil, vf, p9SetSize, 0, f.RSI, 0, 0)
	}
	of, e := fileOf(f.RDI)
	if of == nil {
		if e == nil {
			return errno(linux.EBADF)
		}
		return errno(linux.EINVAL)
	}
	n := &inodes[of.ino]
	switch {
	case int64(f.RSI) < 0:
		return errno(linux.EINVAL)
	case !n.isReg():
		return errno(linux.EINVAL)
	case of.flags&linux.O_ACCMODE == linux.O_RDONLY:
		return errno(linux.EINVAL)
	}
	return errno(truncatePages(n, int64(f.RSI)))
}

// sysTruncate implements truncate(2).
func sysTruncate(t *thread, f *Frame) int64 {
	r, e := lookupAt(atFDCWD, uintptr(f.RDI), true)
	if e != 0 {
		return errno(e)
	}
	if r.vol != 0 {
		if int64(f.RSI) < 0 {
			return errno(linux.EINVAL)
		}
		p := volPathOf(&r)
		return volSetattr(t, &p, nil, p9SetSize, 0, f.RSI, 0, 0)
	}
	switch {
	case r.ino < 0:
		return errno(linux.ENOENT)
	case inodes[r.ino].isDir():
		return errno(linux.EISDIR)
	case !inodes[r.ino].isReg():
		return errno(linux.EINVAL)
	case int64(f.RSI) < 0:
		return errno(linux.EINVAL)
	}
	if e := writable(r.ino); e != 0 {
		return errno(e)
	}
	return errno(truncatePages(&inodes[r.ino], int64(f.RSI)))
}

// sysFsync implements fsync(2), fdatasync(2) and syncfs(2). Stores through
// shared mappings of the file are written back first (filemap.go). Files in
// memory are then as durable as they can be; a file on a volume is synced on
// the host (sys_volume.go).
func sysFsync(t *thread, f *Frame) int64 {
	if getFD(f.RDI) == nil {
		return errno(linux.EBADF)
	}
	if vf := volFileOf(f.RDI); vf != nil {
		return volFsync(t, vf, t.sysnr == linux.SYS_FDATASYNC)
	}
	if kind, id, ok := pagerOf(getFD(f.RDI)); ok {
		return errno(syncFile(t, kind, id))
	}
	return 0
}

// sysFaccessat2 implements faccessat2(2). The app runs as root: only
// existence and, for X_OK, an execute bit matter.
func sysFaccessat2(t *thread, f *Frame) int64 {
	r, e := lookupAt(f.RDI, uintptr(f.RSI), f.R10&atSymlinkNofollow == 0)
	if e != 0 {
		return errno(e)
	}
	if r.vol != 0 {
		p := volPathOf(&r)
		return volAccess(t, &p, f.RDX)
	}
	if r.ino < 0 {
		return errno(linux.ENOENT)
	}
	const xOK, wOK = 1, 2
	n := &inodes[r.ino]
	if f.RDX&xOK != 0 && !n.isDir() && n.mode&0o111 == 0 {
		return errno(linux.EACCES)
	}
	if f.RDX&wOK != 0 && (n.isReg() || n.isDir() || n.isLink()) {
		return errno(writable(r.ino))
	}
	return 0
}

// sysFaccessat implements faccessat(2).
func sysFaccessat(t *thread, f *Frame) int64 {
	f2 := *f
	f2.R10 = 0
	return sysFaccessat2(t, &f2)
}

// sysAccess implements access(2).
func sysAccess(t *thread, f *Frame) int64 {
	f2 := Frame{RDI: atFDCWD, RSI: f.RDI, RDX: f.RSI}
	return sysFaccessat2(t, &f2)
}

// chmodInode sets permission bits.
func chmodInode(ino int32, mode uint64) int64 {
	if e := writable(ino); e != 0 {
		return errno(e)
	}
	n := &inodes[ino]
	n.mode = n.mode&sIFMT | uint32(mode)&modeMax
	n.ctime = walltime()
	return 0
}

// sysFchmod implements fchmod(2).
func sysFchmod(t *thread, f *Frame) int64 {
	if vf := volFileOf(f.RDI); vf != nil {
		return volSetattr(t, nil, vf, p9SetMode, uint32(f.RSI)&modeMax, 0, 0, 0)
	}
	of, e := fileOf(f.RDI)
	if of == nil {
		if e == nil {
			return errno(linux.EBADF)
		}
		return 0 // pipes and kernel objects keep their fixed modes
	}
	return chmodInode(of.ino, f.RSI)
}

// sysFchmodat implements fchmodat(2).
func sysFchmodat(t *thread, f *Frame) int64 {
	r, e := lookupAt(f.RDI, uintptr(f.RSI), true)
	if e != 0 {
		return errno(e)
	}
	if r.vol != 0 {
		p := volPathOf(&r)
		return volSetattr(t, &p, nil, p9SetMode, uint32(f.RDX)&modeMax, 0, 0, 0)
	}
	if r.ino < 0 {
		return errno(linux.ENOENT)
	}
	return chmodInode(r.ino, f.RDX)
}

// sysChmod implements chmod(2).
func sysChmod(t *thread, f *Frame) int64 {
	f2 := Frame{RDI: atFDCWD, RSI: f.RDI, RDX: f.RSI}
	return sysFchmodat(t, &f2)
}

// chownInode sets the owner; -1 leaves a field as it is.
func chownInode(ino int32, uid, gid uint64) int64 {
	if e := writable(ino); e != 0 {
		return errno(e)
	}
	n := &inodes[ino]
	if int32(uid) != -1 {
		n.uid = uint32(uid)
	}
	if int32(gid) != -1 {
		n.gid = uint32(gid)
	}
	n.ctime = walltime()
	return 0
}

// sysFchownat implements fchownat(2).
func sysFchownat(t *thread, f *Frame) int64 {
	if f.R8&atEmptyPath != 0 {
		if of, _ := fileOf(f.RDI); of != nil {
			return chownInode(of.ino, f.RDX, f.R10)
		}
	}
	r, e := lookupAt(f.RDI, uintptr(f.RSI), f.R8&atSymlinkNofollow == 0)
	if e != 0 {
		return errno(e)
	}
	if r.vol != 0 {
		return volChown(t, &r)
	}
	if r.ino < 0 {
		return errno(linux.ENOENT)
	}
	return chownInode(r.ino, f.RDX, f.R10)
}

// sysFchown implements fchown(2).
func sysFchown(t *thread, f *Frame) int64 {
	of, e := fileOf(f.RDI)
	if of == nil {
		if e == nil {
			return errno(linux.EBADF)
		}
		return 0
	}
	return chownInode(of.ino, f.RSI, f.RDX)
}

// sysUtimensat implements utimensat(2).
func sysUtimensat(t *thread, f *Frame) int64 {
	ino := int32(-1)
	var vp *volPath
	var vf *volFile
	var vpath volPath
	if f.RSI == 0 {
		vf = volFileOf(f.RDI)
	}
	if f.RSI == 0 && vf == nil {
		of, e := fileOf(f.RDI)
		if of == nil {
			if e == nil {
				return errno(linux.EBADF)
			}
			return 0
		}
		ino = of.ino
	} else if vf == nil {
		r, e := lookupAt(f.RDI, uintptr(f.RSI), f.R10&atSymlinkNofollow == 0)
		if e != 0 {
			return errno(e)
		}
		if r.vol != 0 {
			vpath = volPathOf(&r)
			vp = &vpath
		} else if r.ino < 0 {
			return errno(linux.ENOENT)
		}
		ino = r.ino
	}
	if e := writable(ino); e != 0 {
		return errno(e)
	}
	now := walltime()
	times := [2]int64{now, now}
	if f.RDX != 0 {
		var ts [4]int64
		if !copyIn((*[32]byte)(unsafe.Pointer(&ts))[:], uintptr(f.RDX)) {
			return errno(linux.EFAULT)
		}
		for i := 0; i < 2; i++ {
			sec, nsec := ts[2*i], ts[2*i+1]
			switch {
			case nsec == utimeOmit:
				times[i] = -1
			case nsec == utimeNow:
			case nsec < 0 || nsec >= 1e9:
				return errno(linux.EINVAL)
			default:
				times[i] = sec*1e9 + nsec
			}
		}
	}
	if vp != nil || vf != nil {
		return volTimes(t, vp, vf, times, f.RDX == 0)
	}
	n := &inodes[ino]
	if times[0] >= 0 {
		n.atime = times[0]
	}
	if times[1] >= 0 {
		n.mtime = times[1]
	}
	n.ctime = now
	return 0
}

// sysChdir implements chdir(2).
func sysChdir(t *thread, f *Frame) int64 {
	r, e := lookupAt(atFDCWD, uintptr(f.RDI), true)
	if e != 0 {
		return errno(e)
	}
	if r.vol != 0 {
		return volChdir(t, &r)
	}
	if r.ino < 0 {
		return errno(linux.ENOENT)
	}
	if !inodes[r.ino].isDir() {
		return errno(linux.ENOTDIR)
	}
	volLeaveCwd()
	cwdIno = r.ino
	return 0
}

// sysFchdir implements fchdir(2).
func sysFchdir(t *thread, f *Frame) int64 {
	if vf := volFileOf(f.RDI); vf != nil {
		return volFchdir(t, vf)
	}
	d, e := startDir(f.RDI)
	if e != 0 {
		return errno(e)
	}
	volLeaveCwd()
	cwdIno = d
	return 0
}

// sysGetcwd implements getcwd(2).
func sysGetcwd(t *thread, f *Frame) int64 {
	var buf [pathMax]byte
	dir, ok := pathOf(cwdIno, buf[:])
	if d, in := volGetcwd(); in {
		dir, ok = d, true
	}
	if !ok {
		for d := cwdIno; d != rootIno; d = inodes[d].parent {
			if inodes[d].parent < 0 {
				return errno(linux.ENOENT) // the directory was removed
			}
		}
		return errno(linux.ENAMETOOLONG)
	}
	if uint64(len(dir))+1 > f.RSI {
		return errno(linux.ERANGE)
	}
	if !copyOut(uintptr(f.RDI), dir) || !copyOut(uintptr(f.RDI)+uintptr(len(dir)), []byte{0}) {
		return errno(linux.EFAULT)
	}
	return int64(len(dir) + 1)
}

// sysUmask implements umask(2).
func sysUmask(t *thread, f *Frame) int64 {
	old := umask
	umask = uint32(f.RDI) & 0o777
	return int64(old)
}

// sysFstatfs implements fstatfs(2): every file is on the one tmpfs.
func sysFstatfs(t *thread, f *Frame) int64 {
	if getFD(f.RDI) == nil {
		return errno(linux.EBADF)
	}
	if vf := volFileOf(f.RDI); vf != nil {
		return volStatfs(t, nil, vf, uintptr(f.RSI))
	}
	if of, _ := fileOf(f.RDI); of != nil {
		return statfs(uintptr(f.RSI), mountOf(of.ino))
	}
	return statfs(uintptr(f.RSI), &mounts[0])
}

// sysStatfs implements statfs(2).
func sysStatfs(t *thread, f *Frame) int64 {
	r, e := lookupAt(atFDCWD, uintptr(f.RDI), true)
	if e != 0 {
		return errno(e)
	}
	if r.vol != 0 {
		p := volPathOf(&r)
		return volStatfs(t, &p, nil, uintptr(f.RSI))
	}
	if r.ino < 0 {
		return errno(linux.ENOENT)
	}
	return statfs(uintptr(f.RSI), mountOf(r.ino))
}

// statfs writes struct statfs for mount m: a tmpfs with a limit counts
// its pages against it, others against memory.
func statfs(addr uintptr, m *mount) int64 {
	const stValid, stRdonly = 0x20, 0x1
	var st [15]uint64 // struct statfs, amd64: 120 bytes
	st[0] = m.magic
	st[1] = pageSize                        // f_bsize
	st[2] = uint64(usedFrames + freeFrames) // f_blocks
	st[3] = uint64(freeFrames)              // f_bfree
	if m.limit > 0 {
		st[2] = uint64(m.limit)
		st[3] = uint64(m.limit - m.pages)
		if st[3] > uint64(freeFrames) {
			st[3] = uint64(freeFrames)
		}
	}
	st[4] = st[3]                // f_bavail
	st[5] = maxInodes            // f_files
	st[6] = uint64(freeInodes()) // f_ffree
	st[7] = m.dev                // f_fsid
	st[8] = nameMax              // f_namelen
	st[9] = pageSize             // f_frsize
	st[10] = stValid             // f_flags
	if m.readOnly {
		st[10] |= stRdonly
	}
	if !copyOut(addr, (*[120]byte)(unsafe.Pointer(&st))[:]) {
		return errno(linux.EFAULT)
	}
	return 0
}

// sysDup implements dup(2).
func sysDup(t *thread, f *Frame) int64 {
	e := getFD(f.RDI)
	if e == nil {
		return errno(linux.EBADF)
	}
	for i := range fds {
		if fds[i].kind == fkNone {
			fds[i] = *e
			fds[i].cloexec = false
			return int64(i)
		}
	}
	return errno(linux.EMFILE)
}

// sysDup3 implements dup3(2).
func sysDup3(t *thread, f *Frame) int64 {
	if f.RDX&^linux.O_CLOEXEC != 0 || f.RDI == f.RSI {
		return errno(linux.EINVAL)
	}
	return dupTo(f.RDI, f.RSI, f.RDX&linux.O_CLOEXEC != 0)
}

// sysDup2 implements dup2(2).
func sysDup2(t *thread, f *Frame) int64 {
	if f.RDI == f.RSI {
		if getFD(f.RDI) == nil {
			return errno(linux.EBADF)
		}
		return int64(f.RDI)
	}
	return dupTo(f.RDI, f.RSI, false)
}

func dupTo(oldfd, newfd uint64, cloexec bool) int64 {
	e := getFD(oldfd)
	if e == nil || newfd >= maxFDs {
		return errno(linux.EBADF)
	}
	if getFD(newfd) != nil {
		closeFD(newfd)
	}
	fds[newfd] = *e
	fds[newfd].cloexec = cloexec
	return int64(newfd)
}

// sysFadvise64 implements fadvise64(2): advice about access patterns means
// nothing to files in memory, and Linux may ignore it too.
func sysFadvise64(t *thread, f *Frame) int64 {
	if getFD(f.RDI) == nil {
		return errno(linux.EBADF)
	}
	return 0
}

// isDots reports whether a path's last component is "." or "..".
func isDots(b []byte) bool {
	return len(b) == 1 && b[0] == '.' || len(b) == 2 && b[0] == '.' && b[1] == '.'
}

// sysFchmodat2 implements fchmodat2(2): with AT_SYMLINK_NOFOLLOW a symlink
// itself cannot change mode (EOPNOTSUPP, as on Linux).
func sysFchmodat2(t *thread, f *Frame) int64 {
	if f.R10&^(atSymlinkNofollow|atEmptyPath) != 0 {
		return errno(linux.EINVAL)
	}
	if f.R10&atEmptyPath != 0 {
		var b [1]byte
		if p, ok := userString(uintptr(f.RSI), b[:]); ok && len(p) == 0 {
			f2 := Frame{RDI: f.RDI, RSI: f.RDX}
			return sysFchmod(t, &f2)
		}
	}
	r, e := lookupAt(f.RDI, uintptr(f.RSI), f.R10&atSymlinkNofollow == 0)
	if e != 0 {
		return errno(e)
	}
	if r.vol != 0 {
		p := volPathOf(&r)
		return volSetattr(t, &p, nil, p9SetMode, uint32(f.RDX)&modeMax, 0, 0, 0)
	}
	if r.ino < 0 {
		return errno(linux.ENOENT)
	}
	if inodes[r.ino].isLink() {
		return errno(linux.EOPNOTSUPP)
	}
	return chmodInode(r.ino, f.RDX)
}

// sysGetgroups implements getgroups(2): the app's user is in no
// supplementary group.
func sysGetgroups(t *thread, f *Frame) int64 {
	if int32(f.RDI) < 0 {
		return errno(linux.EINVAL)
	}
	return 0
}

// sysLinkat implements linkat(2): a hard link is a directory entry of its
// own that names the target inode.
func sysLinkat(t *thread, f *Frame) int64 {
	if f.R8&^(atSymlinkFollow|atEmptyPath) != 0 {
		return errno(linux.EINVAL)
	}
	return linkAt(t, f.RDI, uintptr(f.RSI), f.RDX, uintptr(f.R10), f.R8&atSymlinkFollow != 0)
}

// sysLink implements link(2).
func sysLink(t *thread, f *Frame) int64 {
	return linkAt(t, atFDCWD, uintptr(f.RDI), atFDCWD, uintptr(f.RSI), false)
}

func linkAt(t *thread, olddirfd uint64, oldpath uintptr, newdirfd uint64, newpath uintptr, follow bool) int64 {
	from, e := lookupAt(olddirfd, oldpath, follow)
	if e != 0 {
		return errno(e)
	}
	if from.vol != 0 {
		src := volPathOf(&from)
		src.rest = volRenameBuf[:copy(volRenameBuf[:], src.rest)]
		to, e := lookupAt(newdirfd, newpath, false)
		if e != 0 {
			return errno(e)
		}
		if to.vol == 0 {
			return errno(linux.EXDEV)
		}
		dst := volPathOf(&to)
		return volLink(t, &src, &dst)
	}
	if from.ino < 0 {
		return errno(linux.ENOENT)
	}
	if inodes[from.ino].isDir() {
		return errno(linux.EPERM)
	}
	to, e := lookupAt(newdirfd, newpath, false)
	if e != 0 {
		return errno(e)
	}
	if to.vol != 0 {
		return errno(linux.EXDEV)
	}
	if to.ino >= 0 || to.viaLink {
		return errno(linux.EEXIST)
	}
	if to.dir < 0 || len(to.last) == 0 || to.hasDir {
		return errno(linux.ENOENT)
	}
	// Linux makes the new name first (EROFS), then compares mounts (EXDEV).
	if e := writable(to.dir); e != 0 {
		return errno(e)
	}
	if e := sameMount(from.ino, to.dir); e != 0 {
		return errno(e)
	}
	b := &inodes[from.ino]
	ent, e := createIn(to.dir, to.last, b.mode)
	if e != 0 {
		return errno(e)
	}
	inodes[ent].link = from.ino + 1
	inodes[ent].nlink = 0
	b.nlink++
	b.ctime = walltime()
	return 0
}
