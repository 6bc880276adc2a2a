package kernel

import "mote.dev/mote/kernel/abi/linux"

// Paths inside a volume: the part of a path that resolution (vfs.go)
// hands to a volume, its components, and their walk on the host.
//
// Symbolic links on a volume are followed as Linux follows them, by the
// guest (walkPath): the host never follows one, so a link is read and its
// target resolved in the guest's tree. A link that leads out of its volume
// is not followed yet (EXDEV).

// volLinkMax bounds the links followed in one path on a volume (Linux
// allows 40): each costs a call up to five steps of its slot's log.
const volLinkMax = 8

// volPath is a path inside a volume: its mount, the fid it starts from
// and the rest.
type volPath struct {
	m      int
	base   uint32
	rest   []byte
	follow bool // a symbolic link in the last component is followed
}

func volPathOf(r *walkResult) volPath {
	return volPath{int(r.vol - 1), r.volFid, r.rest, r.volFollow}
}

func (p *volPath) dev() int { return volMounts[p.m].dev }
func (p *volPath) ro() bool { return volMounts[p.m].ro }

// dirOnly reports a trailing slash: the path must name a directory.
func (p *volPath) dirOnly() bool { return len(p.rest) > 0 && p.rest[len(p.rest)-1] == '/' }

// span returns where the k-th component of rest lies ("." components
// skipped); false past the last.
func (p *volPath) span(k int) (int, int, bool) {
	b := p.rest
	i, n := 0, 0
	for i < len(b) {
		for i < len(b) && b[i] == '/' {
			i++
		}
		j := i
		for j < len(b) && b[j] != '/' {
			j++
		}
		if j > i && !(j-i == 1 && b[i] == '.') {
			if n == k {
				return i, j, true
			}
			n++
		}
		i = j
	}
	return 0, 0, false
}

// comp returns the k-th component of rest, or nil.
func (p *volPath) comp(k int) []byte {
	if i, j, ok := p.span(k); ok {
		return p.rest[i:j]
	}
	return nil
}

func (p *volPath) ncomp() int {
	n := 0
	for p.comp(n) != nil {
		n++
	}
	return n
}

// walk makes a fid for the first n components of p and returns it with the
// qid of the last (zero for n == 0, a clone of the start).
func (s *p9slot) walk(t *thread, p *volPath, n int) (uint32, p9qid, linux.Errno) {
	dev := p.dev()
	fid, ok := s.newFid(dev)
	if !ok {
		return 0, p9qid{}, linux.ENFILE
	}
	from := p.base
	var qid p9qid
	for done := 0; ; {
		k := min(n-done, p9MaxWalk)
		var m p9msg
		if s.step() {
			m = s.msg(p9Twalk)
			m.u32(from)
			m.u32(fid)
			m.u16(uint16(k))
			for i := done; i < done+k; i++ {
				m.str(p.comp(i))
			}
		}
		r := s.rpc(t, dev, &m)
		if r.err != 0 {
			s.walked = done
			return fid, qid, r.err
		}
		if int(r.nwqid) < k {
			if done > 0 {
				s.bound(fid, false)
			}
			s.walked, s.walkedQid = done+int(r.nwqid), r.qid
			if r.nwqid > 0 && r.qid.typ&p9QTDir == 0 {
				return fid, qid, linux.ENOTDIR
			}
			return fid, qid, linux.ENOENT
		}
		s.bound(fid, false)
		if k > 0 {
			qid = r.qid
		}
		done += k
		from = fid
		if done >= n {
			s.walked, s.walkedQid = n, qid
			return fid, qid, 0
		}
	}
}

// walkPath walks p to a fid as Linux resolves a path: following the
// symbolic links on the way, and the last component's when p.follow. The
// host reports a link as a component's qid; the guest reads it and walks
// again with the target in its place.
func (s *p9slot) walkPath(t *thread, p *volPath) (uint32, p9qid, linux.Errno) {
	cur := *p
	for hops := 0; ; hops++ {
		n := cur.ncomp()
		fid, qid, e := s.walk(t, &cur, n)
		k := -1 // the component that is a link to follow
		switch {
		case e == errBlocked:
		case e == 0 && n > 0 && qid.typ&p9QTSymlink != 0 && cur.follow:
			k = n - 1
		case (e == linux.ENOENT || e == linux.ENOTDIR) && s.walked > 0 && s.walked < n && s.walkedQid.typ&p9QTSymlink != 0:
			k = s.walked - 1 // a link in the middle: the host does not walk through it
		}
		if k < 0 {
			return fid, qid, e
		}
		if hops >= volLinkMax {
			return 0, p9qid{}, linux.ELOOP
		}
		lfid := fid // the link is last: the walk made its fid
		if k < n-1 {
			if lfid, _, e = s.walk(t, &cur, k+1); e != 0 {
				return 0, p9qid{}, e
			}
		}
		var m p9msg
		if s.step() {
			m = s.msg(p9Treadlink)
			m.u32(lfid)
		}
		r := s.rpc(t, cur.dev(), &m)
		if r.err != 0 {
			return 0, p9qid{}, r.err
		}
		base, rlen, e := s.relink(&cur, k, s.data(&r))
		if e != 0 {
			return 0, p9qid{}, e
		}
		cur.base, cur.rest = base, s.path[:rlen]
	}
}

