package compare

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSmallest(t *testing.T) {
	for _, min := range []int{8, 9, 76, 80, 255, 256} {
		probes := 0
		got, err := Smallest(8, 256, func(m int) bool { probes++; return m >= min })
		if err != nil || got != min {
			t.Errorf("min %d: Smallest = %d, %v", min, got, err)
		}
		if probes > 10 {
			t.Errorf("min %d: %d probes", min, probes)
		}
	}
	if _, err := Smallest(8, 256, func(int) bool { return false }); err == nil {
		t.Error("never serves: no error")
	}
}

func TestTail(t *testing.T) {
	var tl Tail
	select {
	case <-tl.FirstLine():
		t.Fatal("first line before any output")
	default:
	}
	if tl.Tail() != "(no output)" {
		t.Errorf("empty tail %q", tl.Tail())
	}
	tl.Write([]byte("partial"))
	select {
	case <-tl.FirstLine():
		t.Fatal("first line before a newline")
	default:
	}
	tl.Write([]byte(" line\n"))
	<-tl.FirstLine()
	for i := range 1000 {
		fmt.Fprintf(&tl, "line %d\n", i)
	}
	got := tl.Tail()
	if !strings.HasSuffix(got, "line 999") || strings.Contains(got, "partial") || len(got) > tailSize {
		t.Errorf("tail of %d bytes ends %q", len(got), got[max(0, len(got)-20):])
	}
	if !strings.HasPrefix(got, "line ") {
		t.Errorf("tail starts mid-line: %q", got[:20])
	}
}

// shell is a Way whose app is a shell script, for testing the measuring without QEMU.
func shell(script string) *Process {
	return &Process{Binary: "/bin/sh", Args: []string{"-c", script}}
}

// TestNeverReady: an app that never answers gets a timeout naming what was awaited and
// its last output, in about the ready timeout.
func TestNeverReady(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p := shell("echo warming up; echo still warming up; exec sleep 60")
	p.Port = port
	start := time.Now()
	rows := Run(context.Background(), []Way{p}, Options{Port: port, Concurrency: []int{1}, Duration: time.Second, ReadyTimeout: time.Second})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	e := rows[0].Error
	if !strings.Contains(e, "timeout: not ready after 1s") || !strings.Contains(e, fmt.Sprintf("HTTP response on port %d", port)) ||
		!strings.Contains(e, "warming up\nstill warming up") {
		t.Errorf("error %q", e)
	}
}

func TestExitBeforeReady(t *testing.T) {
	rows := Run(context.Background(), []Way{shell("echo cannot start >&2; exit 3")}, Options{Port: 1, Concurrency: []int{1}, Duration: time.Second})
	if e := rows[0].Error; !strings.Contains(e, "exited before it was ready (exit status 3)") || !strings.Contains(e, "cannot start") {
		t.Errorf("error %q", rows[0].Error)
	}
}

// TestNoPort: an app without a port is ready at its first line of output.
func TestNoPort(t *testing.T) {
	rows := Run(context.Background(), []Way{shell("sleep 0.2; echo hello; sleep 5")}, Options{})
	r := rows[0]
	if r.Error != "" || r.Ready < 200*time.Millisecond || r.Ready > 3*time.Second || r.ArtifactBytes == 0 {
		t.Errorf("%+v", r)
	}
}

// TestNoPortCommand: a command that prints and exits at once is ready, not "exited before
// it was ready", whichever of the two the instance reports first.
func TestNoPortCommand(t *testing.T) {
	for range 20 {
		rows := Run(context.Background(), []Way{shell("echo hello")}, Options{})
		if rows[0].Error != "" {
			t.Fatalf("%+v", rows[0])
		}
	}
}

func TestSkip(t *testing.T) {
	rows := Run(context.Background(), []Way{&Container{Runc: "no-such-runc"}}, Options{})
	if rows[0].Skipped != "skipped: no-such-runc not found (apt-get install runc)" {
		t.Errorf("row %+v", rows[0])
	}
	rep := NewReport(rows, Options{}, "mote compare x", "")
	var b bytes.Buffer
	rep.WriteTable(&b)
	if !strings.Contains(b.String(), "container: skipped: no-such-runc not found (apt-get install runc)") {
		t.Errorf("table:\n%s", b.String())
	}
}
