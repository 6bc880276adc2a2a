package kernel

import "mote.dev/mote/kernel/abi/linux"

// A working directory inside a volume. The working directory is an inode
// of the tree (cwdIno); one below a volume's root is that volume's mount
// point there, and cwdVol holds a fid of the directory and its path:
// relative paths start from the fid (lookupAt), getcwd returns the path.

var cwdVol struct {
	active bool
	m      int
	fid    uint32
	name   [pathMax]byte
	n      int
}

// volCwdLookup returns where a relative path from the working directory
// starts, when that is inside a volume.
func volCwdLookup(p []byte, follow bool) (walkResult, bool) {
	if !cwdVol.active || len(p) == 0 || p[0] == '/' {
		return walkResult{}, false
	}
	r := volEnter(cwdVol.m, p, 0, follow)
	r.volFid = cwdVol.fid
	return r, true
}

// volLeaveCwd ends a working directory inside a volume: chdir went
// elsewhere.
func volLeaveCwd() {
	if cwdVol.active {
		clunkLater(cwdVol.fid)
		cwdVol.active = false
	}
}

// volSetCwd makes fid, a directory of volume m named name, the working
// directory.
func volSetCwd(m int, fid uint32, name []byte) {
	volLeaveCwd()
	cwdVol.active, cwdVol.m, cwdVol.fid = true, m, fid
	cwdVol.n = copy(cwdVol.name[:], name)
	cwdIno = volMounts[m].ino
}

// volChdir implements chdir into a volume.
func volChdir(t *thread, r *walkResult) int64 {
	p := volPathOf(r)
	p.follow = true
	if p.ncomp() == 0 && p.base == uint32(p.m) {
		volLeaveCwd() // the root: its mount point in the tree will do
		cwdIno = volMounts[p.m].ino
		return 0
	}
	var name [pathMax]byte
	n := volName(&p, name[:])
	if n == 0 {
		return errno(linux.ENAMETOOLONG)
	}
	s := volSlot(t)
	if s == nil {
		return 0
	}
	fid, qid, e := s.walkPath(t, &p)
	if e != 0 {
		return errno(e)
	}
	if qid.typ&p9QTDir == 0 {
		return errno(linux.ENOTDIR)
	}
	s.bound(fid, true)
	volSetCwd(p.m, fid, name[:n])
	return 0
}

// volFchdir implements fchdir to a directory open on a volume: the
// working directory gets a fid of its own, walked from the descriptor's.
func volFchdir(t *thread, vf *volFile) int64 {
	if !vf.dir {
		return errno(linux.ENOTDIR)
	}
	if vf.nameN == 0 {
		return errno(linux.ENAMETOOLONG)
	}
	s := volSlot(t)
	if s == nil {
		return 0
	}
	dev := volMounts[vf.m].dev
	fid, ok := s.newFid(dev)
	if !ok {
		return errno(linux.ENFILE)
	}
	var m p9msg
	if s.step() {
		m = s.msg(p9Twalk)
		m.u32(vf.fid)
		m.u32(fid)
		m.u16(0)
	}
	if r := s.rpc(t, dev, &m); r.err != 0 {
		return errno(r.err)
	}
	s.bound(fid, true)
	volSetCwd(int(vf.m), fid, vf.name[:vf.nameN])
	return 0
}

// volGetcwd returns the working directory's path when it is inside a
// volume.
func volGetcwd() ([]byte, bool) {
	if !cwdVol.active {
		return nil, false
	}
	return cwdVol.name[:cwdVol.n], true
}

// volBootCwd moves a working directory from cwd= that a volume mounted
// over (it lies below a mount point) into the volume, which must have it.
func volBootCwd() {
	m := -1
	for d := cwdIno; d != rootIno && d >= 0; d = inodes[d].parent {
		if k := volMountAt(d); k >= 0 {
			m = k
			break
		}
	}
	if m < 0 || cwdIno == volMounts[m].ino {
		return
	}
	var full, mnt [pathMax]byte
	path, ok1 := pathOf(cwdIno, full[:])
	top, ok2 := pathOf(volMounts[m].ino, mnt[:])
	if !ok1 || !ok2 || len(path) <= len(top) {
		bootFail("the working directory below a volume cannot be named")
	}
	p := volPath{m: m, base: uint32(m), rest: path[len(top):]}
	dev := volMounts[m].dev
	fid, ok := allocFid(dev)
	if !ok {
		bootFail("no fid for the working directory")
	}
	msg := p9slot0[0].msg(p9Twalk)
	msg.u32(uint32(m))
	msg.u32(fid)
	n := p.ncomp()
	if n > p9MaxWalk {
		bootFail("the working directory is too deep below its volume")
	}
	msg.u16(uint16(n))
	for i := 0; i < n; i++ {
		msg.str(p.comp(i))
	}
	r := p9Boot(dev, &msg)
	if r.err != 0 || int(r.nwqid) != n || r.qid.typ&p9QTDir == 0 {
		kerr.s("mote: the working directory ").b(path).s(" is not a directory on its volume: create it in the host directory").nl()
		bootFail("the working directory is missing on its volume")
	}
	volSetCwd(m, fid, path)
}
