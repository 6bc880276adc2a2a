package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// File-system calls on volumes: the paths resolution hands over (a mount
// and the rest of the path) and the descriptors they open, served with 9P
// requests (virtio_9p.go). Every function here is one call's whole
// sequence of requests, made again from its start each time a reply
// arrives, so each builds a request only when the slot says the step is
// new (s.step) and changes kernel state only after its last reply. Paths
// are walked in vol_path.go.

const v9fsMagic = 0x01021997

// volFile is an open file description on a volume.
type volFile struct {
	used  bool
	dir   bool
	m     int8
	fid   uint32
	flags uint64
	off   int64 // a file's offset; a directory's 9P read offset
	atEnd bool  // the offset is the host's end of file (after an O_APPEND write)
	ino   uint64
	// name is the guest path it was opened by (empty when longer than the
	// buffer), for /proc/self/maps and as the start of relative paths' names.
	name  [volNameMax]byte
	nameN uint16
}

const volNameMax = 192

var volFiles [1024]volFile

// volDev is st_dev of the files of volume m: its mount's, one per mount.
func volDev(m int) uint64 { return mounts[volMounts[m].mnt].dev }

// volFileID is the identity stat shows for open volume file obj, st_dev
// and st_ino, which names the file for locks.
func volFileID(obj int32) (dev, ino uint64) {
	vf := &volFiles[obj]
	return volDev(int(vf.m)), vf.ino
}

// volStatOut writes struct stat for a reply of Tgetattr.
func volStatOut(m int, a *p9attr, qid p9qid, addr uintptr) int64 {
	var st [144]byte
	put := func(off int, v uint64) { *(*uint64)(unsafe.Pointer(&st[off])) = v }
	put(0, volDev(m))
	put(8, qid.path)
	put(16, a.nlink)
	*(*uint32)(unsafe.Pointer(&st[24])) = a.mode
	*(*uint32)(unsafe.Pointer(&st[28])) = a.uid
	*(*uint32)(unsafe.Pointer(&st[32])) = a.gid
	put(40, a.rdev)
	put(48, a.size)
	put(56, a.blksize)
	put(64, a.blocks)
	for i, ts := range [...]int64{a.atime, a.mtime, a.ctime} {
		put(72+16*i, uint64(ts/1e9))
		put(80+16*i, uint64(ts%1e9))
	}
	if !copyOut(addr, st[:]) {
		return errno(linux.EFAULT)
	}
	return 0
}

// volStat implements stat, lstat and newfstatat on a volume path.
func volStat(t *thread, p *volPath, addr uintptr) int64 {
	s := volSlot(t)
	if s == nil {
		return 0
	}
	fid, _, e := s.walkPath(t, p)
	if e != 0 {
		return errno(e)
	}
	r := s.getattr(t, p.dev(), fid)
	if r.err != 0 {
		return errno(r.err)
	}
	if p.dirOnly() && r.attr.mode&sIFMT != sIFDIR {
		return errno(linux.ENOTDIR)
	}
	return volStatOut(p.m, &r.attr, r.qid, addr)
}

// volFstat implements fstat of a descriptor on a volume.
func volFstat(t *thread, vf *volFile, addr uintptr) int64 {
	s := volSlot(t)
	if s == nil {
		return 0
	}
	r := s.getattr(t, volMounts[vf.m].dev, vf.fid)
	if r.err != 0 {
		return errno(r.err)
	}
	return volStatOut(int(vf.m), &r.attr, r.qid, addr)
}

