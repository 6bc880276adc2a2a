package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// A virtio-net device (virtio 1.2, 5.1) on either transport, driven from
// ring 0 with fixed rings and buffers.
// The socket service moves Ethernet frames through it with its own calls
// (moteNetOpen, moteNetRecv, moteNetSend); an eventfd tells it frames have
// arrived.

const (
	virtioNetType = 1 // the device type of a network card
	featNetMAC    = 1 << 5
	netHdrLen     = 12 // struct virtio_net_hdr with VERSION_1
	frameMax      = vqBufSize - netHdrLen
)

type netDevice struct {
	present bool
	t       virtioTransport
	mac     [6]byte
	rx, tx  vqueue
	event   int32 // eventfds index signalled when frames arrive; -1 before moteNetOpen
}

var nic = netDevice{event: -1}

// netInit finds a virtio-net device, on microvm's virtio-mmio or q35's PCI
// bus, and sets it up. Without one the guest simply has no network device.
func netInit() {
	t, ok := mmioFind(virtioNetType)
	if !ok {
		if t, ok = pciFind(virtioNetType); !ok {
			return
		}
	}
	nic.t = t
	if !nic.setup() {
		logRecord().s("virtio-net at ").hex(uint64(t.base)).s(": setup failed; no network device").nl()
		return
	}
	nic.present = true
	if t.kind == transportMMIO {
		mmioIRQInit()
	}
	logRecord().s("virtio-net at ").hex(uint64(t.base)).s(": network device ready").nl()
	// The user-mode network resolves names at 10.0.2.3; a tap has dns=, or
	// DHCP's name servers later, or none.
	writeResolvConf()
}

func (d *netDevice) setup() bool {
	t := &d.t
	feat, ok := t.negotiate(featNetMAC)
	if !ok || feat&featNetMAC == 0 {
		return false
	}
	if !t.setupQueue(0, &d.rx) || !t.setupQueue(1, &d.tx) {
		return false
	}
	for i := range d.mac {
		d.mac[i] = t.configByte(uintptr(i))
	}
	// Every receive buffer goes to the device at once. Transmitted buffers
	// are taken back when the next frame is sent, so the transmit queue
	// needs no interrupts.
	for i := uint16(0); i < vqSize; i++ {
		d.rx.setDesc(i, vqBufSize, descFlagWrite)
		d.rx.publish(i)
	}
	d.tx.setInterrupts(false)
	t.setStatus(statusAck | statusDriver | statusFeatOK | statusDriverOK)
	t.kick(&d.rx)
	return true
}

// virtioInterrupt acknowledges the device and wakes the service when frames
// have arrived. Receive interrupts then stay off until the service has
// drained the queue (sysMoteNetRecv), so a burst costs one interrupt.
func virtioInterrupt() {
	if !nic.present {
		return
	}
	nic.t.ackInterrupt()
	if nic.event >= 0 && nic.rx.usedIdx() != nic.rx.lastUsed {
		nic.rx.setInterrupts(false)
		signalEventfd(nic.event)
	}
}

// sysMoteNetOpen gives the service the device's MAC address, the guest's
// address, prefix and gateway (or that DHCP is to find them), and the eventfd that tells it frames
// arrived; ENODEV when there is no device.
func sysMoteNetOpen(t *thread, f *Frame) int64 {
	if !nic.present {
		return errno(linux.ENODEV)
	}
	if nic.event >= 0 {
		return errno(linux.EBUSY)
	}
	// struct { mac [6]byte; prefix, dhcp uint8; ip, gw [4]byte }
	var cfg [16]byte
	copy(cfg[:6], nic.mac[:])
	cfg[6] = netcfg.prefix
	if netcfg.dhcp {
		cfg[7] = 1 // no address yet: the service asks a DHCP server
	}
	copy(cfg[8:12], netcfg.ip[:])
	copy(cfg[12:16], netcfg.gw[:])
	if !copyOut(uintptr(f.RDI), cfg[:]) {
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
	if !nic.present {
		return errno(linux.EAGAIN)
	}
	if q.usedIdx() == q.lastUsed {
		// Drained: interrupts back on, then a second look for a frame that
		// came while they were off and so raised none.
		q.setInterrupts(true)
		if q.usedIdx() == q.lastUsed {
			return errno(linux.EAGAIN)
		}
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
	if q.notifyWanted() {
		nic.t.kick(q)
	}
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
		announceTx() // the sender retries once the device has made room
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
	txWaiting++
	if txDue == 0 {
		txDue = nanotime() + txDelay
	}
	if txWaiting >= txBatch {
		announceTx()
	}
	return int64(n)
}

// The transmit doorbell is rung for a batch of frames, not for each: under
// emulation it is an exit that costs the guest about 200 µs (measured with
// examples/http under load), most of an HTTP request's share of the device.
// Frames wait for it at most txDelay, or until the CPU would idle, so a
// guest that has nothing else to do sends at once.
const (
	txDelay = 200_000 // ns
	txBatch = 32      // frames
)

var (
	txDue     int64 // when the waiting frames must be announced; 0 when none wait
	txWaiting int
)

// announceTx rings the transmit doorbell for the frames published since it
// was last rung, if the device wants to be told.
func announceTx() {
	if txDue == 0 {
		return
	}
	txDue, txWaiting = 0, 0
	if nic.tx.notifyWanted() {
		nic.t.kick(&nic.tx)
	}
}

// formatIPv4 writes a dotted quad at the start of out and returns its length.
func formatIPv4(a *[4]byte, out []byte) int {
	n := 0
	for i, v := range a {
		if i > 0 {
			out[n] = '.'
			n++
		}
		if v >= 100 {
			out[n] = '0' + v/100
			n++
		}
		if v >= 10 {
			out[n] = '0' + v/10%10
			n++
		}
		out[n] = '0' + v%10
		n++
	}
	return n
}
