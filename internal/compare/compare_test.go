package compare

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

func TestMedian(t *testing.T) {
	d := []time.Duration{3, 1, 2, 10}
	if got := median(d); got != 2 {
		t.Errorf("median of %v = %v", d, got)
	}
	if got := median(d[:3]); got != 2 {
		t.Errorf("median of %v = %v", d[:3], got)
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
	rows := Run(context.Background(), []Way{shell("sleep 0.2; echo hello; sleep 5")}, Options{Boots: 3})
	r := rows[0]
	if r.Error != "" || r.Ready < 200*time.Millisecond || r.Ready > 3*time.Second || r.ArtifactBytes == 0 || len(r.ReadyRuns) != 3 {
		t.Errorf("%+v", r)
	}
	if r.Ready != median(r.ReadyRuns) || r.Ready < min(r.ReadyRuns[0], r.ReadyRuns[1], r.ReadyRuns[2]) ||
		r.Ready > max(r.ReadyRuns[0], r.ReadyRuns[1], r.ReadyRuns[2]) {
		t.Errorf("ready %v of %v", r.Ready, r.ReadyRuns)
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

// TestProcessMinMemory bisects the cgroup limit of a process that touches 40 MiB before it
// says it is ready.
func TestProcessMinMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	if err := canLimitMemory(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	src := `package main

import "fmt"

var sink []byte

func main() {
	sink = make([]byte, 40<<20)
	for i := range sink {
		sink[i] = 1
	}
	fmt.Println("ready")
	select {}
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "alloc")
	build := exec.Command("go", "build", "-o", bin, "main.go")
	build.Dir = dir
	build.Env = append(os.Environ(), "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rows := Run(context.Background(), []Way{&Process{Binary: bin}}, Options{MinMemory: true, ReadyTimeout: 10 * time.Second})
	r := rows[0]
	t.Logf("smallest memory %d MiB, peak RSS %d MiB", r.MinMemoryMiB, r.RSSPeak>>20)
	if r.Error != "" || r.MinMemoryMiB < 40 || r.MinMemoryMiB > 60 || r.MinMemoryHow != "cgroup memory limit" {
		t.Errorf("smallest memory %d MiB (%s), want 40-60; row %+v", r.MinMemoryMiB, r.MinMemoryHow, r)
	}
}