// volOpen implements open, openat and creat on a volume path.
func volOpen(t *thread, p *volPath, flags uint64, mode uint32) int64 {
	acc := flags & linux.O_ACCMODE
	excl := flags&(linux.O_CREAT|linux.O_EXCL) == linux.O_CREAT|linux.O_EXCL
	if p.ro() && (acc != linux.O_RDONLY || flags&linux.O_TRUNC != 0) {
		return errno(linux.EROFS)
	}
	s := volSlot(t)
	if s == nil {
		return 0
	}
	dev := p.dev()
	// What the host opens with: access, truncation, appending, sync; the
	// rest is the kernel's to do.
	const passed = linux.O_ACCMODE | linux.O_TRUNC | linux.O_APPEND | linux.O_DIRECTORY | 0x1000 | 0x100000
	n := p.ncomp()
	fid, qid, e := s.walkPath(t, p)
	var r p9r
	switch {
	case e == errBlocked:
		return 0
	case e == 0:
		isDir := qid.typ&p9QTDir != 0 || n == 0
		switch {
		case excl:
			return errno(linux.EEXIST)
		case qid.typ&p9QTSymlink != 0:
			return errno(linux.ELOOP)
		case flags&linux.O_DIRECTORY != 0 && !isDir, p.dirOnly() && !isDir:
			return errno(linux.ENOTDIR)
		case isDir && (acc != linux.O_RDONLY || flags&linux.O_CREAT != 0):
			return errno(linux.EISDIR)
		}
		var m p9msg
		if s.step() {
			m = s.msg(p9Tlopen)
			m.u32(fid)
			m.u32(uint32(flags & passed))
		}
		if r = s.rpc(t, dev, &m); r.err != 0 {
			return errno(r.err)
		}
	case e == linux.ENOENT && flags&linux.O_CREAT != 0 && n > 0 && !p.dirOnly():
		if p.ro() {
			return errno(linux.EROFS)
		}
		var name []byte
		if fid, name, e = s.walkParent(t, p); e != 0 {
			return errno(e)
		}
		var m p9msg
		if s.step() {
			m = s.msg(p9Tlcreate)
			m.u32(fid)
			m.str(name)
			m.u32(uint32(flags & passed &^ linux.O_TRUNC))
			m.u32(mode & modeMax &^ umask)
			m.u32(0)
		}
		if r = s.rpc(t, dev, &m); r.err != 0 {
			return errno(r.err)
		}
	default:
		return errno(e)
	}
	// The last reply is in: the call's state changes from here.
	for i := range volFiles {
		vf := &volFiles[i]
		if vf.used {
			continue
		}
		fd := allocFD(fkVolume, int32(i), flags&^(linux.O_CREAT|linux.O_EXCL|linux.O_TRUNC|linux.O_CLOEXEC|linux.O_NOCTTY), flags&linux.O_CLOEXEC != 0)
		if fd < 0 {
			return errno(linux.EMFILE) // the fid is clunked at the call's end
		}
		*vf = volFile{used: true, dir: r.qid.typ&p9QTDir != 0, m: int8(p.m), fid: fid, flags: flags, ino: r.qid.path}
		vf.nameN = uint16(volName(p, vf.name[:]))
		s.bound(fid, true)
		return fd
	}
	return errno(linux.ENFILE)
}

// volClosed drops an open file description whose last descriptor closed.
func volClosed(obj int32) {
	vf := &volFiles[obj]
	vf.used = false
	clunkLater(vf.fid)
}

// volFileOf returns the open volume file behind fd, if fd is one.
func volFileOf(fd uint64) *volFile {
	e := getFD(fd)
	if e == nil || e.kind != fkVolume {
		return nil
	}
	return &volFiles[e.obj]
}

