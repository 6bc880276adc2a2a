package tsc

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestKHz(t *testing.T) {
	khz, err := KHz()
	if err != nil {
		t.Skipf("no TSC frequency on this host: %v", err)
	}
	if khz < 100_000 || khz > 10_000_000 {
		t.Errorf("TSC frequency %d kHz is implausible", khz)
	}
	t.Logf("TSC %d kHz", khz)
}

func TestFromSamples(t *testing.T) {
	if got := fromSamples(1000, 1000+48_000_000, 20*time.Millisecond); got != 2_400_000 {
		t.Errorf("got %d kHz, want 2400000", got)
	}
	if got := fromSamples(5, 4, time.Second); got != 0 {
		t.Errorf("backwards counter gave %d", got)
	}
}

func TestCPUInfo(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cpuinfo")
	os.WriteFile(p, []byte("processor\t: 0\nmodel name\t: X\ncpu MHz\t\t: 2399.998\n"), 0o644)
	if got, err := cpuinfoKHz(p); err != nil || got != 2399998 {
		t.Errorf("got %d, %v", got, err)
	}
}
