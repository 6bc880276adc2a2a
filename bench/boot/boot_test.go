package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	got, err := expand("mote run -machine {machine} -accel {accel} -m {memory} {image}",
		map[string]string{"image": "hello.img", "machine": "microvm", "accel": "tcg", "memory": "64"})
	if err != nil || strings.Join(got, " ") != "mote run -machine microvm -accel tcg -m 64 hello.img" {
		t.Errorf("expand = %q, %v", got, err)
	}
	if _, err := expand("mote run {imgae}", map[string]string{"image": "x"}); err == nil {
		t.Error("misspelt placeholder accepted")
	}
	if _, err := expand("  ", nil); err == nil {
		t.Error("empty template accepted")
	}
}

func TestMedianSpread(t *testing.T) {
	d := []time.Duration{3 * time.Second, time.Second, 2 * time.Second, 10 * time.Second}
	if got := median(d); got != 2500*time.Millisecond {
		t.Errorf("median = %v", got)
	}
	if got := spread(d[:3]); got != "2.00 s (1.00–3.00)" {
		t.Errorf("spread = %q", got)
	}
}

func TestWatcher(t *testing.T) {
	w := &watcher{start: time.Now(), expect: []byte("hello")}
	w.Write([]byte("[ 0.25] PCI: Fatal\nhel"))
	time.Sleep(20 * time.Millisecond)
	w.Write([]byte("lo\n"))
	found, at := w.result()
	if !found || at >= 20*time.Millisecond {
		t.Errorf("found %v at %v: want the time of the write that began the text", found, at)
	}
}

// TestBootShell runs the measurement on a shell command, the shape of the
// mote side.
func TestBootShell(t *testing.T) {
	b, err := boot(context.Background(), []string{"sh", "-c", "echo booting; sleep 0.05; echo hello"}, "hello", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if b.firstOutput < 50*time.Millisecond || b.exit < b.firstOutput {
		t.Errorf("times %+v", b)
	}
	if _, err := boot(context.Background(), []string{"sh", "-c", "echo hello; exit 2"}, "hello", 10*time.Second); err == nil {
		t.Error("exit 2 counted as a boot")
	}
	if _, err := boot(context.Background(), []string{"sh", "-c", "echo bye"}, "hello", 10*time.Second); err == nil {
		t.Error("missing text counted as a boot")
	}
	_, err = boot(context.Background(), []string{"sleep", "5"}, "hello", 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no exit within") {
		t.Errorf("timeout: %v", err)
	}
}