// volRW reads or writes n bytes at addr in the app from or to a volume
// file at off (its own offset when advance): one request, at most what a
// message holds (more when it goes direct, vol_direct.go), so a large
// transfer is short and the caller asks again, as for a pipe. The app's
// buffer is checked only where it is used (the data of a write, and a
// direct read's pages, when the request is built; a copied read's when its
// reply is in), once each: a call is made again after its reply.
func volRW(t *thread, e *fdEntry, addr uintptr, n uint64, off int64, advance, write bool) int64 {
	vf := &volFiles[e.obj]
	acc := vf.flags & linux.O_ACCMODE
	switch {
	case vf.dir:
		return errno(linux.EISDIR)
	case write && acc == linux.O_RDONLY, !write && acc == linux.O_WRONLY:
		return errno(linux.EBADF)
	case off < 0:
		return errno(linux.EINVAL)
	case n == 0:
		return 0
	}
	if advance {
		off = vf.off
	}
	m := &volMounts[vf.m]
	k := int(min(n, uint64(m.iou)))
	s := volSlot(t)
	if s == nil {
		return 0
	}
	var msg p9msg
	if s.step() {
		// A large transfer goes direct to or from the app's pages, when
		// they allow it, in one request of up to m.direct bytes.
		kd := int(min(n, uint64(m.direct)))
		if userOK(addr, uintptr(kd), !write) && directOK(m.dev, addr, kd, !write) {
			k = kd
			s.pinDirect(addr, k, !write)
		}
		s.ioN, s.ioDirect = uint32(k), s.directN > 0
		if write {
			msg = s.msg(p9Twrite)
			msg.u32(vf.fid)
			msg.u64(uint64(off))
			msg.u32(uint32(k))
			if s.directN == 0 {
				data, ok := userBytes(addr, uintptr(k), false)
				if !ok {
					return errno(linux.EFAULT)
				}
				copy(msg.data(k), data)
			}
		} else {
			msg = s.msg(p9Tread)
			msg.u32(vf.fid)
			msg.u64(uint64(off))
			msg.u32(uint32(k))
		}
	}
	r := s.rpc(t, m.dev, &msg)
	if r.err != 0 {
		return errno(r.err)
	}
	k = int(s.ioN) // what the request asked for, as decided when it was built
	if r.count > uint32(k) {
		return errno(linux.EIO) // more than asked for: a device not to be trusted
	}
	if write {
		// The bytes sent follow Twrite's header in the request, or are
		// still in the app's buffer; a mapped file's cached pages take
		// them (read again from the app only then).
		var data []byte
		if !s.ioDirect {
			data = s.txBuf()[23 : 23+r.count]
		} else if _, mapped := volMapped(vf); mapped {
			var ok bool
			if data, ok = userBytes(addr, uintptr(r.count), false); !ok {
				return errno(linux.EFAULT)
			}
		}
		volWritten(vf, off, vf.flags&linux.O_APPEND != 0, data)
	} else if !s.ioDirect {
		buf, ok := userBytes(addr, uintptr(r.count), true)
		if !ok {
			return errno(linux.EFAULT)
		}
		copy(buf, s.rxBuf()[r.off:r.off+r.count])
		volReadOverlay(vf, off, buf)
	} else if _, mapped := volMapped(vf); mapped {
		// The data is in the app's pages already; a mapping's stores
		// go over it.
		buf, ok := userBytes(addr, uintptr(r.count), true)
		if !ok {
			return errno(linux.EFAULT)
		}
		volReadOverlay(vf, off, buf)
	}
	if advance {
		vf.off = off + int64(r.count)
		// After O_APPEND the host wrote at its end of file, which the
		// offset then is (lseek asks the host, volLseek).
		vf.atEnd = write && vf.flags&linux.O_APPEND != 0
	}
	return int64(r.count)
}

// volLseek implements lseek on a volume file; SEEK_END asks for the size.
func volLseek(t *thread, vf *volFile, off int64, whence uint64) int64 {
	const seekSet, seekCur, seekEnd, seekData, seekHole = 0, 1, 2, 3, 4
	if whence == seekCur && vf.atEnd {
		whence = seekEnd
	}
	switch whence {
	case seekSet:
	case seekCur:
		off += vf.off
	case seekEnd, seekData, seekHole:
		s := volSlot(t)
		if s == nil {
			return 0
		}
		r := s.getattr(t, volMounts[vf.m].dev, vf.fid)
		if r.err != 0 {
			return errno(r.err)
		}
		size := int64(r.attr.size)
		switch whence {
		case seekEnd:
			off += size
		case seekData:
			if off >= size {
				return errno(linux.ENXIO)
			}
		case seekHole:
			if off >= size {
				return errno(linux.ENXIO)
			}
			off = size
		}
	default:
		return errno(linux.EINVAL)
	}
	if off < 0 {
		return errno(linux.EINVAL)
	}
	if vf.dir && off != 0 {
		return errno(linux.EINVAL) // a directory rewinds only
	}
	vf.off, vf.atEnd = off, false
	return off
}

