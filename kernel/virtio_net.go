package kernel

import (
	"sync/atomic"
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// A virtio-net device on the virtio-mmio transport, version 2 (virtio 1.2,
// sections 4.2 and 5.1), driven from ring 0 with fixed rings and buffers.
// The socket service moves Ethernet frames through it with its own calls
// (moteNetOpen, moteNetRecv, moteNetSend); an eventfd tells it frames have
// arrived.

// virtio-mmio registers (virtio 1.2, 4.2.2).
const (
	vmMagic         = 0x000
	vmVersion       = 0x004
	vmDeviceID      = 0x008
	vmDeviceFeat    = 0x010
	vmDeviceFeatSel = 0x014
	vmDriverFeat    = 0x020
	vmDriverFeatSel = 0x024
	vmQueueSel      = 0x030
	vmQueueNumMax   = 0x034
	vmQueueNum      = 0x038
	vmQueueReady    = 0x044
	vmQueueNotify   = 0x050
	vmIntStatus     = 0x060
	vmIntAck        = 0x064
	vmStatus        = 0x070
	vmQueueDescLo   = 0x080
	vmQueueDescHi   = 0x084
	vmQueueDrvLo    = 0x090
	vmQueueDrvHi    = 0x094
	vmQueueDevLo    = 0x0a0
	vmQueueDevHi    = 0x0a4
	vmConfig        = 0x100

	vmMagicValue = 0x74726976 // "virt"

	statusAck      = 1
	statusDriver   = 2
	statusDriverOK = 4
	statusFeatOK   = 8

	virtioNetID    = 1
	featNetMAC     = 1 << 5
	featVersion1   = 1 << 32
	descFlagWrite  = 2
	netHdrLen      = 12                         // struct virtio_net_hdr with VERSION_1
	vqSize         = 256                        // descriptors per queue: one page of them
	_              = uint(pageSize - 16*vqSize) // a compile-time check that they fit
	vqBufSize      = 2048
	frameMax       = vqBufSize - netHdrLen
	vecVirtio      = 40
	microvmMMIO    = 0xfeb00000
	microvmSlots   = 24
	microvmSlotLen = 0x200
)

type vqueue struct {
	desc, avail, used uintptr
	bufs              [vqSize]uintptr
	lastUsed          uint16 // used-ring entries consumed
	next              uint16 // avail-ring entries published
}

type netDevice struct {
	present bool
	base    uintptr
	mac     [6]byte
	rx, tx  vqueue
	event   int32 // eventfds index signalled when frames arrive; -1 before moteNetOpen
}

var nic = netDevice{event: -1}

func (d *netDevice) r32(off uintptr) uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(d.base + off)))
}

func (d *netDevice) w32(off uintptr, v uint32) {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(d.base+off)), v)
}

// netInit finds a virtio-net device in microvm's virtio-mmio slots and sets
// it up. Without one the guest simply has no network device.
func netInit() {
	for i := uintptr(0); i < microvmSlots; i++ {
		base := uintptr(microvmMMIO) + i*microvmSlotLen
		d := &netDevice{base: base}
		if d.r32(vmMagic) != vmMagicValue || d.r32(vmVersion) != 2 || d.r32(vmDeviceID) != virtioNetID {
			continue
		}
		nic.base = base
		if !nic.setup() {
			logRecord().s("virtio-net at ").hex(uint64(base)).s(": setup failed; no network device").nl()
			nic.present = false
			return
		}
		nic.present = true
		virtioIRQInit()
		logRecord().s("virtio-net at ").hex(uint64(base)).s(": network device ready").nl()
		// QEMU's user network resolves names at 10.0.2.3.
		if etc := lookup(rootIno, []byte("etc")); etc >= 0 {
			if ino, e := newInode(etc, []byte("resolv.conf"), sIFREG|0o644); e == 0 {
				writeAt(&inodes[ino], []byte("nameserver 10.0.2.3\n"), 0)
			}
		}
		return
	}
}

