package kernel

import (
	"sync/atomic"
	"unsafe"
)

// Virtio devices (virtio 1.2) on the two transports QEMU gives mote:
// virtio-mmio on microvm (virtio_mmio.go) and virtio-pci on q35
// (virtio_pci.go). A transport is a handful of register accesses; feature
// negotiation, the queues and the net device above them are the same on
// both.

const (
	statusAck      = 1
	statusDriver   = 2
	statusDriverOK = 4
	statusFeatOK   = 8

	featVersion1 = 1 << 32

	descFlagWrite    = 2
	availNoInterrupt = 1 // VIRTQ_AVAIL_F_NO_INTERRUPT: a hint that the driver polls
	usedNoNotify     = 1 // VIRTQ_USED_F_NO_NOTIFY: a hint that the device polls

	vqSize    = 256                        // descriptors per queue: one page of them
	_         = uint(pageSize - 16*vqSize) // a compile-time check that they fit
	vqBufSize = 2048

	vecVirtio = 40
)

type transportKind uint8

const (
	transportMMIO transportKind = iota + 1
	transportPCI
)

// virtioTransport reaches one device's registers.
type virtioTransport struct {
	kind transportKind
	// base is the register block (mmio) or the common configuration (pci).
	base uintptr
	// devcfg is the device-specific configuration.
	devcfg uintptr
	// notifyBase and notifyMul give each queue's doorbell (pci).
	notifyBase uintptr
	notifyMul  uint32
	// msix is the MSI-X table (pci); interrupts then need no acknowledgement.
	msix uintptr
}

// vqueue is a split virtqueue (virtio 1.2, 2.7) with one fixed buffer per
// descriptor.
type vqueue struct {
	index             uint16
	size              uint16 // descriptors: vqSize, or fewer if the device has fewer
	desc, avail, used uintptr
	doorbell          uintptr
	bufs              [vqSize]uintptr
	lastUsed          uint16 // used-ring entries consumed
	next              uint16 // avail-ring entries published
	flags             uint16 // avail-ring flags
}

// Device registers are reached through these, never plain loads and
// stores, so the compiler can neither merge nor drop an access.

//go:noinline
func mmioRead8(p uintptr) uint8 { return *(*uint8)(unsafe.Pointer(p)) }

//go:noinline
func mmioWrite8(p uintptr, v uint8) { *(*uint8)(unsafe.Pointer(p)) = v }

//go:noinline
func mmioRead16(p uintptr) uint16 { return *(*uint16)(unsafe.Pointer(p)) }

//go:noinline
func mmioWrite16(p uintptr, v uint16) { *(*uint16)(unsafe.Pointer(p)) = v }

func mmioRead32(p uintptr) uint32     { return atomic.LoadUint32((*uint32)(unsafe.Pointer(p))) }
func mmioWrite32(p uintptr, v uint32) { atomic.StoreUint32((*uint32)(unsafe.Pointer(p)), v) }

// negotiate resets the device and agrees on features: VERSION_1 always, and
// whatever of want the device offers, which it returns. false: the device
// cannot be driven.
func (t *virtioTransport) negotiate(want uint64) (uint64, bool) {
	t.setStatus(0)
	for t.status() != 0 {
		// A reset completes when the status reads back 0 (virtio 1.2, 4.1.4.3.2).
	}
	t.setStatus(statusAck | statusDriver)
	feat := t.deviceFeatures() & (featVersion1 | want)
	if feat&featVersion1 == 0 {
		return 0, false
	}
	t.setDriverFeatures(feat)
	t.setStatus(statusAck | statusDriver | statusFeatOK)
	if t.status()&statusFeatOK == 0 {
		return 0, false
	}
	return feat, true
}

// setupQueue gives queue idx its rings and buffers: one frame each for the
// descriptors (16 bytes apiece: 4 KiB at 256), the available ring and the
// used ring, and two buffers a frame.
func (t *virtioTransport) setupQueue(idx uint16, q *vqueue) bool {
	for i := 0; i < vqSize; i += pageSize / vqBufSize {
		p := allocFrame()
		if p == 0 {
			return false
		}
		for j := 0; j < pageSize/vqBufSize; j++ {
			q.bufs[i+j] = p + uintptr(j)*vqBufSize
		}
	}
	return t.setupRings(idx, q) && q.size == vqSize
}

// setupRings gives queue idx its rings, for a device that brings its own
// buffers (virtio_9p.go).
func (t *virtioTransport) setupRings(idx uint16, q *vqueue) bool {
	desc, avail, used := allocFrame(), allocFrame(), allocFrame()
	if desc == 0 || avail == 0 || used == 0 {
		return false
	}
	clearPage(desc)
	clearPage(avail)
	clearPage(used)
	q.index, q.desc, q.avail, q.used = idx, desc, avail, used
	switch t.kind {
	case transportMMIO:
		return t.mmioQueue(q)
	case transportPCI:
		return t.pciQueue(q)
	}
	return false
}