// relink puts target in place of component k of p, which is a link to it,
// and returns the new path's start fid and length, in s.path. A relative
// target is taken from the link's directory; an absolute one from the
// guest's root, and must lead back into the same volume.
func (s *p9slot) relink(p *volPath, k int, target []byte) (uint32, int, linux.Errno) {
	var tmp [pathMax]byte
	n := 0
	put := func(b []byte) bool {
		if n+len(b)+1 > len(tmp) {
			return false
		}
		if n > 0 && tmp[n-1] != '/' {
			tmp[n] = '/'
			n++
		}
		n += copy(tmp[n:], b)
		return true
	}
	ok := true
	if len(target) > 0 && target[0] == '/' {
		ok = put(target)
	} else {
		for i := 0; i < k && ok; i++ {
			ok = put(p.comp(i))
		}
		ok = ok && put(target)
	}
	for i := k + 1; p.comp(i) != nil && ok; i++ {
		ok = put(p.comp(i))
	}
	if ok && p.dirOnly() {
		ok = put([]byte{'/'})
	}
	if len(target) == 0 {
		return 0, 0, linux.ENOENT
	}
	if !ok {
		return 0, 0, linux.ENAMETOOLONG
	}
	if tmp[0] != '/' {
		return p.base, copy(s.path[:], tmp[:n]), 0
	}
	r, e := resolve(rootIno, tmp[:n], p.follow)
	if e != 0 {
		return 0, 0, e
	}
	if int(r.vol)-1 != p.m {
		return 0, 0, linux.EXDEV
	}
	return r.volFid, copy(s.path[:], r.rest), 0
}

// walkParent walks to the directory holding p's last component, which it
// returns; EBUSY for the volume's root itself.
func (s *p9slot) walkParent(t *thread, p *volPath) (uint32, []byte, linux.Errno) {
	n := p.ncomp()
	if n == 0 {
		return 0, nil, linux.EBUSY
	}
	last := p.comp(n - 1)
	if isDots(last) {
		return 0, nil, linux.EINVAL
	}
	// The directory is p without its last component, every link on the
	// way followed.
	dir := *p
	dir.follow = true
	end, _, _ := p.span(n - 1)
	dir.rest = p.rest[:end]
	fid, _, e := s.walkPath(t, &dir)
	return fid, last, e
}

// simple sends one request that carries no data back and returns its errno.
func (s *p9slot) simple(t *thread, dev int, m *p9msg) linux.Errno {
	return s.rpc(t, dev, m).err
}

// getattr asks for fid's attributes.
func (s *p9slot) getattr(t *thread, dev int, fid uint32) p9r {
	var m p9msg
	if s.step() {
		m = s.msg(p9Tgetattr)
		m.u32(fid)
		m.u64(p9GetattrBasic)
	}
	return s.rpc(t, dev, &m)
}

// volName writes the guest path p names into buf: the mount point's path,
// or the name of the directory open as p's start, then p's components
// ("." dropped, ".." taking one off). 0 when it does not fit.
func volName(p *volPath, buf []byte) int {
	var tmp [pathMax]byte
	n := 0
	if p.base == uint32(p.m) {
		dir, ok := pathOf(volMounts[p.m].ino, tmp[:])
		if !ok || len(dir) > len(buf) {
			return 0
		}
		n = copy(buf, dir)
	} else if cwdVol.active && p.base == cwdVol.fid {
		n = copy(buf, cwdVol.name[:cwdVol.n])
	} else {
		for i := range volFiles {
			if vf := &volFiles[i]; vf.used && vf.fid == p.base {
				n = copy(buf, vf.name[:vf.nameN])
				break
			}
		}
		if n == 0 {
			return 0
		}
	}
	for i := 0; ; i++ {
		c := p.comp(i)
		switch {
		case c == nil:
			return n
		case len(c) == 2 && c[0] == '.' && c[1] == '.':
			for n > 1 && buf[n-1] != '/' {
				n--
			}
			if n > 1 {
				n--
			}
			continue
		}
		if n+1+len(c) > len(buf) {
			return 0
		}
		if n > 1 || buf[0] != '/' {
			buf[n] = '/'
			n++
		}
		n += copy(buf[n:], c)
	}
}
