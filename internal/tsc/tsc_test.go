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
	in := "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\ncpu MHz\t\t: 2599.998\ncpu MHz\t\t: 1200.000\n"
	os.WriteFile(p, []byte(in), 0o644)
	if got, err := cpuinfoKHz(p); err != nil || got != 2599998 {
		t.Errorf("first cpu MHz line: got %d, %v; want 2599998", got, err)
	}
	for _, bad := range []string{"", "cpu MHz : fast\n", "cpu MHz : 0\n"} {
		os.WriteFile(p, []byte(bad), 0o644)
		if _, err := cpuinfoKHz(p); err == nil {
			t.Errorf("cpuinfoKHz(%q) succeeded", bad)
		}
	}
}