// volGetdents implements getdents64 on a volume directory. The 9P offset of
// the next entry is the directory's offset, so a read resumes where the
// last stopped.
func volGetdents(t *thread, vf *volFile, buf []byte) int64 {
	if !vf.dir {
		return errno(linux.ENOTDIR)
	}
	s := volSlot(t)
	if s == nil {
		return 0
	}
	k := min(len(buf), int(volMounts[vf.m].iou))
	var m p9msg
	if s.step() {
		m = s.msg(p9Treaddir)
		m.u32(vf.fid)
		m.u64(uint64(vf.off))
		m.u32(uint32(k))
	}
	r := s.rpc(t, volMounts[vf.m].dev, &m)
	if r.err != 0 {
		return errno(r.err)
	}
	data := s.rxBuf()[r.off : r.off+r.count]
	used := 0
	for len(data) > 0 {
		d, ok := p9NextDirent(data)
		if !ok {
			if used == 0 {
				return errno(linux.EIO)
			}
			break
		}
		reclen := (19 + len(d.name) + 1 + 7) &^ 7
		if used+reclen > len(buf) {
			break
		}
		rec := buf[used : used+reclen]
		for i := range rec {
			rec[i] = 0
		}
		*(*uint64)(unsafe.Pointer(&rec[0])) = d.qid.path
		*(*int64)(unsafe.Pointer(&rec[8])) = int64(d.next)
		*(*uint16)(unsafe.Pointer(&rec[16])) = uint16(reclen)
		rec[18] = d.typ
		copy(rec[19:], d.name)
		used += reclen
		vf.off = int64(d.next)
		data = data[d.len:]
	}
	if used == 0 && r.count > 0 {
		return errno(linux.EINVAL) // the buffer holds not even one entry
	}
	return int64(used)
}

// volFsync implements fsync and fdatasync: the host's own, so what the
// call returns for is on the host's disk.
func volFsync(t *thread, vf *volFile, datasync bool) int64 {
	if id, ok := volMapped(vf); ok {
		// Stores through mappings first; a call that blocks here is made
		// again, and the pages written back are clean then.
		if e := syncFile(t, pagerVol, id); e != 0 || t.state != tsRunning {
			return errno(e)
		}
	}
	s := volSlot(t)
	if s == nil {
		return 0
	}
	var m p9msg
	if s.step() {
		m = s.msg(p9Tfsync)
		m.u32(vf.fid)
		if datasync {
			m.u32(1)
		} else {
			m.u32(0)
		}
	}
	return errno(s.simple(t, volMounts[vf.m].dev, &m))
}

// volSetattr sets attributes of the file at p, or of vf when p is nil.
func volSetattr(t *thread, p *volPath, vf *volFile, valid uint32, mode uint32, size uint64, atime, mtime int64) int64 {
	mi, fid, ino := 0, uint32(0), uint64(0)
	if vf != nil {
		mi, fid, ino = int(vf.m), vf.fid, vf.ino
	} else {
		mi = p.m
	}
	if volMounts[mi].ro {
		return errno(linux.EROFS)
	}
	s := volSlot(t)
	if s == nil {
		return 0
	}
	if p != nil {
		fid2, qid, e := s.walkPath(t, p)
		if e != 0 {
			return errno(e)
		}
		fid, ino = fid2, qid.path
	}
	var m p9msg
	if s.step() {
		m = s.msg(p9Tsetattr)
		m.u32(fid)
		m.u32(valid)
		m.u32(mode)
		m.u32(0)
		m.u32(0)
		m.u64(size)
		m.u64(uint64(atime / 1e9))
		m.u64(uint64(atime % 1e9))
		m.u64(uint64(mtime / 1e9))
		m.u64(uint64(mtime % 1e9))
	}
	if e := s.simple(t, volMounts[mi].dev, &m); e != 0 {
		return errno(e)
	}
	if valid&p9SetSize != 0 {
		volTruncated(int8(mi), ino, int64(size))
	}
	return 0
}

// volTimes turns utimensat's times (-1 omitted, else ns) into Tsetattr's.
func volTimes(t *thread, p *volPath, vf *volFile, times [2]int64, now bool) int64 {
	valid := uint32(p9SetCtime)
	if times[0] >= 0 {
		valid |= p9SetAtime
		if !now {
			valid |= p9SetAtimeSet
		}
	}
	if times[1] >= 0 {
		valid |= p9SetMtime
		if !now {
			valid |= p9SetMtimeSet
		}
	}
	return volSetattr(t, p, vf, valid, 0, 0, max(times[0], 0), max(times[1], 0))
}

