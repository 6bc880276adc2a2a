package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// Volumes are host directories that QEMU exports as virtio-9p devices
// (virtio 1.2, 5.11), one device per volume, and that the kernel reaches as
// a 9P2000.L client in ring 0.
//
// A request goes out in a slot: a pair of fixed, physically contiguous
// buffers of p9BufSize bytes (the request, and the device's reply) that two
// descriptors of the device's queue point at; the slot's index is the 9P
// tag. A thread making a call on a volume holds one slot for the whole call,
// sends a request, and blocks; the device's interrupt wakes it, and the call
// is made again from its start (wakeRestart). Replies already received in
// this call are not asked for again: the slot keeps them, decoded, in its
// log, and the call's steps take them from there in order, so a call of
// several requests (walk, then open) reads as straight-line code. A step
// must therefore be made the same way on every pass, and a call may change
// kernel state only after its last request. Several threads have several
// slots, so several requests are in flight at once.

const (
	virtio9PType   = 9 // the device type of a 9P transport
	feat9PMountTag = 1 // VIRTIO_9P_MOUNT_TAG: the configuration names the export

	// p9BufSize leaves room for a request's header beside 128 KiB of data,
	// so that a transfer copied through a slot's buffers goes in whole
	// 128 KiB pieces. The msize asked for is larger: a direct write
	// (vol_direct.go) carries up to p9DirectMax from the app's pages.
	p9BufSize = 132 << 10
	p9MaxIO   = 128 << 10
	p9Msize   = p9DirectMax + pageSize
	p9Slots   = 8
	p9Steps   = 48 // replies one call may use: enough for volLinkMax links

	p9MaxFids = 4096
)

// A slot's state.
const (
	slotFree    = iota
	slotHeld    // a thread's call holds it; nothing in flight
	slotSent    // a request in flight for the thread holding it
	slotReplied // its reply arrived; the thread takes it on its next pass
	slotClunk   // a Tclunk in flight that nobody waits for
	slotPolled  // a request of the kernel's own, whose reply it polls for
)

type p9Device struct {
	t        virtioTransport
	q        vqueue
	tag      [64]byte
	ntag     int
	indirect bool // VIRTIO_F_INDIRECT_DESC: direct writes possible
}

type p9slot struct {
	state  uint8
	owner  int32  // thread index holding the slot
	dev    int8   // the device its request went to
	treq   uint8  // the request's type
	rlen   uint32 // bytes the device wrote back
	tx, rx uintptr

	// The call's replies so far, and the next one its code will take.
	n, pos uint8
	log    [p9Steps]p9r
	// Fids the call allocated: bound once a walk or create made them name
	// a file; kept when they outlive the call (an open file's).
	nfids uint8
	fids  [p9Steps]struct {
		fid         uint32
		bound, keep bool
	}
	clunkFid uint32 // with slotClunk

	// A direct transfer's indirect table (kernel address; nind entries in
	// use), the bytes it moves to or from the app, and the frames it pins.
	ind        uintptr
	nind       uint16
	directN    uint32
	directRead bool
	npins      uint16
	pins       [p9MaxPins]uintptr
	// A read's or write's data bytes, and whether they went direct: set
	// when its request is built, read when its reply is taken.
	ioN      uint32
	ioDirect bool

	// Link targets the call has read (Treadlink's data), kept for the
	// passes after the reply, and the path they made.
	arena  [pathMax]byte
	arenaN int
	path   [pathMax]byte
	// walked is how many components the last walk took, and walkedQid
	// the last of them (set on every pass).
	walked    int
	walkedQid p9qid
}

var (
	p9devs  [maxVolumes]p9Device
	np9devs int
	p9slot0 [p9Slots]p9slot
	// threadSlot is 1 + the slot a thread's call holds, 0 for none.
	threadSlot [maxThreads]int8
	fidUsed    [p9MaxFids / 64]uint64
	fidDev     [p9MaxFids]int8 // the device a fid belongs to
	// Fids whose Tclunk waits for a free slot.
	clunkQ            [p9MaxFids]uint32
	clunkHead, clunkN int
	p9Errors          uint64 // replies that did not parse, reported once
)

