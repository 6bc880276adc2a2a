// Package tsc finds the host's TSC frequency, which mote passes to the guest as tsc_khz=: a
// guest on microvm has no PIT or HPET to calibrate against, and under TCG (as under KVM without
// a frequency override) the guest's TSC ticks at the host's rate.
//
// Reading the kernel's own figure ("tsc: Detected N MHz" in the kernel log) needs root, so on
// amd64 mote measures: RDTSC against CLOCK_MONOTONIC over about 20 ms, which is accurate to
// well under 0.1% on an idle host. Elsewhere, and if the measurement looks wrong, it falls back
// to the "cpu MHz" line of /proc/cpuinfo, which is the current (not nominal) clock and so only
// approximate.
package tsc

import (
	"bufio"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// measureWindow is how long KHz watches the TSC tick.
const measureWindow = 20 * time.Millisecond

// KHz returns the host's TSC frequency in kHz.
func KHz() (uint64, error) {
	if khz := measure(); khz != 0 {
		return khz, nil
	}
	return cpuinfoKHz("/proc/cpuinfo")
}

// fromSamples turns two (tsc, time) samples into kHz; zero if they make no sense.
func fromSamples(c0, c1 uint64, d time.Duration) uint64 {
	if c1 <= c0 || d <= 0 {
		return 0
	}
	khz := (c1 - c0) * uint64(time.Millisecond) / uint64(d)
	if khz < 100_000 || khz > 10_000_000 { // 100 MHz .. 10 GHz
		return 0
	}
	return khz
}

// cpuinfoKHz reads the first "cpu MHz" line of a /proc/cpuinfo file.
func cpuinfoKHz(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(k) != "cpu MHz" {
			continue
		}
		mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || mhz <= 0 {
			break
		}
		return uint64(math.Round(mhz * 1000)), nil
	}
	return 0, errors.New("no cpu MHz line in " + path)
}
