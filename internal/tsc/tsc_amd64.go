package tsc

import "time"

// rdtsc returns the time-stamp counter (tsc_amd64.s).
func rdtsc() uint64

func measure() uint64 {
	t0 := time.Now()
	c0 := rdtsc()
	for time.Since(t0) < measureWindow {
		time.Sleep(time.Millisecond)
	}
	c1 := rdtsc()
	return fromSamples(c0, c1, time.Since(t0))
}
