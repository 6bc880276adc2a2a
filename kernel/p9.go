package kernel

import "mote.dev/mote/kernel/abi/linux"

// The 9P2000.L wire format: what the volume client (virtio_9p.go) writes
// and what it reads back. Every message is size[4] type[1] tag[2] and a
// body of little-endian integers and strings (len[2] bytes); a reply is
// checked field by field against the buffer the device filled, so a
// malformed one is EIO and never a read past it. References: the
// protocol as Linux's net/9p and QEMU's hw/9pfs speak it, and diod's
// protocol notes.

const (
	p9Tlerror   = 6
	p9Rlerror   = 7
	p9Tstatfs   = 8
	p9Tlopen    = 12
	p9Tlcreate  = 14
	p9Tsymlink  = 16
	p9Treadlink = 22
	p9Tgetattr  = 24
	p9Tsetattr  = 26
	p9Treaddir  = 40
	p9Tfsync    = 50
	p9Tlink     = 70
	p9Tmkdir    = 72
	p9Trenameat = 74
	p9Tunlinkat = 76
	p9Tversion  = 100
	p9Tattach   = 104
	p9Twalk     = 110
	p9Tread     = 116
	p9Twrite    = 118
	p9Tclunk    = 120

	p9NoFid   = 0xffffffff
	p9HdrLen  = 7
	p9IOHdr   = 24 // what a read or write reply or request adds to its data
	p9MaxWalk = 16 // names in one Twalk (MAXWELEM)

	p9QTDir     = 0x80
	p9QTSymlink = 0x02

	p9GetattrBasic = 0x7ff

	// Tsetattr's valid bits.
	p9SetMode     = 0x1
	p9SetUID      = 0x2
	p9SetGID      = 0x4
	p9SetSize     = 0x8
	p9SetAtime    = 0x10
	p9SetMtime    = 0x20
	p9SetCtime    = 0x40
	p9SetAtimeSet = 0x80
	p9SetMtimeSet = 0x100
)

// p9msg builds one request in a fixed buffer. A request too long for the
// buffer sets bad; the caller turns that into ENAMETOOLONG or EINVAL.
type p9msg struct {
	b   []byte
	n   int
	bad bool
}

func (m *p9msg) begin(typ uint8, tag uint16) {
	m.n = 0
	m.bad = false
	m.u32(0) // size, set by finish
	m.u8(typ)
	m.u16(tag)
}

func (m *p9msg) room(k int) bool {
	if m.n+k > len(m.b) {
		m.bad = true
		return false
	}
	return true
}

func (m *p9msg) u8(v uint8) {
	if m.room(1) {
		m.b[m.n] = v
		m.n++
	}
}

func (m *p9msg) u16(v uint16) {
	if m.room(2) {
		m.b[m.n], m.b[m.n+1] = byte(v), byte(v>>8)
		m.n += 2
	}
}

func (m *p9msg) u32(v uint32) {
	if m.room(4) {
		for i := 0; i < 4; i++ {
			m.b[m.n+i] = byte(v >> (8 * i))
		}
		m.n += 4
	}
}

func (m *p9msg) u64(v uint64) {
	if m.room(8) {
		for i := 0; i < 8; i++ {
			m.b[m.n+i] = byte(v >> (8 * i))
		}
		m.n += 8
	}
}

func (m *p9msg) str(s []byte) {
	if len(s) > 0xffff {
		m.bad = true
		return
	}
	m.u16(uint16(len(s)))
	if m.room(len(s)) {
		copy(m.b[m.n:], s)
		m.n += len(s)
	}
}

// data reserves k bytes for a write's payload and returns them.
func (m *p9msg) data(k int) []byte {
	if !m.room(k) {
		return nil
	}
	d := m.b[m.n : m.n+k]
	m.n += k
	return d
}

// finish stores the size and returns the message's length.
func (m *p9msg) finish() int {
	if m.bad || m.n < p9HdrLen {
		return 0
	}
	n := uint32(m.n)
	m.b[0], m.b[1], m.b[2], m.b[3] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
	return m.n
}

type p9qid struct {
	typ  uint8
	vers uint32
	path uint64
}

// p9attr is what Rgetattr says of a file; times in nanoseconds.
type p9attr struct {
	mode, uid, gid            uint32
	nlink, rdev, size, blocks uint64
	blksize                   uint64
	atime, mtime, ctime       int64
}

// p9statfs is Rstatfs.
type p9statfs struct {
	typ, bsize                                uint32
	blocks, bfree, bavail, files, ffree, fsid uint64
	namelen                                   uint32
}

// p9r is one reply, decoded: the fields its type carries. Data (of Rread,
// Rreaddir, Rreadlink) stays in the receive buffer at off, count bytes.
type p9r struct {
	err    linux.Errno
	qid    p9qid
	iounit uint32
	count  uint32
	off    uint32
	nwqid  uint16
	arena  bool // the data was kept in the slot's arena (p9slot.data)
	attr   p9attr
	fs     p9statfs
}

// p9dec reads a reply; any read past its end sets bad.
type p9dec struct {
	b   []byte
	n   int
	bad bool
}

func (d *p9dec) take(k int) []byte {
	if d.bad || k < 0 || d.n+k > len(d.b) {
		d.bad = true
		return nil
	}
	p := d.b[d.n : d.n+k]
	d.n += k
	return p
}

func (d *p9dec) u8() uint8 {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *p9dec) u16() uint16 {
	if p := d.take(2); p != nil {
		return uint16(p[0]) | uint16(p[1])<<8
	}
	return 0
}

