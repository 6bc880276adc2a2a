package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/arch/amd64"
)

// The serial ports of the toolchain contract (docs/ARCHITECTURE.md).
const (
	com1 = 0x3f8 // app stdout, stdin
	com2 = 0x2f8 // app stderr
	com3 = 0x3e8 // kernel channel
)

// Register offsets of a 16550 UART.
const (
	uartData = 0
	uartIER  = 1
	uartFCR  = 2
	uartLCR  = 3
	uartMCR  = 4
	uartLSR  = 5

	lsrDataReady = 0x01
	lsrTHREmpty  = 0x20
)

func consoleInit() {
	for _, base := range [...]uint16{com1, com2, com3} {
		amd64.Outb(base+uartIER, 0)
		amd64.Outb(base+uartLCR, 0x80) // divisor latch
		amd64.Outb(base+uartData, 1)   // 115200 baud
		amd64.Outb(base+uartIER, 0)
		amd64.Outb(base+uartLCR, 0x03) // 8N1
		// FIFOs stay off: enabling them drops what arrived before boot, and QEMU
		// holds back input until the one-byte holding register is read.
		amd64.Outb(base+uartMCR, 0x0b)
	}
}

// IOAPIC registers (82093AA datasheet); QEMU's is at the standard address.
const (
	ioapicBase   = 0xfec00000
	ioapicRegSel = 0x00
	ioapicWin    = 0x10
	irqCOM1      = 4
	vecCOM1      = 36
)

func ioapicWrite(reg uint32, v uint32) { ioapicWriteAt(ioapicBase, reg, v) }

func ioapicWriteAt(base uintptr, reg uint32, v uint32) {
	*(*uint32)(unsafe.Pointer(base + ioapicRegSel)) = reg
	*(*uint32)(unsafe.Pointer(base + ioapicWin)) = v
}

func ioapicReadAt(base uintptr, reg uint32) uint32 {
	*(*uint32)(unsafe.Pointer(base + ioapicRegSel)) = reg
	return *(*uint32)(unsafe.Pointer(base + ioapicWin))
}

// stdinInit routes COM1's receive interrupt to vecCOM1 on this CPU, so
// that a thread waiting for standard input wakes when a byte arrives.
func stdinInit() {
	ioapicWrite(0x10+2*irqCOM1+1, 0) // destination: APIC 0
	ioapicWrite(0x10+2*irqCOM1, vecCOM1)
	amd64.Outb(com1+uartIER, 0x01) // data available
	amd64.Outb(com1+uartMCR, 0x0b) // OUT2 gates the interrupt line
}

// uartWait bounds how long uartPut waits for the host to take a byte, in
// TSC cycles (about a second at 2 GHz). QEMU holds the transmitter busy
// while its socket to the host is full; a byte written then is lost, and a
// lost byte garbles a kernel channel record. A busy host (a loaded machine,
// a flood of trace records) can lag by tens of milliseconds, which a fixed
// count of polls did not cover; a port that never drains only slows the
// kernel down.
const uartWait = 2 << 30

func uartPut(base uint16, b byte) {
	if amd64.Inb(base+uartLSR)&lsrTHREmpty == 0 {
		start := amd64.Rdtsc()
		for amd64.Inb(base+uartLSR)&lsrTHREmpty == 0 && amd64.Rdtsc()-start < uartWait {
			amd64.Pause()
		}
	}
	amd64.Outb(base+uartData, b)
}

// uartWrite writes p, one byte at a time.
func uartWrite(base uint16, p []byte) {
	for _, b := range p {
		uartPut(base, b)
	}
}

// kw writes kernel text to a serial port without allocating: the trap path
// has no heap.
type kw uint16

var (
	klog = kw(com3) // the kernel channel
	kerr = kw(com2) // the app's stderr, for crash reports
)

func (w kw) s(s string) kw {
	for i := 0; i < len(s); i++ {
		uartPut(uint16(w), s[i])
	}
	return w
}

func (w kw) b(p []byte) kw {
	uartWrite(uint16(w), p)
	return w
}

func (w kw) hex(v uint64) kw {
	var buf [18]byte
	buf[0], buf[1] = '0', 'x'
	for i := 17; i >= 2; i-- {
		buf[i] = "0123456789abcdef"[v&15]
		v >>= 4
	}
	return w.b(buf[:])
}

func (w kw) dec(v int64) kw {
	var buf [24]byte
	i := len(buf)
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return w.b(buf[i:])
}

func (w kw) nl() kw { return w.s("\n") }

// logf starts a "log" record on the kernel channel; end it with nl.
func logRecord() kw { return klog.s("log ") }
