package kernel

import (
	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/arch/amd64"
)

// The kernel channel (COM3) carries records to the host and, in the other
// direction, requests from it, one per line (docs/ARCHITECTURE.md):
//
//	signal <n>   raise signal n in the app, as kill(2) from outside would
//
// This is how `mote stop` asks the app to end (signal 15). The receive
// interrupt is routed like stdin's, so a request reaches a busy app as well
// as an idle one. A line that is too long or not understood is reported
// as a "log" record and dropped.

const (
	irqCOM3 = 5
	vecCOM3 = 37
)

// ctlLine collects one request; ctlLen counts its bytes, ctlLong marks a
// line that overflowed and is skipped up to its newline.
var (
	ctlLine [64]byte
	ctlLen  int
	ctlLong bool
)

// controlInit routes COM3's receive interrupt to vecCOM3. It runs after
// netInit, which claims IOAPIC pins 5-23 for virtio-mmio's lines.
func controlInit() {
	ioapicWrite(0x10+2*irqCOM3+1, 0) // destination: APIC 0
	ioapicWrite(0x10+2*irqCOM3, vecCOM3)
	amd64.Outb(com3+uartIER, 0x01) // data available
	amd64.Outb(com3+uartMCR, 0x0b) // OUT2 gates the interrupt line
}

// controlInterrupt reads what the host sent and acts on each whole line.
func controlInterrupt() {
	amd64.Inb(com3 + 2) // IIR: acknowledge
	for i := 0; i < 256 && amd64.Inb(com3+uartLSR)&lsrDataReady != 0; i++ {
		controlByte(amd64.Inb(com3 + uartData))
	}
}

func controlByte(b byte) {
	switch {
	case b == '\n':
		if !ctlLong {
			controlRequest(ctlLine[:ctlLen])
		} else {
			logRecord().s("control: request too long, ignored").nl()
		}
		ctlLen, ctlLong = 0, false
	case b == '\r':
	case ctlLen == len(ctlLine):
		ctlLong = true
	default:
		ctlLine[ctlLen] = b
		ctlLen++
	}
}

// controlRequest carries out one request line.
func controlRequest(line []byte) {
	if len(line) == 0 {
		return
	}
	sig, ok := parseSignalRequest(line)
	if !ok {
		logRecord().s("control: bad request: ").b(line).nl()
		return
	}
	logRecord().s("control: signal ").dec(int64(sig)).s(" (").s(signalName(sig)).s(") from the host").nl()
	signalProcess(nil, sig, linux.SI_USER, 0)
}

// parseSignalRequest parses "signal N", N a signal number.
func parseSignalRequest(line []byte) (int, bool) {
	verb, arg := splitWord(line)
	if string(verb) != "signal" {
		return 0, false
	}
	sig, ok := parseDecimal(arg)
	if !ok || sig < 1 || sig > linux.NumSignals {
		return 0, false
	}
	return sig, true
}

// splitWord splits line at its first space.
func splitWord(line []byte) (word, rest []byte) {
	for i, c := range line {
		if c == ' ' {
			return line[:i], line[i+1:]
		}
	}
	return line, nil
}

// parseDecimal parses a small non-negative decimal number.
func parseDecimal(p []byte) (int, bool) {
	if len(p) == 0 || len(p) > 4 {
		return 0, false
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