// p9Init finds the virtio-9p devices, on microvm's virtio-mmio or q35's PCI
// bus, and sets each up with one request queue. Slots are made only when a
// device exists.
func p9Init() bool {
	for np9devs < maxVolumes {
		t, ok := mmioFindNth(virtio9PType, np9devs)
		if !ok {
			if t, ok = pciFindNth(virtio9PType, np9devs); !ok {
				break
			}
		}
		d := &p9devs[np9devs]
		d.t = t
		feat, ok := t.negotiate(feat9PMountTag | featIndirectDesc)
		if !ok || feat&feat9PMountTag == 0 || !t.setupRings(0, &d.q) || d.q.size < 2*p9Slots {
			logRecord().s("virtio-9p at ").hex(uint64(t.base)).s(": setup failed; volume not available").nl()
			break
		}
		n := int(t.configByte(0)) | int(t.configByte(1))<<8
		if n > len(d.tag) {
			n = len(d.tag)
		}
		for i := 0; i < n; i++ {
			d.tag[i] = t.configByte(uintptr(2 + i))
		}
		d.ntag = n
		d.indirect = feat&featIndirectDesc != 0
		t.setStatus(statusAck | statusDriver | statusFeatOK | statusDriverOK)
		if t.kind == transportMMIO {
			mmioIRQInit()
		}
		np9devs++
	}
	if np9devs == 0 {
		return false
	}
	for i := range p9slot0 {
		s := &p9slot0[i]
		s.tx, s.rx = allocContig(p9BufSize/pageSize), allocContig(p9BufSize/pageSize)
		s.ind = allocContig(p9IndFrames)
		if s.tx == 0 || s.rx == 0 || s.ind == 0 {
			logRecord().s("virtio-9p: no memory for request buffers").nl()
			np9devs = 0
			return false
		}
	}
	for i := 0; i < maxVolumes; i++ {
		fidUsed[0] |= 1 << i // fid i is the root of volume i
	}
	return true
}

// allocContig takes n physically contiguous frames; only at boot, while
// frames come from the bump allocator in address order. Frames contiguous
// as the kernel addresses them are contiguous physically too (physAddr is
// linear within the image's tail). A run broken by a
// frame out of order (one freed earlier, or a hole in RAM) starts again
// there; the frames passed over go back.
func allocContig(n int) uintptr {
	var skipped [64]uintptr
	nskip := 0
	first, got := uintptr(0), 0
	for got < n {
		p := allocFrame()
		if p == 0 {
			break
		}
		if got > 0 && p == first+uintptr(got)*pageSize {
			got++
			continue
		}
		// A new run from p; the old one is given back, or dropped when the
		// list of them is full (a few frames lost at boot).
		for i := 0; i < got; i++ {
			if nskip < len(skipped) {
				skipped[nskip] = first + uintptr(i)*pageSize
				nskip++
			}
		}
		first, got = p, 1
	}
	for i := 0; i < nskip; i++ {
		freeFrame(skipped[i])
	}
	if got < n {
		return 0
	}
	return first
}

// p9DeviceByTag returns the device exporting tag, or -1.
func p9DeviceByTag(tag []byte) int {
	for i := 0; i < np9devs; i++ {
		if bytesEqual(p9devs[i].tag[:p9devs[i].ntag], tag) {
			return i
		}
	}
	return -1
}

func (s *p9slot) index() int {
	return int((uintptr(unsafe.Pointer(s)) - uintptr(unsafe.Pointer(&p9slot0[0]))) / unsafe.Sizeof(p9slot{}))
}

// A request starts p9TxSkew bytes into its buffer and a reply p9RxSkew into
// its own, so that the data of Twrite (after a 23-byte header) and of
// Rread and Rreaddir (after 11 bytes) lie 8-byte aligned. Go's memmove
// copies aligned buffers 8 bytes at a time, unaligned ones a byte at a
// time (REP MOVSB): under TCG that made a 128 KiB copy cost 300 µs.
const (
	p9TxSkew = 1
	p9RxSkew = 5
	p9RxMax  = p9BufSize - p9RxSkew // the longest reply: at most 128 KiB of data is asked for
)