func (d *p9dec) u32() uint32 {
	if p := d.take(4); p != nil {
		return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
	}
	return 0
}

func (d *p9dec) u64() uint64 {
	if p := d.take(8); p != nil {
		var v uint64
		for i := 7; i >= 0; i-- {
			v = v<<8 | uint64(p[i])
		}
		return v
	}
	return 0
}

func (d *p9dec) qid() p9qid {
	return p9qid{typ: d.u8(), vers: d.u32(), path: d.u64()}
}

func (d *p9dec) time() int64 {
	sec, nsec := int64(d.u64()), int64(d.u64())
	if nsec < 0 || nsec >= 1e9 || sec < -(1<<62)/1_000_000_000 || sec > (1<<62)/1_000_000_000 {
		return 0
	}
	return sec*1e9 + nsec
}

// p9Decode checks and decodes the reply in b (what the device wrote) to a
// request of type treq with tag. A reply that does not parse as the answer
// to that request is EIO.
func p9Decode(b []byte, treq uint8, tag uint16) p9r {
	var r p9r
	d := p9dec{b: b}
	size := d.u32()
	typ := d.u8()
	if d.u16() != tag || d.bad || size < p9HdrLen || uint64(size) > uint64(len(b)) {
		r.err = linux.EIO
		return r
	}
	d.b = b[:size]
	switch typ {
	case p9Rlerror:
		e := d.u32()
		if e == 0 || e > 4095 {
			e = uint32(linux.EIO)
		}
		r.err = linux.Errno(e)
	case treq + 1:
		switch treq {
		case p9Tversion:
			r.count = d.u32() // msize
			v := d.u16()
			r.off, r.iounit = uint32(d.n), uint32(v)
			d.take(int(v))
		case p9Tattach, p9Tmkdir, p9Tsymlink:
			r.qid = d.qid()
		case p9Tlopen, p9Tlcreate:
			r.qid = d.qid()
			r.iounit = d.u32()
		case p9Twalk:
			r.nwqid = d.u16()
			if r.nwqid > p9MaxWalk {
				d.bad = true
			}
			for i := uint16(0); i < r.nwqid; i++ {
				r.qid = d.qid()
			}
		case p9Tread, p9Treaddir:
			r.count = d.u32()
			r.off = uint32(d.n)
			d.take(int(r.count))
		case p9Twrite:
			r.count = d.u32()
		case p9Treadlink:
			r.count = uint32(d.u16())
			r.off = uint32(d.n)
			d.take(int(r.count))
		case p9Tgetattr:
			d.u64() // valid
			r.qid = d.qid()
			a := &r.attr
			a.mode, a.uid, a.gid = d.u32(), d.u32(), d.u32()
			a.nlink, a.rdev, a.size, a.blksize, a.blocks = d.u64(), d.u64(), d.u64(), d.u64(), d.u64()
			a.atime, a.mtime, a.ctime = d.time(), d.time(), d.time()
			d.take(32) // btime, gen, data_version
		case p9Tstatfs:
			s := &r.fs
			s.typ, s.bsize = d.u32(), d.u32()
			s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.fsid = d.u64(), d.u64(), d.u64(), d.u64(), d.u64(), d.u64()
			s.namelen = d.u32()
		case p9Tclunk, p9Tsetattr, p9Tfsync, p9Tlink, p9Trenameat, p9Tunlinkat:
		default:
			d.bad = true
		}
	default:
		d.bad = true
	}
	if d.bad {
		return p9r{err: linux.EIO}
	}
	return r
}

// p9ReadHdr is Rread's header, size[4] type[1] tag[2] count[4]: what the
// reply buffer takes of a direct read, whose data goes to the app's pages.
const p9ReadHdr = 11

// p9DecodeRreadHdr checks and decodes the reply to a direct Tread of at most
// max bytes: its header in hdr, rlen the bytes the device wrote in all.
// The data is in the app's pages (r.off is meaningless); an Rlerror fits the
// header's room exactly.
func p9DecodeRreadHdr(hdr []byte, rlen, max uint32, tag uint16) p9r {
	if len(hdr) < p9ReadHdr || rlen < p9ReadHdr {
		return p9r{err: linux.EIO}
	}
	if hdr[4] == p9Rlerror {
		return p9Decode(hdr[:p9ReadHdr], p9Tread, tag)
	}
	d := p9dec{b: hdr}
	size, typ, rtag, count := d.u32(), d.u8(), d.u16(), d.u32()
	if typ != p9Tread+1 || rtag != tag || count > max || uint64(size) != p9ReadHdr+uint64(count) || size > rlen {
		return p9r{err: linux.EIO}
	}
	return p9r{count: count}
}

// p9Dirent is one entry of an Rreaddir's data.
type p9Dirent struct {
	qid  p9qid
	next uint64 // the offset that resumes after this entry
	typ  uint8
	name []byte
	len  int // bytes the entry takes
}

// p9NextDirent decodes the entry at the start of b; ok is false when b
// holds no whole entry.
func p9NextDirent(b []byte) (p9Dirent, bool) {
	d := p9dec{b: b}
	var e p9Dirent
	e.qid = d.qid()
	e.next = d.u64()
	e.typ = d.u8()
	k := d.u16()
	e.name = d.take(int(k))
	if d.bad || k == 0 || k > nameMax {
		return p9Dirent{}, false
	}
	e.len = d.n
	return e, true
}
