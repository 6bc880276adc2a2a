package cli

import (
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
type syscallTracer struct {
	mu      sync.Mutex
	out     io.Writer // the trace, or nil
	file    *os.File  // --trace=FILE
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
	t := &syscallTracer{stderr: stderr, summary: o.summary, verbose: o.verbose}
	switch o.trace {
	case "":
	case traceStderr:
		t.out = stderr
	default:
		f, err := os.Create(o.trace)
		if err != nil {
			return nil, &StatusError{Code: exitFailure, Msg: fmt.Sprintf("--trace: %v; give a file in a writable directory, or --trace alone for stderr", err)}
		}
		t.file, t.out = f, f
	}
	return t, nil
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
		fmt.Fprintln(t.out, strace.Format(c))
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
		if strings.HasPrefix(r.Text, "unimplemented syscall ") {
			if !t.verbose {
				fmt.Fprintf(t.stderr, "mote: kernel: %s\n", r.Text)
			}
			if t.out != nil && t.out != t.stderr {
				fmt.Fprintf(t.out, "mote: kernel: %s\n", r.Text)
			}
		}
	}
}

func (t *syscallTracer) badRecord(err error) {
	if t.bad == 0 {
		t.badErr = err
	}
	t.bad++
}

// finish prints the summary, if asked for, and closes the trace file. exited says whether
// the app exited (the kernel sends its counts then).
func (t *syscallTracer) finish(exited bool) error {
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
	if t.file != nil {
		return t.file.Close()
	}
	return nil
}