func (s *p9slot) txBuf() []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(s.tx+p9TxSkew)), p9BufSize-p9TxSkew)
}

func (s *p9slot) rxBuf() []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(s.rx+p9RxSkew)), p9RxMax)
}

// msg starts a request of type typ in the slot's buffer.
func (s *p9slot) msg(typ uint8) p9msg {
	m := p9msg{b: s.txBuf()}
	m.begin(typ, uint16(s.index()))
	s.treq = typ
	return m
}

// send offers the request to device dev: descriptor 2i reads it, 2i+1
// takes the reply.
func (s *p9slot) send(dev int, n int) {
	d := &p9devs[dev]
	i := uint16(s.index())
	setDescAt(&d.q, 2*i, s.tx+p9TxSkew, uint32(n), descFlagNext, 2*i+1)
	setDescAt(&d.q, 2*i+1, s.rx+p9RxSkew, p9RxMax, descFlagWrite, 0)
	s.dev = int8(dev)
	s.rlen = 0
	d.q.publish(2 * i)
	d.t.kick(&d.q)
}

const descFlagNext = 1

// setDescAt fills descriptor i of q (struct virtq_desc).
func setDescAt(q *vqueue, i uint16, addr uintptr, n uint32, flags, next uint16) {
	p := q.desc + uintptr(i)*16
	*(*uint64)(unsafe.Pointer(p)) = uint64(physAddr(addr))
	*(*uint32)(unsafe.Pointer(p + 8)) = n
	*(*uint16)(unsafe.Pointer(p + 12)) = flags
	*(*uint16)(unsafe.Pointer(p + 14)) = next
}

// errBlocked is what a step returns when the thread now waits for the
// device: the call returns at once, and is made again when woken.
const errBlocked linux.Errno = 0x10000

// volSlot returns the slot t's call holds, taking a free one, at the start
// of a pass over the call: its steps are taken from the first again. nil:
// none is free, and t now waits for one.
func volSlot(t *thread) *p9slot {
	if k := threadSlot[t.index()]; k > 0 {
		s := &p9slot0[k-1]
		s.pos = 0
		return s
	}
	for i := range p9slot0 {
		s := &p9slot0[i]
		if s.state == slotFree {
			s.reset(slotHeld, int32(t.index()))
			threadSlot[t.index()] = int8(i + 1)
			return s
		}
	}
	block(t, waitVolume, 0, 0)
	return nil
}

// step reports whether the call's next step must be asked of the device:
// false when its reply is in the log already, or when its request is in
// flight (a pass made before the reply, the thread woken for a signal): the
// request is not built again, which would rewrite a buffer, or repin pages,
// the device may be reading.
func (s *p9slot) step() bool { return s.pos >= s.n && s.state == slotHeld }

// rpc sends the request built in the slot (when step said so) to dev and
// blocks t (errBlocked: the call is made again when the reply is in); or
// returns the step's reply, from the log or just arrived. (Polling for the
// reply a while before blocking was tried: under TCG on a loaded host it
// won nothing measurable and took CPU time from QEMU's own threads.)
func (s *p9slot) rpc(t *thread, dev int, m *p9msg) p9r {
	if s.pos < s.n {
		r := s.log[s.pos]
		s.pos++
		return r
	}
	if s.state == slotHeld {
		if s.n >= p9Steps {
			return p9r{err: linux.EIO}
		}
		n := m.finish()
		if n == 0 {
			r := p9r{err: linux.ENAMETOOLONG}
			s.log[s.n] = r
			s.n++
			s.pos++
			return r
		}
		if s.directN > 0 {
			s.sendDirect(dev, n)
		} else {
			s.send(dev, n)
		}
		s.state = slotSent
	}
	if s.state != slotReplied {
		block(t, waitVolume, 0, 0)
		return p9r{err: errBlocked}
	}
	var r p9r
	if s.directRead {
		r = p9DecodeRreadHdr(s.rxBuf()[:p9ReadHdr], s.rlen, s.directN, uint16(s.index()))
	} else {
		r = p9Decode(s.rxBuf()[:min(int(s.rlen), p9RxMax)], s.treq, uint16(s.index()))
	}
	s.unpin()
	if r.err == linux.EIO {
		p9BadReply(s)
	}
	if s.treq == p9Treadlink && r.err == 0 {
		// Kept: the next request's reply overwrites the buffer, and the
		// call's later passes still need the target.
		if s.arenaN+int(r.count) > len(s.arena) {
			r = p9r{err: linux.ENAMETOOLONG}
		} else {
			copy(s.arena[s.arenaN:], s.rxBuf()[r.off:r.off+r.count])
			r.off, r.arena = uint32(s.arenaN), true
			s.arenaN += int(r.count)
		}
	}
	s.state = slotHeld
	s.log[s.n] = r
	s.n++
	s.pos++
	return r
}

