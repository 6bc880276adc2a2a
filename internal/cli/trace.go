package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"mote.dev/mote/internal/qemu"
	"mote.dev/mote/internal/strace"
)

// traceStderr is --trace without a file: the trace goes to stderr. (A file of that name is
// ./stderr.)
const traceStderr = "stderr"

// traceDest is --trace's value. Its type has no name, so that the help shows
// --trace[=stderr], an optional value, rather than a required one.
type traceDest string

func (d *traceDest) String() string     { return string(*d) }
func (d *traceDest) Set(s string) error { *d = traceDest(s); return nil }
func (d *traceDest) Type() string       { return "" }

// syscallTracer turns the kernel's "trace" and "sum" records into strace-style lines and a
// summary table (internal/strace), and shows the kernel's unimplemented-syscall notes.
//
// Lines are written by a goroutine of their own, so that a slow terminal never holds up the
// reader of the kernel channel: a kernel whose serial port stays full gives up on it and
// drops bytes.
type syscallTracer struct {
	mu      sync.Mutex
	wake    sync.Cond
	queue   []string // lines not written yet
	closing bool
	done    chan struct{} // closed when the writer has written everything

	out     io.Writer // the trace, or nil
	file    *os.File  // --trace=FILE
	buf     *bufio.Writer
	stderr  io.Writer
	summary bool
	verbose bool // -v shows every log record already
	counts  []strace.Count
	bad     int   // records that did not parse
	badErr  error // the first one's error
}

// newSyscallTracer opens what o asks for: the trace file is created (truncated) before the
// guest boots, so that a bad path fails at once.
func newSyscallTracer(o *vmOptions, stderr io.Writer) (*syscallTracer, error) {
	t := &syscallTracer{stderr: stderr, summary: o.summary, verbose: o.verbose, done: make(chan struct{})}
	t.wake.L = &t.mu
	switch o.trace {
	case "":
	case traceStderr:
		t.out = stderr
	default:
		f, err := os.Create(o.trace)
		if err != nil {
			return nil, &StatusError{Code: exitFailure, Msg: fmt.Sprintf("--trace: %v; give a file in a writable directory, or --trace alone for stderr", err)}
		}
		t.file, t.buf = f, bufio.NewWriter(f)
		t.out = t.buf
	}
	go t.write()
	return t, nil
}

// write writes queued lines until finish.
func (t *syscallTracer) write() {
	defer close(t.done)
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		for len(t.queue) == 0 && !t.closing {
			t.wake.Wait()
		}
		if len(t.queue) == 0 {
			return
		}
		lines := t.queue
		t.queue = nil
		t.mu.Unlock()
		for _, l := range lines {
			io.WriteString(t.out, l)
		}
		t.mu.Lock()
	}
}

// emit queues a line for the trace.
func (t *syscallTracer) emit(line string) {
	t.queue = append(t.queue, line)
	t.wake.Signal()
}

// record handles one kernel channel record.
func (t *syscallTracer) record(r qemu.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch r.Kind {
	case "trace":
		if t.out == nil {
			return
		}
		c, err := strace.ParseCall(r.Text)
		if err != nil {
			t.badRecord(err)
			return
		}
		t.emit(strace.Format(c) + "\n")
	case "sum":
		c, err := strace.ParseCount(r.Text)
		if err != nil {
			t.badRecord(err)
			return
		}
		t.counts = append(t.counts, c)
	case "log":
		// A missing system call often explains a failure, so it is shown without -v too,
		// and in the trace where the ENOSYS result appears. The kernel names each once.
		if !strings.HasPrefix(r.Text, "unimplemented syscall ") {
			return
		}
		note := "mote: kernel: " + r.Text + "\n"
		switch {
		case t.file != nil:
			t.emit(note)
			if !t.verbose {
				io.WriteString(t.stderr, note)
			}
		case t.verbose: // shown with the other log records
		case t.out != nil:
			t.emit(note) // in order with the trace on stderr
		default:
			io.WriteString(t.stderr, note)
		}
	}
}

func (t *syscallTracer) badRecord(err error) {
	if t.bad == 0 {
		t.badErr = err
	}
	t.bad++
}

// drain waits until the trace is written; the guest must have stopped.
func (t *syscallTracer) drain() {
	t.mu.Lock()
	t.closing = true
	t.wake.Signal()
	t.mu.Unlock()
	<-t.done
}

// finish prints the summary, if asked for, and closes the trace file. exited says whether
// the app exited (the kernel sends its counts then).
func (t *syscallTracer) finish(exited bool) error {
	t.drain()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bad > 0 {
		fmt.Fprintf(t.stderr, "mote: %d kernel records could not be read, the first: %v\n", t.bad, t.badErr)
	}
	if t.summary {
		switch {
		case len(t.counts) > 0:
			strace.WriteSummary(t.stderr, t.counts)
		case !exited:
			fmt.Fprintln(t.stderr, "mote: no system-call summary: the guest stopped before the app exited")
		}
	}
	if t.file == nil {
		return nil
	}
	err := t.buf.Flush()
	if cerr := t.file.Close(); err == nil {
		err = cerr
	}
	return err
}