func (d *netDevice) setup() bool {
	d.w32(vmStatus, 0)
	d.w32(vmStatus, statusAck|statusDriver)
	d.w32(vmDeviceFeatSel, 0)
	lo := uint64(d.r32(vmDeviceFeat))
	d.w32(vmDeviceFeatSel, 1)
	hi := uint64(d.r32(vmDeviceFeat))
	feat := (hi<<32 | lo) & (featVersion1 | featNetMAC)
	if feat&featVersion1 == 0 {
		return false
	}
	d.w32(vmDriverFeatSel, 0)
	d.w32(vmDriverFeat, uint32(feat))
	d.w32(vmDriverFeatSel, 1)
	d.w32(vmDriverFeat, uint32(feat>>32))
	d.w32(vmStatus, statusAck|statusDriver|statusFeatOK)
	if d.r32(vmStatus)&statusFeatOK == 0 {
		return false
	}
	if !d.setupQueue(0, &d.rx) || !d.setupQueue(1, &d.tx) {
		return false
	}
	for i := 0; i < 6; i++ {
		d.mac[i] = *(*byte)(unsafe.Pointer(d.base + vmConfig + uintptr(i)))
	}
	// Every receive buffer goes to the device at once.
	for i := uint16(0); i < vqSize; i++ {
		d.rx.setDesc(i, vqBufSize, descFlagWrite)
		d.rx.publish(i)
	}
	d.w32(vmStatus, statusAck|statusDriver|statusFeatOK|statusDriverOK)
	d.w32(vmQueueNotify, 0)
	return true
}

func (d *netDevice) setupQueue(idx uint32, q *vqueue) bool {
	d.w32(vmQueueSel, idx)
	if d.r32(vmQueueNumMax) < vqSize {
		return false
	}
	d.w32(vmQueueNum, vqSize)
	// One frame each for the descriptors (16 bytes apiece: 4 KiB at 256), the
	// available ring and the used ring.
	desc, avail, used := allocFrame(), allocFrame(), allocFrame()
	if desc == 0 || avail == 0 || used == 0 {
		return false
	}
	clearPage(desc)
	clearPage(avail)
	clearPage(used)
	q.desc, q.avail, q.used = desc, avail, used
	for i := 0; i < vqSize; i += pageSize / vqBufSize {
		p := allocFrame()
		if p == 0 {
			return false
		}
		for j := 0; j < pageSize/vqBufSize; j++ {
			q.bufs[i+j] = p + uintptr(j)*vqBufSize
		}
	}
	d.w32(vmQueueDescLo, uint32(q.desc))
	d.w32(vmQueueDescHi, uint32(uint64(q.desc)>>32))
	d.w32(vmQueueDrvLo, uint32(q.avail))
	d.w32(vmQueueDrvHi, uint32(uint64(q.avail)>>32))
	d.w32(vmQueueDevLo, uint32(q.used))
	d.w32(vmQueueDevHi, uint32(uint64(q.used)>>32))
	d.w32(vmQueueReady, 1)
	return true
}

// setDesc points descriptor i at its buffer (struct virtq_desc).
func (q *vqueue) setDesc(i uint16, n uint32, flags uint16) {
	p := q.desc + uintptr(i)*16
	*(*uint64)(unsafe.Pointer(p)) = uint64(q.bufs[i])
	*(*uint32)(unsafe.Pointer(p + 8)) = n
	*(*uint16)(unsafe.Pointer(p + 12)) = flags
	*(*uint16)(unsafe.Pointer(p + 14)) = 0
}

// publish offers descriptor i to the device (struct virtq_avail). The
// index is stored last, atomically, after the entry.
func (q *vqueue) publish(i uint16) {
	*(*uint16)(unsafe.Pointer(q.avail + 4 + uintptr(q.next%vqSize)*2)) = i
	q.next++
	atomic.StoreUint32((*uint32)(unsafe.Pointer(q.avail)), uint32(q.next)<<16)
}

// usedIdx reads the device's used index (struct virtq_used).
func (q *vqueue) usedIdx() uint16 {
	return uint16(atomic.LoadUint32((*uint32)(unsafe.Pointer(q.used))) >> 16)
}

// usedElem returns the id and length of used-ring entry k.
func (q *vqueue) usedElem(k uint16) (uint16, uint32) {
	p := q.used + 4 + uintptr(k%vqSize)*8
	return uint16(*(*uint32)(unsafe.Pointer(p))), *(*uint32)(unsafe.Pointer(p + 4))
}