// reset makes the slot a fresh one in state, for owner.
func (s *p9slot) reset(state uint8, owner int32) {
	s.state, s.owner = state, owner
	s.n, s.pos, s.nfids, s.arenaN, s.clunkFid = 0, 0, 0, 0, 0
}

// data returns the data of reply r of the call: Rread's and Rreaddir's in
// the receive buffer, a link target in the arena.
func (s *p9slot) data(r *p9r) []byte {
	if r.arena {
		return s.arena[r.off : r.off+r.count]
	}
	return s.rxBuf()[r.off : r.off+r.count]
}

// p9BadReply notes a reply that did not parse, once.
func p9BadReply(s *p9slot) {
	if p9Errors == 0 {
		logRecord().s("virtio-9p: malformed reply to request type ").dec(int64(s.treq)).s(": EIO").nl()
	}
	p9Errors++
}

// newFid allocates a fid on device dev for the call, the same one on every
// pass.
func (s *p9slot) newFid(dev int) (uint32, bool) {
	if s.pos < s.n {
		r := s.log[s.pos]
		s.pos++
		return r.count, r.err == 0
	}
	r := p9r{err: linux.ENFILE}
	if s.nfids < p9Steps {
		if fid, ok := allocFid(dev); ok {
			r = p9r{count: fid}
			f := &s.fids[s.nfids]
			f.fid, f.bound, f.keep = fid, false, false
			s.nfids++
		}
	}
	s.log[s.n] = r
	s.n++
	s.pos++
	return r.count, r.err == 0
}

// bound marks a fid of the call as naming a file (it must be clunked);
// keep, as outliving the call.
func (s *p9slot) bound(fid uint32, keep bool) {
	for i := uint8(0); i < s.nfids; i++ {
		if s.fids[i].fid == fid {
			s.fids[i].bound = true
			s.fids[i].keep = s.fids[i].keep || keep
		}
	}
}

// allocFid takes a free fid for device dev.
func allocFid(dev int) (uint32, bool) {
	for w := range fidUsed {
		if fidUsed[w] == ^uint64(0) {
			continue
		}
		for b := 0; b < 64; b++ {
			if fidUsed[w]&(1<<b) == 0 {
				fidUsed[w] |= 1 << b
				fid := uint32(w*64 + b)
				fidDev[fid] = int8(dev)
				return fid, true
			}
		}
	}
	return 0, false
}

func fidFree(fid uint32) {
	if fid < p9MaxFids && fid >= maxVolumes {
		fidUsed[fid/64] &^= 1 << (fid % 64)
	}
}

// volEnd ends the call of t, if it made one: fids it walked but did not
// keep are clunked, the others freed, and the slot goes to the next taker.
func volEnd(t *thread) {
	k := threadSlot[t.index()]
	if k == 0 {
		return
	}
	threadSlot[t.index()] = 0
	s := &p9slot0[k-1]
	if s.state != slotSent {
		s.unpin() // a direct write whose reply this pass did not take
	}
	for i := uint8(0); i < s.nfids; i++ {
		f := &s.fids[i]
		switch {
		case f.keep:
		case f.bound:
			clunkLater(f.fid)
		default:
			fidFree(f.fid)
		}
	}
	s.state = slotFree
	slotFreed()
}