// kick tells the device q has new buffers.
func (t *virtioTransport) kick(q *vqueue) {
	switch t.kind {
	case transportMMIO:
		mmioWrite32(q.doorbell, uint32(q.index))
	case transportPCI:
		mmioWrite16(q.doorbell, q.index)
	}
}

// notifyWanted reports whether the device asks to be told of new buffers
// (virtio 1.2, 2.7.10). QEMU's network device turns notifications off while
// it works through a queue, and looks at the ring again before turning them
// back on; a doorbell is an exit from the guest, so skipping unwanted ones
// saves one per frame. The load comes after publish's locked store, which
// orders them as the spec's barrier requires.
func (q *vqueue) notifyWanted() bool {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(q.used)))&usedNoNotify == 0
}

// setDesc points descriptor i at its buffer (struct virtq_desc).
func (q *vqueue) setDesc(i uint16, n uint32, flags uint16) {
	p := q.desc + uintptr(i)*16
	*(*uint64)(unsafe.Pointer(p)) = uint64(physAddr(q.bufs[i]))
	*(*uint32)(unsafe.Pointer(p + 8)) = n
	*(*uint16)(unsafe.Pointer(p + 12)) = flags
	*(*uint16)(unsafe.Pointer(p + 14)) = 0
}

// publish offers descriptor i to the device (struct virtq_avail). The
// index is stored last, atomically with the flags, after the entry.
func (q *vqueue) publish(i uint16) {
	*(*uint16)(unsafe.Pointer(q.avail + 4 + uintptr(q.next%q.size)*2)) = i
	q.next++
	q.storeAvail()
}

// setInterrupts asks the device to interrupt (or not) when it uses buffers.
func (q *vqueue) setInterrupts(on bool) {
	if on {
		q.flags &^= availNoInterrupt
	} else {
		q.flags |= availNoInterrupt
	}
	q.storeAvail()
}

func (q *vqueue) storeAvail() {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(q.avail)), uint32(q.next)<<16|uint32(q.flags))
}

// usedIdx reads the device's used index (struct virtq_used).
func (q *vqueue) usedIdx() uint16 {
	return uint16(atomic.LoadUint32((*uint32)(unsafe.Pointer(q.used))) >> 16)
}

// usedElem returns the id and length of used-ring entry k.
func (q *vqueue) usedElem(k uint16) (uint16, uint32) {
	p := q.used + 4 + uintptr(k%q.size)*8
	return uint16(*(*uint32)(unsafe.Pointer(p))), *(*uint32)(unsafe.Pointer(p + 4))
}

// featureRegs are the offsets of the feature registers from t.base: both
// transports select a 32-bit half, then read or write it.
type featureRegs struct{ devSel, dev, drvSel, drv uintptr }

var featureRegsOf = [...]featureRegs{
	transportMMIO: {vmDeviceFeatSel, vmDeviceFeat, vmDriverFeatSel, vmDriverFeat},
	transportPCI:  {pciDeviceFeatSel, pciDeviceFeat, pciDriverFeatSel, pciDriverFeat},
}

func (t *virtioTransport) deviceFeatures() uint64 {
	r := featureRegsOf[t.kind]
	mmioWrite32(t.base+r.devSel, 0)
	lo := uint64(mmioRead32(t.base + r.dev))
	mmioWrite32(t.base+r.devSel, 1)
	return uint64(mmioRead32(t.base+r.dev))<<32 | lo
}

func (t *virtioTransport) setDriverFeatures(f uint64) {
	r := featureRegsOf[t.kind]
	mmioWrite32(t.base+r.drvSel, 0)
	mmioWrite32(t.base+r.drv, uint32(f))
	mmioWrite32(t.base+r.drvSel, 1)
	mmioWrite32(t.base+r.drv, uint32(f>>32))
}

func (t *virtioTransport) status() uint8 {
	if t.kind == transportPCI {
		return mmioRead8(t.base + pciStatus)
	}
	return uint8(mmioRead32(t.base + vmStatus))
}

func (t *virtioTransport) setStatus(v uint8) {
	if t.kind == transportPCI {
		mmioWrite8(t.base+pciStatus, v)
		return
	}
	mmioWrite32(t.base+vmStatus, uint32(v))
}

// configByte reads byte i of the device-specific configuration.
func (t *virtioTransport) configByte(i uintptr) uint8 { return mmioRead8(t.devcfg + i) }

// ackInterrupt acknowledges the device's interrupt: a level-triggered line
// stays up until then (mmio); an MSI-X message needs nothing (pci).
func (t *virtioTransport) ackInterrupt() {
	if t.kind == transportMMIO {
		mmioWrite32(t.base+vmIntAck, mmioRead32(t.base+vmIntStatus))
	}
}
