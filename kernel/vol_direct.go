package kernel

import "unsafe"

// Direct transfers: a large read or write on a volume points the device at
// the app's own pages instead of a copy of them in the slot's buffers, as
// Linux's 9p client does (p9_client_zc_rpc). Copying 128 KiB under TCG
// costs about as much as the request's round trip, and the buffers' size
// bounds a copied request to 128 KiB; pointing descriptors at the app's
// frames removes the copy and lets one request carry p9DirectMax, so a
// 1 MiB write is one round trip instead of eight.
//
// The request's chain is too long for the ring (QEMU's 9p queue has 128
// descriptors on PCI, and each slot owns two), so it goes in the slot's
// indirect table (virtio 1.2, 2.7.5.3). Twrite: its header in the request
// buffer, the app's pages, then the reply buffer. Tread: its header, the
// reply's 11-byte header in the reply buffer, then the app's pages, which
// take Rread's data.
//
// The frames are pinned while the device uses them: another thread may
// unmap the buffer (munmap, madvise) while the caller is blocked, and a
// frame freed then could be reused before the device is done: read
// changed, or, for a read, written over under its new owner. releasePages
// asks volPinnedFree first; a pinned frame is freed when the request's
// reply is taken instead.

const (
	featIndirectDesc = 1 << 28 // VIRTIO_F_INDIRECT_DESC
	descFlagIndirect = 4

	p9DirectMax = 1 << 20
	// Below this a copy costs less than walking and pinning the pages.
	p9DirectMin = 16 << 10
	// A slot's indirect table: two frames, 512 descriptors, enough for the
	// header, the reply and p9DirectMax/pageSize+1 pages that are not
	// physically contiguous.
	p9IndFrames = 2
	p9IndLen    = p9IndFrames * pageSize / 16
	p9MaxPins   = p9DirectMax/pageSize + 1

	pinFreeLater = 1 // low bit of a pin: the frame was released meanwhile
)

// p9PinSlots counts the slots holding pins, so releasePages pays nothing
// when none does.
var p9PinSlots int

// directOK reports whether a transfer of k bytes between the app at addr
// and device dev goes direct: the device takes indirect tables, the
// transfer is large, and every page of the range is the app's own
// anonymous memory, present and, for a read, writable (userOK has made it
// so). A file's page (a mapping of a file in memory or on a volume)
// belongs to its file, which may drop it at truncation, so it is copied.
func directOK(dev int, addr uintptr, k int, read bool) bool {
	if !p9devs[dev].indirect || k < p9DirectMin {
		return false
	}
	for va := addr &^ (pageSize - 1); va < addr+uintptr(k); va += pageSize {
		e := walk(va, false)
		if e == nil || *e&ptePresent == 0 || *e&pteFile != 0 || *e&pteUser == 0 || read && *e&pteWrite == 0 {
			return false
		}
	}
	return true
}

// pinDirect fills the slot's indirect table with the frames of [addr,
// addr+k), merging physically contiguous ones, and pins them: from entry 1
// for a write, from entry 2, device-writable, for a read (entry 1 is then
// the reply's header). directOK has checked the range.
func (s *p9slot) pinDirect(addr uintptr, k int, read bool) {
	s.nind, s.npins = 1, 0
	flags := uint16(descFlagNext)
	if read {
		s.nind = 2
		flags |= descFlagWrite
	}
	first := s.nind
	for va := addr; va < addr+uintptr(k); {
		page := va &^ (pageSize - 1)
		frame := uintptr(*walk(page, false) & pteAddr)
		n := min(page+pageSize, addr+uintptr(k)) - va
		phys := frame + va - page
		s.pins[s.npins] = frame
		s.npins++
		if last := s.indEntry(s.nind - 1); s.nind > first && last.addr+uint64(last.n) == uint64(phys) {
			last.n += uint32(n)
		} else {
			*s.indEntry(s.nind) = virtqDesc{addr: uint64(phys), n: uint32(n), flags: flags, next: s.nind + 1}
			s.nind++
		}
		va += n
	}
	s.directN, s.directRead = uint32(k), read
	p9PinSlots++
}

type virtqDesc struct {
	addr  uint64
	n     uint32
	flags uint16
	next  uint16
}

func (s *p9slot) indEntry(i uint16) *virtqDesc {
	return (*virtqDesc)(unsafe.Pointer(s.ind + uintptr(i)*16))
}

// sendDirect offers the request of n header bytes with the pinned pages
// (a write's data, or the room for a read's) to device dev through the
// slot's indirect table.
func (s *p9slot) sendDirect(dev int, n int) {
	d := &p9devs[dev]
	*s.indEntry(0) = virtqDesc{addr: uint64(physAddr(s.tx + p9TxSkew)), n: uint32(n), flags: descFlagNext, next: 1}
	count := s.nind
	if s.directRead {
		*s.indEntry(1) = virtqDesc{addr: uint64(physAddr(s.rx + p9RxSkew)), n: p9ReadHdr, flags: descFlagWrite | descFlagNext, next: 2}
		s.indEntry(s.nind - 1).flags &^= descFlagNext
	} else {
		size := uint32(n) + s.directN
		b := s.txBuf()
		b[0], b[1], b[2], b[3] = byte(size), byte(size>>8), byte(size>>16), byte(size>>24)
		*s.indEntry(s.nind) = virtqDesc{addr: uint64(physAddr(s.rx + p9RxSkew)), n: p9RxMax, flags: descFlagWrite}
		count++
	}
	i := uint16(s.index())
	setDescAt(&d.q, 2*i, s.ind, uint32(count)*16, descFlagIndirect, 0)
	s.dev = int8(dev)
	s.rlen = 0
	d.q.publish(2 * i)
	d.t.kick(&d.q)
}

// unpin ends the slot's hold on its frames once the device is done with
// them: a frame released meanwhile is freed now, unless another request
// in flight still holds it, which then frees it.
func (s *p9slot) unpin() {
	if s.npins == 0 {
		return
	}
	for i := uint16(0); i < s.npins; i++ {
		if p := s.pins[i]; p&pinFreeLater != 0 {
			s.pins[i] = 0
			if !volPinnedFree(p &^ pinFreeLater) {
				freeFrame(kernAddr(p &^ pinFreeLater))
			}
		}
	}
	s.npins, s.directN, s.directRead = 0, 0, false
	p9PinSlots--
}

// volPinnedFree is asked by releasePages before it frees the frame at
// physical address p: true when a request in flight holds it, which then
// frees it when its reply is taken.
func volPinnedFree(p uintptr) bool {
	if p9PinSlots == 0 {
		return false
	}
	for i := range p9slot0 {
		s := &p9slot0[i]
		for j := uint16(0); j < s.npins; j++ {
			if s.pins[j] == p {
				s.pins[j] |= pinFreeLater
				return true
			}
		}
	}
	return false
}