// clunkLater queues a Tclunk of fid; it goes out in a slot nobody holds.
func clunkLater(fid uint32) {
	if clunkN == len(clunkQ) {
		return // cannot happen: each queued fid is a distinct allocated one
	}
	clunkQ[(clunkHead+clunkN)%len(clunkQ)] = fid
	clunkN++
	slotFreed()
}

// slotFreed hands free slots to queued clunks, then wakes the threads
// waiting for a slot.
func slotFreed() {
	for i := range p9slot0 {
		s := &p9slot0[i]
		if s.state != slotFree || clunkN == 0 {
			continue
		}
		fid := clunkQ[clunkHead]
		clunkHead = (clunkHead + 1) % len(clunkQ)
		clunkN--
		s.reset(slotClunk, -1)
		s.clunkFid = fid
		m := s.msg(p9Tclunk)
		m.u32(fid)
		s.send(int(fidDev[fid]), m.finish())
	}
	for i := 0; i < hiThread; i++ {
		w := &threads[i]
		if w.state == tsBlocked && w.wait == waitVolume && threadSlot[i] == 0 {
			wakeRestart(w)
		}
	}
}

// p9Interrupt takes the devices' replies and wakes the threads they are for.
func p9Interrupt() {
	for k := 0; k < np9devs; k++ {
		p9devs[k].t.ackInterrupt()
		p9Reap(k)
	}
}

// p9Reap takes the replies device k has returned.
func p9Reap(k int) {
	d := &p9devs[k]
	for d.q.usedIdx() != d.q.lastUsed {
		id, n := d.q.usedElem(d.q.lastUsed)
		d.q.lastUsed++
		if id%2 != 0 || int(id/2) >= p9Slots {
			continue // not a descriptor the kernel gave: ignored
		}
		s := &p9slot0[id/2]
		if int(s.dev) != k {
			continue
		}
		s.rlen = n
		switch s.state {
		case slotSent:
			s.state = slotReplied
			wakeRestart(&threads[s.owner])
		case slotPolled:
			s.state = slotReplied // p9Poll takes it
		case slotClunk:
			fidFree(s.clunkFid)
			s.state = slotFree
			slotFreed()
		}
	}
}

// p9PollSlot returns a slot for a request of the kernel's own, taking the
// devices' replies until one is free: when no thread can wait (the machine
// stops).
func p9PollSlot() *p9slot {
	for {
		for i := range p9slot0 {
			if s := &p9slot0[i]; s.state == slotFree {
				s.reset(slotHeld, -1)
				return s
			}
		}
		for k := 0; k < np9devs; k++ {
			p9Reap(k)
		}
	}
}

// poll sends the request built in s to dev, polls for its reply and frees
// the slot.
func (s *p9slot) poll(dev int, m *p9msg) p9r {
	n := m.finish()
	if n == 0 {
		s.state = slotFree
		return p9r{err: linux.EINVAL}
	}
	s.send(dev, n)
	s.state = slotPolled
	for i := 0; s.state != slotReplied; i++ {
		if i > 1<<28 {
			return p9r{err: linux.ETIMEDOUT} // the slot stays taken: the device has it
		}
		p9Reap(dev)
	}
	r := p9Decode(s.rxBuf()[:min(int(s.rlen), p9RxMax)], s.treq, uint16(s.index()))
	s.state = slotFree
	return r
}

// p9Boot sends one request from slot 0 and polls for its reply: the version
// and attach requests at boot, before any thread runs.
func p9Boot(dev int, m *p9msg) p9r {
	s := &p9slot0[0]
	q := &p9devs[dev].q
	want := q.lastUsed + 1
	s.send(dev, m.finish())
	for i := 0; q.usedIdx() != want; i++ {
		if i > 1<<28 {
			return p9r{err: linux.ETIMEDOUT}
		}
	}
	_, n := q.usedElem(q.lastUsed)
	q.lastUsed++
	return p9Decode(s.rxBuf()[:min(int(n), p9RxMax)], s.treq, 0)
}
