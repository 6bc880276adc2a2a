package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// Mappings of volume files: the pager of volumes (pager.go), over the page
// cache (pagecache.go). A mapped file is an object here, named by its
// volume and qid path, so that two opens share its pages; it gets a fid of
// its own (walked from a descriptor's and opened as it is), so that it
// outlives that descriptor. prepare reads the pages a new mapping covers
// (below the file's end) into the cache, and sync writes the dirty ones
// back, both with the requests of a system call on a volume (they block
// the thread and the call is made again). A fault finds its page in the
// cache and never waits for the device.
//
// Each read or write-back request is a step of the call that the slot
// forgets once its reply is in the cache (s.forget): the cache itself says
// what is left to do when the call is made again, and a file of any size
// fits in the slot's log.

const maxVolObjs = 64

type volObj struct {
	used   bool
	open   bool   // fid is walked and opened
	m      int8   // the volume
	ino    uint64 // the qid path
	fid    uint32
	srcFid uint32 // the descriptor's fid the object's own is walked from
	flags  uint64 // the descriptor's access mode
	size   int64
	// base is the size the file had when it was opened here, or less
	// after a truncation: every byte from it on that the cache does not
	// hold is zero, since every write since went through the cache.
	base int64
	refs int32
	// name is the file's guest path, as /proc/self/maps shows it, and
	// whether it was unlinked since.
	name    [volNameMax]byte
	nameN   uint16
	deleted bool
}

var volObjs [maxVolObjs]volObj

type volPager struct{}

var volPages volPager

// volObjFind returns the object of file ino of volume m, or -1.
func volObjFind(m int8, ino uint64) int32 {
	for i := range volObjs {
		if o := &volObjs[i]; o.used && o.m == m && o.ino == ino {
			return int32(i)
		}
	}
	return -1
}

// volPagerOf answers pagerOf for a volume descriptor: its file's object,
// made on first use (opened later, in prepare).
func volPagerOf(e *fdEntry) (int32, bool) {
	vf := &volFiles[e.obj]
	if vf.dir {
		return 0, false
	}
	if id := volObjFind(vf.m, vf.ino); id >= 0 {
		o := &volObjs[id]
		if !o.open {
			o.srcFid, o.flags = vf.fid, vf.flags
		}
		return id, true
	}
	for i := range volObjs {
		if o := &volObjs[i]; !o.used {
			*o = volObj{used: true, m: vf.m, ino: vf.ino, srcFid: vf.fid, flags: vf.flags}
			o.name, o.nameN = vf.name, vf.nameN
			return int32(i), true
		}
	}
	return 0, false
}

// forget drops the steps taken since the log held mark entries: their
// effect (a fid opened, a page read into the cache, or written back) tells
// the call's next pass they are done.
func (s *p9slot) forget(mark uint8) {
	s.n, s.pos = mark, mark
}

