package qemu

import (
	"bufio"
	"net"
	"path/filepath"
	"syscall"
	"testing"
)

// TestGuestSignal: a signal request is one "signal N" line on the kernel channel; a guest that
// never connected it refuses requests instead of hanging.
func TestGuestSignal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "com3.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	kernel, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer kernel.Close()
	host, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()

	g := &Guest{ready: make(chan struct{})}
	g.connected(host)
	g.connected(nil) // a second call (Run's deferred one) changes nothing
	if err := g.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(kernel).ReadString('\n')
	if err != nil || line != "signal 15\n" {
		t.Errorf("the kernel read %q, %v", line, err)
	}

	gone := &Guest{ready: make(chan struct{})}
	gone.connected(nil)
	if err := gone.Signal(syscall.SIGTERM); err == nil {
		t.Error("a guest without a kernel channel took a signal")
	}
}