// volEntryCall starts a call that makes or removes the entry p names: p
// must not be the volume's root (atRoot), the volume must be writable, and
// the call needs a request slot and p's directory. It returns the slot, the
// directory's fid and the entry's name; or ok false and the call's result,
// an error or 0 when the thread now waits for the device.
func volEntryCall(t *thread, p *volPath, atRoot linux.Errno) (s *p9slot, dfid uint32, name []byte, r int64, ok bool) {
	if p.ncomp() == 0 {
		return nil, 0, nil, errno(atRoot), false
	}
	if p.ro() {
		return nil, 0, nil, errno(linux.EROFS), false
	}
	if s = volSlot(t); s == nil {
		return nil, 0, nil, 0, false
	}
	dfid, name, e := s.walkParent(t, p)
	if e != 0 {
		return nil, 0, nil, errno(e), false
	}
	return s, dfid, name, 0, true
}

// volMkdir implements mkdir on a volume path.
func volMkdir(t *thread, p *volPath, mode uint32) int64 {
	s, dfid, name, r, ok := volEntryCall(t, p, linux.EEXIST)
	if !ok {
		return r
	}
	var m p9msg
	if s.step() {
		m = s.msg(p9Tmkdir)
		m.u32(dfid)
		m.str(name)
		m.u32(mode & modeMax &^ umask)
		m.u32(0)
	}
	return errno(s.simple(t, p.dev(), &m))
}

// volUnlink implements unlink, unlinkat and rmdir on a volume path.
func volUnlink(t *thread, p *volPath, rmdir bool) int64 {
	s, dfid, name, r, ok := volEntryCall(t, p, linux.EBUSY)
	if !ok {
		return r
	}
	if !rmdir && p.dirOnly() {
		return errno(linux.EISDIR)
	}
	var m p9msg
	if s.step() {
		m = s.msg(p9Tunlinkat)
		m.u32(dfid)
		m.str(name)
		if rmdir {
			m.u32(atRemovedir)
		} else {
			m.u32(0)
		}
	}
	if e := s.simple(t, p.dev(), &m); e != 0 {
		return errno(e)
	}
	if !rmdir {
		var name [volNameMax]byte
		if n := volName(p, name[:]); n > 0 {
			volUnlinked(p.m, name[:n])
		}
	}
	return 0
}

// volRenameBuf keeps the source path of a rename while the target resolves.
var volRenameBuf [pathMax]byte

// volRename implements rename within one volume: the host's renameat,
// which replaces an existing target atomically.
func volRename(t *thread, from, to *volPath, noreplace bool) int64 {
	if from.m != to.m {
		return errno(linux.EXDEV)
	}
	if from.ncomp() == 0 || to.ncomp() == 0 {
		return errno(linux.EBUSY)
	}
	if from.ro() {
		return errno(linux.EROFS)
	}
	s := volSlot(t)
	if s == nil {
		return 0
	}
	if noreplace {
		_, _, e := s.walkPath(t, to)
		switch e {
		case 0:
			return errno(linux.EEXIST)
		case linux.ENOENT:
		default:
			return errno(e)
		}
	}
	ofid, oname, e := s.walkParent(t, from)
	if e != 0 {
		return errno(e)
	}
	nfid, nname, e := s.walkParent(t, to)
	if e != 0 {
		return errno(e)
	}
	var m p9msg
	if s.step() {
		m = s.msg(p9Trenameat)
		m.u32(ofid)
		m.str(oname)
		m.u32(nfid)
		m.str(nname)
	}
	return errno(s.simple(t, from.dev(), &m))
}

// volReadlink implements readlink on a volume path.
func volReadlink(t *thread, p *volPath, buf uintptr, size uint64) int64 {
	s := volSlot(t)
	if s == nil {
		return 0
	}
	fid, qid, e := s.walkPath(t, p)
	if e != 0 {
		return errno(e)
	}
	if qid.typ&p9QTSymlink == 0 {
		return errno(linux.EINVAL)
	}
	var m p9msg
	if s.step() {
		m = s.msg(p9Treadlink)
		m.u32(fid)
	}
	r := s.rpc(t, p.dev(), &m)
	if r.err != 0 {
		return errno(r.err)
	}
	target := s.data(&r)
	if uint64(len(target)) > size {
		target = target[:size]
	}
	if !copyOut(buf, target) {
		return errno(linux.EFAULT)
	}
	return int64(len(target))
}