func (*volPager) prepare(t *thread, id int32, from, to int64) linux.Errno {
	o := &volObjs[id]
	dev := volMounts[o.m].dev
	s := volSlot(t)
	if s == nil {
		return 0
	}
	if !o.open {
		mark := s.pos
		fid, ok := s.newFid(dev)
		if !ok {
			return linux.ENFILE
		}
		var m p9msg
		if s.step() {
			m = s.msg(p9Twalk)
			m.u32(o.srcFid)
			m.u32(fid)
			m.u16(0)
		}
		if r := s.rpc(t, dev, &m); r.err != 0 {
			return r.err
		}
		s.bound(fid, false)
		acc := uint32(linux.O_RDONLY)
		if o.flags&linux.O_ACCMODE == linux.O_RDWR {
			acc = linux.O_RDWR
		}
		if s.step() {
			m = s.msg(p9Tlopen)
			m.u32(fid)
			m.u32(acc)
		}
		if r := s.rpc(t, dev, &m); r.err != 0 {
			return r.err
		}
		r := s.getattr(t, dev, fid)
		if r.err != 0 {
			return r.err
		}
		o.fid, o.size, o.open = fid, int64(r.attr.size), true
		o.base = o.size
		s.bound(fid, true)
		s.forget(mark)
	}
	end := min(to, (o.size+pageSize-1)/pageSize)
	for pg := from; pg < end; {
		if cacheFind(pagerVol, id, pg) != 0 {
			pg++
			continue
		}
		k := int64(1) // a run of uncached pages, one request's worth
		for pg+k < end && k < p9MaxIO/pageSize && cacheFind(pagerVol, id, pg+k) == 0 {
			k++
		}
		mark := s.pos
		var m p9msg
		if s.step() {
			m = s.msg(p9Tread)
			m.u32(o.fid)
			m.u64(uint64(pg * pageSize))
			m.u32(uint32(k * pageSize))
		}
		r := s.rpc(t, dev, &m)
		if r.err != 0 {
			return r.err
		}
		data := s.data(&r)
		for i := int64(0); i < k; i++ {
			f, e := cacheAdd(pagerVol, id, pg+i)
			if e != 0 {
				return e
			}
			if lo := i * pageSize; lo < int64(len(data)) {
				copy(unsafe.Slice((*byte)(unsafe.Pointer(f)), pageSize), data[lo:min(lo+pageSize, int64(len(data)))])
			}
		}
		s.forget(mark)
		pg += k
	}
	return 0
}

func (*volPager) frame(id int32, pg int64) (uintptr, linux.Errno) {
	o := &volObjs[id]
	if pg >= (o.size+pageSize-1)/pageSize {
		return 0, linux.EFAULT
	}
	if f := cacheFind(pagerVol, id, pg); f != 0 {
		return f, 0
	}
	if pg*pageSize >= o.base {
		// The file grew under the mapping (bbolt's way): a page it never
		// wrote is zeros, and needs no request.
		return cacheAdd(pagerVol, id, pg)
	}
	// Below base and not read by prepare: a fault cannot wait for the
	// device. prepare reads every page a mapping covers, so this is a page
	// dropped from the cache while mapped: SIGBUS.
	return 0, linux.ENOSPC
}

func (*volPager) dirty(id int32, pg int64) { cacheSetDirty(pagerVol, id, pg, true) }

// sync writes the dirty pages back, a run of consecutive ones a request,
// only the bytes below the file's end.
func (*volPager) sync(t *thread, id int32) linux.Errno {
	o := &volObjs[id]
	if !o.open {
		return 0
	}
	if _, _, any := cacheNextDirty(pagerVol, id, 0); !any {
		return 0
	}
	if volMounts[o.m].ro {
		return linux.EROFS
	}
	dev := volMounts[o.m].dev
	s := volSlot(t)
	if s == nil {
		return 0
	}
	for from := int64(0); ; {
		pg, f, ok := cacheNextDirty(pagerVol, id, from)
		if !ok {
			return 0
		}
		n := min(o.size-pg*pageSize, pageSize)
		if n <= 0 {
			cacheSetDirty(pagerVol, id, pg, false) // past the end: dropped, as Linux drops it
			from = pg + 1
			continue
		}
		mark := s.pos
		var m p9msg
		if s.step() {
			m = s.msg(p9Twrite)
			m.u32(o.fid)
			m.u64(uint64(pg * pageSize))
			m.u32(uint32(n))
			copy(m.data(int(n)), unsafe.Slice((*byte)(unsafe.Pointer(f)), n))
		}
		r := s.rpc(t, dev, &m)
		if r.err != 0 {
			return r.err
		}
		if int64(r.count) != n {
			return linux.EIO
		}
		cacheSetDirty(pagerVol, id, pg, false)
		s.forget(mark)
		from = pg + 1
	}
}

func (*volPager) hold(id int32) { volObjs[id].refs++ }

