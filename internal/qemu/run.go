package qemu

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Streams connect a guest to the host.
type Streams struct {
	Stdin  io.Reader // to COM1; nil for none
	Stdout io.Writer // from COM1
	Stderr io.Writer // from COM2
	// Record is called for each kernel channel record (COM3) as it arrives, e.g. to show log
	// records with -v. It may be nil.
	Record func(Record)
	// Started, if set, is called once QEMU runs, with the handle to reach the guest.
	Started func(*Guest)
}

// Guest is a running guest: QEMU's process and the host's end of the kernel channel.
type Guest struct {
	Pid int // QEMU's process id

	proc  *os.Process
	once  sync.Once
	ready chan struct{} // closed when QEMU connected COM3, or will not
	mu    sync.Mutex    // serializes requests
	conn  *net.UnixConn // COM3; nil if QEMU never connected
}

func (g *Guest) connected(c *net.UnixConn) {
	g.once.Do(func() {
		g.conn = c
		close(g.ready)
	})
}

// Signal asks the guest's kernel to raise sig in the app (the "signal" request of the kernel
// channel), as kill(2) from outside would.
func (g *Guest) Signal(sig syscall.Signal) error {
	<-g.ready
	if g.conn == nil {
		return errors.New("the guest is not running")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, err := fmt.Fprintf(g.conn, "signal %d\n", int(sig)); err != nil {
		return fmt.Errorf("the guest is not running: %w", err)
	}
	return nil
}

// Kill ends QEMU at once (SIGKILL); the guest's app gets no chance to clean up. Through the
// os.Process, which knows when QEMU has been waited for: its pid may be reused after that.
func (g *Guest) Kill() error { return g.proc.Kill() }

// Record is one line of the kernel channel: kind is "log", "exit" or "fault".
type Record struct {
	Kind, Text string
}

// Result is what happened to a guest.
type Result struct {
	Status   int    // the app's exit status, if Exited
	Exited   bool   // the guest reported an exit status
	OutOfMem string // the kernel's out-of-memory log record, if any
	Faults   []string
	QEMUCode int // QEMU's own exit code
	// QEMUSignal is the signal that killed QEMU, if one did (e.g. SIGKILL from mote kill).
	QEMUSignal syscall.Signal
	QEMUError  string // what QEMU printed on its stderr
}

// Kill grace: after the interrupt, QEMU gets this long to exit on SIGTERM before SIGKILL.
const killGrace = 2 * time.Second

// drainTimeout bounds how long Run waits for the last guest output after QEMU exited; the
// sockets close with QEMU, so this is only a guard against a stuck writer.
const drainTimeout = 5 * time.Second

// Run boots the guest and waits for it to stop. When ctx is cancelled it stops QEMU and returns
// ctx's error. cfg.RunDir must be an existing directory, private to this run.
func Run(ctx context.Context, binary string, cfg Config, s Streams) (*Result, error) {
	var lns [3]*net.UnixListener
	for i, id := range []string{com1, com2, com3} {
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: cfg.SocketPath(id), Net: "unix"})
		if err != nil {
			return nil, fmt.Errorf("serial port socket: %w", err)
		}
		defer ln.Close()
		lns[i] = ln
	}

	var qemuErr bytes.Buffer
	cmd := exec.Command(binary, cfg.Args()...)
	cmd.Stdout = &qemuErr
	cmd.Stderr = &qemuErr
	// Its own process group: a Ctrl-C on the terminal reaches mote, which stops QEMU itself.
	// If mote itself dies (SIGKILL), QEMU goes with it instead of running on unwatched.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	guest := &Guest{Pid: cmd.Process.Pid, proc: cmd.Process, ready: make(chan struct{})}
	defer guest.connected(nil)
	if s.Started != nil {
		s.Started(guest)
	}

	res := &Result{}
	var mu sync.Mutex // guards res while the channel reader runs
	var wg sync.WaitGroup
	serve := func(ln *net.UnixListener, f func(c *net.UnixConn)) {
		wg.Go(func() {
			c, err := ln.AcceptUnix()
			if err != nil {
				return // QEMU exited without connecting
			}
			defer c.Close()
			f(c)
		})
	}
	serve(lns[0], func(c *net.UnixConn) {
		if s.Stdin != nil {
			// Not waited for: a read from a terminal blocks until the user types. A serial
			// line has no end-of-file, so the end of stdin is not passed on.
			go io.Copy(c, s.Stdin)
		}
		copyOut(s.Stdout, c)
	})
	serve(lns[1], func(c *net.UnixConn) { copyOut(s.Stderr, c) })
	serve(lns[2], func(c *net.UnixConn) {
		guest.connected(c)
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if line = strings.TrimRight(line, "\r\n"); line != "" {
				rec := parseRecord(line)
				mu.Lock()
				res.apply(rec)
				mu.Unlock()
				if s.Record != nil {
					s.Record(rec)
				}
			}
			if err != nil {
				return
			}
		}
	})

	var waitErr error
	select {
	case waitErr = <-exited:
	case <-ctx.Done():
		stop(cmd, exited)
		for _, ln := range lns {
			ln.Close()
		}
		return nil, ctx.Err()
	}
	for _, ln := range lns {
		ln.Close() // unblocks an Accept that never got a connection
	}
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
	}

	mu.Lock()
	defer mu.Unlock()
	res.QEMUError = strings.TrimSpace(qemuErr.String())
	var ee *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &ee):
		res.QEMUCode = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.QEMUSignal = ws.Signal()
		}
	default:
		return nil, waitErr
	}
	// Fallback: isa-debug-exit makes QEMU exit with (status<<1)|1. Code 1 is also QEMU's own
	// failure, so only codes from 3 up count.
	if !res.Exited && res.QEMUCode >= 3 && res.QEMUCode&1 == 1 {
		res.Status, res.Exited = res.QEMUCode>>1, true
	}
	return res, nil
}

func copyOut(w io.Writer, r io.Reader) {
	if w == nil {
		w = io.Discard
	}
	io.Copy(w, r)
}

// stop ends QEMU: SIGTERM (QEMU shuts down cleanly), then SIGKILL after killGrace.
func stop(cmd *exec.Cmd, exited <-chan error) {
	pid := cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(killGrace):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
}

func parseRecord(line string) Record {
	kind, text, _ := strings.Cut(line, " ")
	return Record{Kind: kind, Text: text}
}

func (r *Result) apply(rec Record) {
	switch rec.Kind {
	case "exit":
		if n, err := strconv.Atoi(strings.TrimSpace(rec.Text)); err == nil && n >= 0 && n <= 255 && !r.Exited {
			r.Status, r.Exited = n, true
		}
	case "log":
		if strings.HasPrefix(rec.Text, "out of memory") && r.OutOfMem == "" {
			r.OutOfMem = rec.Text
		}
	case "fault":
		if len(r.Faults) < 100 {
			r.Faults = append(r.Faults, rec.Text)
		}
	}
}

// TempRunDir makes a private directory for a run's sockets. Unix socket paths are limited to
// 108 bytes, so it lives in /tmp rather than under a long $TMPDIR.
func TempRunDir() (string, error) {
	base := os.TempDir()
	if len(base) > 40 {
		base = "/tmp"
	}
	return os.MkdirTemp(base, "mote-run-")
}