// volSymlink implements symlink on a volume path.
func volSymlink(t *thread, target []byte, p *volPath) int64 {
	s, dfid, name, r, ok := volEntryCall(t, p, linux.EEXIST)
	if !ok {
		return r
	}
	var m p9msg
	if s.step() {
		m = s.msg(p9Tsymlink)
		m.u32(dfid)
		m.str(name)
		m.str(target)
		m.u32(0)
	}
	return errno(s.simple(t, p.dev(), &m))
}

// volLink implements link within one volume.
func volLink(t *thread, from, to *volPath) int64 {
	if from.m != to.m {
		return errno(linux.EXDEV)
	}
	if to.ncomp() == 0 {
		return errno(linux.EEXIST)
	}
	if from.ro() {
		return errno(linux.EROFS)
	}
	s := volSlot(t)
	if s == nil {
		return 0
	}
	fid, qid, e := s.walkPath(t, from)
	if e != 0 {
		return errno(e)
	}
	if qid.typ&p9QTDir != 0 || from.ncomp() == 0 {
		return errno(linux.EPERM)
	}
	dfid, name, e := s.walkParent(t, to)
	if e != 0 {
		return errno(e)
	}
	var m p9msg
	if s.step() {
		m = s.msg(p9Tlink)
		m.u32(dfid)
		m.u32(fid)
		m.str(name)
	}
	return errno(s.simple(t, from.dev(), &m))
}

// volStatfs implements statfs (p) and fstatfs (vf) on a volume.
func volStatfs(t *thread, p *volPath, vf *volFile, addr uintptr) int64 {
	s := volSlot(t)
	if s == nil {
		return 0
	}
	var dev int
	var fid uint32
	if vf != nil {
		dev, fid = volMounts[vf.m].dev, vf.fid
	} else {
		dev = p.dev()
		var e linux.Errno
		if fid, _, e = s.walkPath(t, p); e != 0 {
			return errno(e)
		}
	}
	var m p9msg
	if s.step() {
		m = s.msg(p9Tstatfs)
		m.u32(fid)
	}
	r := s.rpc(t, dev, &m)
	if r.err != 0 {
		return errno(r.err)
	}
	var st [15]uint64 // struct statfs, amd64: 120 bytes
	st[0] = v9fsMagic
	st[1] = uint64(r.fs.bsize)
	st[2], st[3], st[4] = r.fs.blocks, r.fs.bfree, r.fs.bavail
	st[5], st[6] = r.fs.files, r.fs.ffree
	st[7] = r.fs.fsid
	st[8] = uint64(r.fs.namelen)
	st[9] = uint64(r.fs.bsize)
	if (vf != nil && volMounts[vf.m].ro) || (p != nil && p.ro()) {
		st[10] = 1 // ST_RDONLY
	}
	if !copyOut(addr, (*[120]byte)(unsafe.Pointer(&st))[:]) {
		return errno(linux.EFAULT)
	}
	return 0
}

// volAccess implements faccessat on a volume path: existence, and for X_OK
// an execute bit; W_OK on a read-only volume is EROFS.
func volAccess(t *thread, p *volPath, mode uint64) int64 {
	const xOK, wOK = 1, 2
	if mode&wOK != 0 && p.ro() {
		return errno(linux.EROFS)
	}
	s := volSlot(t)
	if s == nil {
		return 0
	}
	fid, _, e := s.walkPath(t, p)
	if e != 0 {
		return errno(e)
	}
	if mode&xOK == 0 {
		return 0
	}
	r := s.getattr(t, p.dev(), fid)
	if r.err != 0 {
		return errno(r.err)
	}
	if r.attr.mode&sIFMT != sIFDIR && r.attr.mode&0o111 == 0 {
		return errno(linux.EACCES)
	}
	return 0
}

// volChown serves chown on a volume path as a deliberate no-op once the
// file is found: the host's files keep the owner of the user QEMU runs as
// (security_model=none), and the app, which runs as root, expects chown to
// succeed.
func volChown(t *thread, r *walkResult) int64 {
	p := volPathOf(r)
	return volAccess(t, &p, 0)
}
