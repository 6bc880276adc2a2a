package kernel

import "mote.dev/mote/kernel/arch/amd64"

// The virtio-pci transport, modern interface (virtio 1.2, 4.1), as q35 has
// it. The kernel finds devices on bus 0 through the legacy configuration
// ports, places their memory BARs itself (with PVH boot no firmware has),
// finds the virtio structures through the vendor capabilities, and takes
// interrupts as MSI-X messages straight to the local APIC, so no interrupt
// routing and no acknowledgement are involved.

const (
	pciConfigAddr = 0xcf8
	pciConfigData = 0xcfc

	pciVendorVirtio = 0x1af4
	pciCapVendor    = 0x09
	pciCapMSIX      = 0x11

	// Virtio structure types in the vendor capabilities (4.1.4).
	virtioPCICommon = 1
	virtioPCINotify = 2
	virtioPCIDevice = 4

	// The common configuration (4.1.4.3).
	pciDeviceFeatSel = 0x00
	pciDeviceFeat    = 0x04
	pciDriverFeatSel = 0x08
	pciDriverFeat    = 0x0c
	pciConfigMSIX    = 0x10
	pciStatus        = 0x14
	pciQueueSel      = 0x16
	pciQueueSize     = 0x18
	pciQueueMSIX     = 0x1a
	pciQueueEnable   = 0x1c
	pciQueueNotifyOf = 0x1e
	pciQueueDesc     = 0x20
	pciQueueDriver   = 0x28
	pciQueueDevice   = 0x30

	msixNoVector = 0xffff
	lapicMSIBase = 0xfee00000 // MSI address of the local APIC with ID 0, the one CPU
)

// pciWindow is where the kernel places memory BARs: q35's 32-bit PCI hole,
// above its MMCONFIG area (0xb0000000-0xbfffffff) and below the IOAPIC.
// memoryInit maps it uncached.
var pciWindow uintptr = 0xc000_0000

const pciWindowEnd = 0xfec0_0000

func pciAddr(bdf, off uint32) uint32 { return 0x8000_0000 | bdf<<8 | off&0xfc }

func pciRead32(bdf, off uint32) uint32 {
	amd64.Outl(pciConfigAddr, pciAddr(bdf, off))
	return amd64.Inl(pciConfigData)
}

func pciWrite32(bdf, off, v uint32) {
	amd64.Outl(pciConfigAddr, pciAddr(bdf, off))
	amd64.Outl(pciConfigData, v)
}

// pciFind returns the transport of the first modern-capable virtio-pci
// device of the given type on bus 0 (device ID 0x1040+type, or the
// transitional 0x1000+type-1 with its subsystem ID saying the type).
func pciFind(deviceType uint32) (virtioTransport, bool) {
	for dev := uint32(0); dev < 32; dev++ {
		bdf := dev << 3
		id := pciRead32(bdf, 0)
		if id&0xffff != pciVendorVirtio {
			continue
		}
		did := id >> 16
		if did != 0x1040+deviceType && !(did == 0x1000+deviceType-1 && pciRead32(bdf, 0x2c)>>16 == deviceType) {
			continue
		}
		t, ok := pciSetup(bdf)
		if !ok {
			logRecord().s("virtio-pci device at slot ").dec(int64(dev)).s(": no usable modern interface (capabilities, BARs or MSI-X)").nl()
		}
		return t, ok
	}
	return virtioTransport{}, false
}