// release ends a mapping. With the last one gone the object and its pages
// go too, unless pages are still dirty (munmap without msync): those wait
// for the file's next fsync or mapping, or the machine's stop.
func (*volPager) release(id int32) {
	o := &volObjs[id]
	if o.refs--; o.refs > 0 {
		return
	}
	if _, _, dirty := cacheNextDirty(pagerVol, id, 0); dirty {
		return
	}
	cacheDrop(pagerVol, id)
	if o.open {
		clunkLater(o.fid)
	}
	*o = volObj{}
}

// volMapped returns the object of the file vf has open, if it is mapped.
func volMapped(vf *volFile) (int32, bool) {
	id := volObjFind(vf.m, vf.ino)
	return id, id >= 0 && volObjs[id].open
}

// volWritten keeps a mapped file's cached pages and size current after
// data was written to it at off (at its end when appended).
func volWritten(vf *volFile, off int64, appended bool, data []byte) {
	id, ok := volMapped(vf)
	if !ok {
		return
	}
	o := &volObjs[id]
	if appended {
		off = o.size // where the host appended, as every write goes through here
	}
	o.size = max(o.size, off+int64(len(data)))
	// Pages past base get their bytes from here, not the host: cached now.
	for pg := max(off, o.base) / pageSize; pg*pageSize < off+int64(len(data)); pg++ {
		if _, e := cacheAdd(pagerVol, id, pg); e != 0 {
			break
		}
	}
	cacheWrite(pagerVol, id, off, data)
}

// volReadOverlay lays a mapped file's cached pages, which a mapping may
// have stored into, over what a read returned from the host.
func volReadOverlay(vf *volFile, off int64, buf []byte) {
	if id, ok := volMapped(vf); ok {
		cacheOverlay(pagerVol, id, off, buf)
	}
}

// volTruncated sets a mapped file's size: pages past it leave every
// mapping and the cache.
func volTruncated(m int8, ino uint64, size int64) {
	id := volObjFind(m, ino)
	if id < 0 || !volObjs[id].open {
		return
	}
	cacheTruncate(pagerVol, id, size)
	volObjs[id].size = size
	volObjs[id].base = min(volObjs[id].base, size)
}

// volMappedName writes the path of mapped volume file id into buf, as
// /proc/self/maps shows it ("(deleted)" once unlinked); nil if unknown.
func volMappedName(id int32, buf []byte) []byte {
	o := &volObjs[id]
	if o.nameN == 0 {
		return nil
	}
	k := copy(buf, o.name[:o.nameN])
	if o.deleted {
		k += copy(buf[k:], " (deleted)")
	}
	return buf[:k]
}

// volUnlinked marks the mapped files named path of volume m as deleted.
func volUnlinked(m int, path []byte) {
	for i := range volObjs {
		if o := &volObjs[i]; o.used && int(o.m) == m && bytesEqual(o.name[:o.nameN], path) {
			o.deleted = true
		}
	}
}

// volFlushAtExit writes back what shared mappings of volume files stored
// and nobody synced, as the machine stops: Linux's page cache outlives the
// process, and so must those stores (exitGroup harvests the dirty bits
// first). The requests are polled: no thread will run again.
func volFlushAtExit() {
	for i := range volObjs {
		o := &volObjs[i]
		if !o.used || !o.open || volMounts[o.m].ro {
			continue
		}
		id := int32(i)
		for from := int64(0); ; {
			pg, f, ok := cacheNextDirty(pagerVol, id, from)
			if !ok {
				break
			}
			if n := min(o.size-pg*pageSize, pageSize); n > 0 {
				s := p9PollSlot()
				m := s.msg(p9Twrite)
				m.u32(o.fid)
				m.u64(uint64(pg * pageSize))
				m.u32(uint32(n))
				copy(m.data(int(n)), unsafe.Slice((*byte)(unsafe.Pointer(f)), n))
				s.poll(volMounts[o.m].dev, &m)
			}
			cacheSetDirty(pagerVol, id, pg, false)
			from = pg + 1
		}
	}
}
