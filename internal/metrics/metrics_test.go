package metrics

import (
	"bytes"
	"strings"
	"testing"
)

const scrape = `# HELP mote_uptime_seconds Time since the kernel booted.
# TYPE mote_uptime_seconds gauge
mote_uptime_seconds 10.5
# HELP mote_cpu_seconds_total CPU time by mode.
# TYPE mote_cpu_seconds_total counter
mote_cpu_seconds_total{mode="busy"} 2.5
mote_cpu_seconds_total{mode="idle"} 8
# HELP mote_syscalls_total System calls made, by name.
# TYPE mote_syscalls_total counter
mote_syscalls_total{name="read"} 7
mote_syscalls_total{name="write"} 3
# HELP mote_memory_total_bytes RAM.
# TYPE mote_memory_total_bytes gauge
mote_memory_total_bytes 1000
# HELP mote_memory_free_bytes Free.
# TYPE mote_memory_free_bytes gauge
mote_memory_free_bytes 400
`

func TestParseLabelWrite(t *testing.T) {
	f, err := Parse([]byte(scrape))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := f.Value("mote_syscalls_total"); !ok || v != 10 {
		t.Errorf("sum of syscalls = %v, %v; want 10", v, ok)
	}
	if v, _ := f.Value("mote_syscalls_total", "name", "write"); v != 3 {
		t.Errorf("write syscalls = %v, want 3", v)
	}
	if _, ok := f.Value("mote_nothing"); ok {
		t.Error("a missing metric has a value")
	}
	f.Label("instance", "web")
	g, _ := Parse([]byte(scrape))
	g.Label("instance", "db")
	f.Merge(g)
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`mote_syscalls_total{instance="web",name="read"} 7`,
		`mote_syscalls_total{instance="db",name="write"} 3`,
		`mote_uptime_seconds{instance="db"} 10.5`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if strings.Count(out, "# TYPE mote_syscalls_total counter") != 1 {
		t.Errorf("merged families written twice:\n%s", out)
	}
	// What is written parses again.
	h, err := Parse(b.Bytes())
	if err != nil {
		t.Fatalf("reparse: %v", err)
	}
	if v, _ := h.Value("mote_syscalls_total", "instance", "db"); v != 10 {
		t.Errorf("db's syscalls after a round trip = %v, want 10", v)
	}
}

func TestSummarize(t *testing.T) {
	f, err := Parse([]byte(scrape))
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(f)
	if s.Uptime != 10.5 || s.CPUBusy != 2.5 || s.MemTotal != 1000 || s.MemFree != 400 {
		t.Errorf("Summarize = %+v", s)
	}
	if p := CPUPercent(Sample{}, s); p < 23.8 || p > 23.9 {
		t.Errorf("CPU since boot = %v%%, want 2.5/10.5", p)
	}
	next := s
	next.Uptime, next.CPUBusy = 12.5, 3.5
	if p := CPUPercent(s, next); p != 50 {
		t.Errorf("CPU between samples = %v%%, want 50", p)
	}
}

func TestParseError(t *testing.T) {
	if _, err := Parse([]byte("mote_x{ 1\n")); err == nil {
		t.Error("bad text parsed")
	}
}