// pciSetup places the device's BARs and reads its capabilities.
func pciSetup(bdf uint32) (virtioTransport, bool) {
	var t virtioTransport
	t.kind = transportPCI
	if pciRead32(bdf, 0x04)>>16&0x10 == 0 {
		return t, false // no capability list: a legacy-only device
	}
	// Decoding off while the BARs move.
	cmd := pciRead32(bdf, 0x04) & 0xffff
	pciWrite32(bdf, 0x04, cmd&^0x7)
	var bars [6]uintptr
	var msixCap uint32
	var haveCommon, haveNotify, haveDevice bool
	for ptr := pciRead32(bdf, 0x34) & 0xfc; ptr != 0; {
		hdr := pciRead32(bdf, ptr)
		switch hdr & 0xff {
		case pciCapVendor:
			typ, bar := hdr>>24&0xff, pciRead32(bdf, ptr+4)&0xff
			if typ != virtioPCICommon && typ != virtioPCINotify && typ != virtioPCIDevice || bar >= 6 {
				break // a structure the kernel does not use, such as the PCI configuration window
			}
			if bars[bar] == 0 {
				if bars[bar] = pciPlaceBar(bdf, bar); bars[bar] == 0 {
					return t, false
				}
			}
			addr := bars[bar] + uintptr(pciRead32(bdf, ptr+8))
			switch typ {
			case virtioPCICommon:
				if !haveCommon {
					t.base, haveCommon = addr, true
				}
			case virtioPCINotify:
				if !haveNotify {
					t.notifyBase, t.notifyMul, haveNotify = addr, pciRead32(bdf, ptr+16), true
				}
			case virtioPCIDevice:
				if !haveDevice {
					t.devcfg, haveDevice = addr, true
				}
			}
		case pciCapMSIX:
			msixCap = ptr
		}
		ptr = hdr >> 8 & 0xfc
	}
	if !haveCommon || !haveNotify || !haveDevice || msixCap == 0 {
		return t, false
	}
	tbl := pciRead32(bdf, msixCap+4)
	bir := tbl & 7
	if bir >= 6 {
		return t, false
	}
	if bars[bir] == 0 {
		if bars[bir] = pciPlaceBar(bdf, bir); bars[bir] == 0 {
			return t, false
		}
	}
	t.msix = bars[bir] + uintptr(tbl&^7)
	// Memory decoding and bus mastering (the device reads and writes the rings).
	pciWrite32(bdf, 0x04, cmd|0x6)
	// One MSI-X vector, entry 0, to vecVirtio on the local APIC; then MSI-X on,
	// the function unmasked.
	mmioWrite32(t.msix+0, lapicMSIBase)
	mmioWrite32(t.msix+4, 0)
	mmioWrite32(t.msix+8, vecVirtio)
	mmioWrite32(t.msix+12, 0)
	ctrl := pciRead32(bdf, msixCap)
	pciWrite32(bdf, msixCap, ctrl&^(1<<30)|1<<31)
	return t, true
}

// pciPlaceBar sizes a memory BAR and places it in pciWindow, aligned to its
// size; 0 if it is an I/O BAR or does not fit.
func pciPlaceBar(bdf, bar uint32) uintptr {
	off := 0x10 + bar*4
	orig := pciRead32(bdf, off)
	if orig&1 != 0 {
		return 0
	}
	is64 := orig&6 == 4
	pciWrite32(bdf, off, 0xffff_ffff)
	size := uintptr(^(pciRead32(bdf, off) &^ 0xf) + 1)
	if is64 {
		pciWrite32(bdf, off+4, 0) // below 4 GiB, in the window
	}
	if size == 0 || size > 1<<28 {
		pciWrite32(bdf, off, orig)
		return 0
	}
	addr := (pciWindow + size - 1) &^ (size - 1)
	if addr+size > pciWindowEnd {
		pciWrite32(bdf, off, orig)
		return 0
	}
	pciWindow = addr + size
	pciWrite32(bdf, off, uint32(addr))
	return addr
}

// pciQueue sets up queue q in the common configuration, with its interrupts
// on MSI-X entry 0.
func (t *virtioTransport) pciQueue(q *vqueue) bool {
	b := t.base
	mmioWrite16(b+pciQueueSel, q.index)
	if mmioRead16(b+pciQueueSize) < vqSize {
		return false
	}
	mmioWrite16(b+pciQueueSize, vqSize)
	mmioWrite32(b+pciQueueDesc, uint32(physAddr(q.desc)))
	mmioWrite32(b+pciQueueDesc+4, uint32(uint64(physAddr(q.desc))>>32))
	mmioWrite32(b+pciQueueDriver, uint32(physAddr(q.avail)))
	mmioWrite32(b+pciQueueDriver+4, uint32(uint64(physAddr(q.avail))>>32))
	mmioWrite32(b+pciQueueDevice, uint32(physAddr(q.used)))
	mmioWrite32(b+pciQueueDevice+4, uint32(uint64(physAddr(q.used))>>32))
	mmioWrite16(b+pciQueueMSIX, 0)
	if mmioRead16(b+pciQueueMSIX) == msixNoVector {
		return false // the device could not take the vector
	}
	q.doorbell = t.notifyBase + uintptr(mmioRead16(b+pciQueueNotifyOf))*uintptr(t.notifyMul)
	mmioWrite16(b+pciQueueEnable, 1)
	return true
}