// virtioIRQInit routes the IOAPIC pins virtio-mmio devices may use to
// vecVirtio, level-triggered as the transport's interrupt line is: pins
// 5-23 of the first IOAPIC, and every pin of microvm's second one
// (ioapic2, at 0xfec10000), where its virtio-mmio lines go.
func virtioIRQInit() {
	for pin := uint32(5); pin < 24; pin++ {
		ioapicWriteAt(ioapicBase, 0x10+2*pin+1, 0)
		ioapicWriteAt(ioapicBase, 0x10+2*pin, vecVirtio|1<<15)
	}
	const ioapic2 = 0xfec10000
	if v := ioapicReadAt(ioapic2, 1); v != 0xffffffff {
		pins := v>>16&0xff + 1
		for pin := uint32(0); pin < pins; pin++ {
			ioapicWriteAt(ioapic2, 0x10+2*pin+1, 0)
			ioapicWriteAt(ioapic2, 0x10+2*pin, vecVirtio|1<<15)
		}
	}
}

// virtioInterrupt acknowledges the device and wakes the service when
// frames have arrived.
func virtioInterrupt() {
	if !nic.present {
		return
	}
	st := nic.r32(vmIntStatus)
	nic.w32(vmIntAck, st)
	if nic.event >= 0 && nic.rx.usedIdx() != nic.rx.lastUsed {
		signalEventfd(nic.event)
	}
}

// sysMoteNetOpen gives the service the device's MAC address and the
// eventfd that tells it frames arrived; ENODEV when there is no device.
func sysMoteNetOpen(t *thread, f *Frame) int64 {
	if !nic.present {
		return errno(linux.ENODEV)
	}
	if nic.event >= 0 {
		return errno(linux.EBUSY)
	}
	if !copyOut(uintptr(f.RDI), nic.mac[:]) {
		return errno(linux.EFAULT)
	}
	fd, i := kernelEventfd()
	if i >= 0 {
		nic.event = i
	}
	return fd
}

// sysMoteNetRecv copies the next received frame into the caller's buffer
// and gives the device its buffer back; EAGAIN when none has arrived.
func sysMoteNetRecv(t *thread, f *Frame) int64 {
	q := &nic.rx
	if !nic.present || q.usedIdx() == q.lastUsed {
		return errno(linux.EAGAIN)
	}
	id, n := q.usedElem(q.lastUsed)
	q.lastUsed++
	if id >= vqSize || n < netHdrLen || n > vqBufSize {
		q.publish(id % vqSize) // a device that lies about lengths gets nothing back
		return errno(linux.EIO)
	}
	frame := unsafe.Slice((*byte)(unsafe.Pointer(q.bufs[id]+netHdrLen)), n-netHdrLen)
	k := uint32(len(frame))
	if uint64(k) > f.RSI {
		k = uint32(f.RSI)
	}
	ok := copyOut(uintptr(f.RDI), frame[:k])
	q.publish(id)
	nic.w32(vmQueueNotify, 0)
	if !ok {
		return errno(linux.EFAULT)
	}
	return int64(k)
}

// sysMoteNetSend queues one Ethernet frame for the device; EAGAIN while
// every transmit buffer is in flight.
func sysMoteNetSend(t *thread, f *Frame) int64 {
	q := &nic.tx
	if !nic.present {
		return errno(linux.ENODEV)
	}
	n := f.RSI
	if n == 0 || n > frameMax {
		return errno(linux.EMSGSIZE)
	}
	q.lastUsed = q.usedIdx() // transmitted buffers are free again
	if q.next-q.lastUsed >= vqSize {
		return errno(linux.EAGAIN)
	}
	i := q.next % vqSize
	buf := unsafe.Slice((*byte)(unsafe.Pointer(q.bufs[i])), vqBufSize)
	for k := 0; k < netHdrLen; k++ {
		buf[k] = 0
	}
	if !copyIn(buf[netHdrLen:netHdrLen+n], uintptr(f.RDI)) {
		return errno(linux.EFAULT)
	}
	q.setDesc(i, uint32(netHdrLen+n), 0)
	q.publish(i)
	nic.w32(vmQueueNotify, 1)
	return int64(n)
}
