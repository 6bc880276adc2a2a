package kernel

import (
	"math/bits"
	"unsafe"

	"mote.dev/mote/kernel/arch/amd64"
)

// Time. The monotonic clock is the TSC, scaled by its frequency, which comes
// from (in order) the host through tsc_khz=, CPUID leaf 0x15 or 0x16, or the
// hypervisor leaf 0x40000010. Nothing is calibrated against a PIT or HPET:
// microvm has neither. Wall time is read once from the CMOS RTC.
//
// Timer interrupts are one-shot (tickless): the LAPIC's TSC-deadline mode
// where the CPU has it, otherwise its count-down timer, which QEMU and KVM
// run at 1 GHz.

const (
	lapicBase    = 0xfee00000
	lapicEOI     = 0x0b0
	lapicSVR     = 0x0f0
	lapicTPR     = 0x080
	lapicLVTT    = 0x320
	lapicInitCnt = 0x380
	lapicDivide  = 0x3e0

	vecTimer    = 32
	vecSpurious = 255
)

var (
	tsc0         uint64
	nsPerTSCMult uint64 // ns = (tsc * mult) >> 32
	wallAtBoot   int64  // unix ns at tsc0
	tscDeadline  bool
	timerArmed   int64 // deadline the timer is set for, 0 for none
)

func lapicWrite(reg uintptr, v uint32) {
	*(*uint32)(unsafe.Pointer(uintptr(lapicBase) + reg)) = v
}

func clockInit() {
	khz := tscKHz
	if khz == 0 {
		khz = cpuidTSCKHz()
	}
	if khz == 0 {
		khz = 1_000_000
		logRecord().s("TSC frequency unknown; assuming 1 GHz: times will be off").nl()
	}
	tscKHz = khz
	nsPerTSCMult = (uint64(1_000_000) << 32) / khz
	tsc0 = amd64.Rdtsc()
	wallAtBoot = rtcUnixNano()

	_, _, ecx, _ := amd64.Cpuid(1, 0)
	tscDeadline = ecx&(1<<24) != 0
	lapicWrite(lapicTPR, 0)
	lapicWrite(lapicSVR, 0x100|vecSpurious)
	lapicWrite(lapicDivide, 0xb) // divide by 1
	if tscDeadline {
		lapicWrite(lapicLVTT, vecTimer|2<<17)
	} else {
		lapicWrite(lapicLVTT, vecTimer)
	}
}

func cpuidTSCKHz() uint64 {
	max, _, _, _ := amd64.Cpuid(0, 0)
	if max >= 0x15 {
		den, num, crystal, _ := amd64.Cpuid(0x15, 0)
		if den != 0 && num != 0 && crystal != 0 {
			return uint64(crystal) * uint64(num) / uint64(den) / 1000
		}
	}
	if max >= 0x16 {
		base, _, _, _ := amd64.Cpuid(0x16, 0)
		if base != 0 {
			return uint64(base) * 1000
		}
	}
	hmax, _, _, _ := amd64.Cpuid(0x40000000, 0)
	if hmax >= 0x40000010 {
		khz, _, _, _ := amd64.Cpuid(0x40000010, 0)
		return uint64(khz)
	}
	return 0
}

// nanotime returns nanoseconds since boot.
func nanotime() int64 {
	d := amd64.Rdtsc() - tsc0
	hi, lo := bits.Mul64(d, nsPerTSCMult)
	return int64(hi<<32 | lo>>32)
}

// walltime returns nanoseconds since the Unix epoch.
func walltime() int64 { return wallAtBoot + nanotime() }

// armTimer makes the timer interrupt fire at deadline (nanotime), or no
// later; 0 asks for no interrupt. A timer already armed for no later than
// deadline is left alone: firing early only makes the kernel look again
// and arm it anew. Arming costs the guest about 13 µs under TCG (measured
// with examples/http under load), and the slice's end, which moves at every
// switch of threads, re-armed it about nine times per request.
func armTimer(deadline int64) {
	if deadline == 0 || timerArmed != 0 && deadline >= timerArmed {
		return
	}
	timerArmed = deadline
	if tscDeadline {
		amd64.Wrmsr(msrTSCDeadline, tsc0+nsToTSC(deadline))
		return
	}
	d := deadline - nanotime()
	if d < 1000 {
		d = 1000
	}
	if d > 0xffffffff {
		d = 0xffffffff // re-armed when it fires early
	}
	lapicWrite(lapicInitCnt, uint32(d))
}

func nsToTSC(ns int64) uint64 {
	// Rounded up, so that nanotime has reached the deadline when the timer fires.
	hi, lo := bits.Mul64(uint64(ns), tscKHz)
	if hi >= 1_000_000 {
		return ^uint64(0)
	}
	q, r := bits.Div64(hi, lo, 1_000_000)
	if r != 0 {
		q++
	}
	return q + 1
}

func lapicEOIWrite() { lapicWrite(lapicEOI, 0) }

// CMOS real-time clock.
func cmosRead(reg uint8) uint8 {
	amd64.Outb(0x70, reg)
	return amd64.Inb(0x71)
}

func rtcUnixNano() int64 {
	for i := 0; i < 1_000_000 && cmosRead(0x0a)&0x80 != 0; i++ {
		amd64.Pause() // update in progress
	}
	sec, min, hour := cmosRead(0), cmosRead(2), cmosRead(4)
	day, mon, year := cmosRead(7), cmosRead(8), cmosRead(9)
	cent := cmosRead(0x32)
	if sec == 0xff && year == 0xff {
		logRecord().s("no RTC: wall clock starts at 1970").nl()
		return 0
	}
	if cmosRead(0x0b)&0x04 == 0 { // BCD
		bcd := func(v uint8) uint8 { return v>>4*10 + v&15 }
		sec, min, day, mon, year, cent = bcd(sec), bcd(min), bcd(day), bcd(mon), bcd(year), bcd(cent)
		hour = bcd(hour&0x7f) | hour&0x80
	}
	if cmosRead(0x0b)&0x02 == 0 && hour&0x80 != 0 { // 12-hour clock, PM
		hour = (hour&0x7f + 12) % 24
	}
	y := int64(year) + 2000
	if cent >= 19 && cent <= 30 {
		y = int64(cent)*100 + int64(year)
	}
	return (daysFromCivil(y, int64(mon), int64(day))*86400 +
		int64(hour)*3600 + int64(min)*60 + int64(sec)) * 1e9
}

// daysFromCivil counts days from 1970-01-01 to y-m-d (proleptic Gregorian).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
