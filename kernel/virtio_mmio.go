package kernel

// The virtio-mmio transport, version 2 (virtio 1.2, 4.2), as microvm has it:
// 24 register blocks of 512 bytes from 0xfeb00000, each with its interrupt
// line on an IOAPIC pin.

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

	microvmMMIO    = 0xfeb00000
	microvmSlots   = 24
	microvmSlotLen = 0x200
	ioapic2        = 0xfec10000 // microvm's second IOAPIC, where its virtio-mmio lines go
)

// mmioFind returns the transport of the first virtio-mmio device with the
// given device ID.
func mmioFind(deviceID uint32) (virtioTransport, bool) {
	for i := uintptr(0); i < microvmSlots; i++ {
		base := uintptr(microvmMMIO) + i*microvmSlotLen
		if mmioRead32(base+vmMagic) == vmMagicValue && mmioRead32(base+vmVersion) == 2 &&
			mmioRead32(base+vmDeviceID) == deviceID {
			return virtioTransport{kind: transportMMIO, base: base, devcfg: base + vmConfig}, true
		}
	}
	return virtioTransport{}, false
}

func (t *virtioTransport) mmioQueue(q *vqueue) bool {
	b := t.base
	mmioWrite32(b+vmQueueSel, uint32(q.index))
	if mmioRead32(b+vmQueueNumMax) < vqSize {
		return false
	}
	mmioWrite32(b+vmQueueNum, vqSize)
	mmioWrite32(b+vmQueueDescLo, uint32(physAddr(q.desc)))
	mmioWrite32(b+vmQueueDescHi, uint32(uint64(physAddr(q.desc))>>32))
	mmioWrite32(b+vmQueueDrvLo, uint32(physAddr(q.avail)))
	mmioWrite32(b+vmQueueDrvHi, uint32(uint64(physAddr(q.avail))>>32))
	mmioWrite32(b+vmQueueDevLo, uint32(physAddr(q.used)))
	mmioWrite32(b+vmQueueDevHi, uint32(uint64(physAddr(q.used))>>32))
	mmioWrite32(b+vmQueueReady, 1)
	q.doorbell = b + vmQueueNotify
	return true
}

// mmioIRQInit routes the IOAPIC pins virtio-mmio devices may use to
// vecVirtio, level-triggered as the transport's interrupt line is: pins
// 6-23 of the first IOAPIC (below them are the serial ports', COM3's at 5),
// and every pin of the second.
func mmioIRQInit() {
	for pin := uint32(6); pin < 24; pin++ {
		ioapicWriteAt(ioapicBase, 0x10+2*pin+1, 0)
		ioapicWriteAt(ioapicBase, 0x10+2*pin, vecVirtio|1<<15)
	}
	if v := ioapicReadAt(ioapic2, 1); v != 0xffffffff {
		pins := v>>16&0xff + 1
		for pin := uint32(0); pin < pins; pin++ {
			ioapicWriteAt(ioapic2, 0x10+2*pin+1, 0)
			ioapicWriteAt(ioapic2, 0x10+2*pin, vecVirtio|1<<15)
		}
	}
}
