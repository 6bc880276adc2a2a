package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mote.dev/mote/internal/qemu"
)

func feed(tr *syscallTracer, records ...string) {
	for _, r := range records {
		kind, text, _ := strings.Cut(r, " ")
		tr.record(qemu.Record{Kind: kind, Text: text})
	}
}

func TestSyscallTracerStderr(t *testing.T) {
	var stderr bytes.Buffer
	tr, err := newSyscallTracer(&vmOptions{trace: traceStderr, summary: true}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	feed(tr,
		"trace 1 1 14 5000 1 c000 e 0 0 0 1=hello,%20world!%0a",
		"log unimplemented syscall io_uring_setup (425)",
		"log something else",
		"trace 1 zz",
		"sum 1 1 0 5000",
		"sum 39 3 1 1000",
		"trace 1 231 ? 0 0 0 0 0 0 0",
	)
	if err := tr.finish(true); err != nil {
		t.Fatal(err)
	}
	out := stderr.String()
	for _, want := range []string{
		"[tid 1] write(1, \"hello, world!\\n\", 14) = 14 <0.000005>\nmote: kernel: unimplemented syscall io_uring_setup (425)\n[tid 1] exit_group(0) = ?\n",
		"mote: 1 kernel records could not be read, the first: trace record \"1 zz\"",
		" 83.33    0.000005           5         1           write\n",
		"     3         1 getpid\n",
		"100.00    0.000006                     4         1 total\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "something else") {
		t.Errorf("an ordinary log record shown without -v:\n%s", out)
	}
}

func TestSyscallTracerFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "trace")
	var stderr bytes.Buffer
	tr, err := newSyscallTracer(&vmOptions{trace: file, summary: true}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	feed(tr, "trace 2 39 1 0 0 0 0 0 0 0", "log unimplemented syscall 19967")
	if err := tr.finish(false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "[tid 2] getpid() = 1 <0.000000>\nmote: kernel: unimplemented syscall 19967\n"; got != want {
		t.Errorf("trace file %q, want %q", got, want)
	}
	if got, want := stderr.String(), "mote: kernel: unimplemented syscall 19967\nmote: no system-call summary: the guest stopped before the app exited\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if _, err := newSyscallTracer(&vmOptions{trace: filepath.Join(file, "x")}, &stderr); err == nil || !strings.Contains(err.Error(), "--trace alone for stderr") {
		t.Errorf("a trace file that cannot be made: %v", err)
	}
}

func TestCrashReportWithoutImage(t *testing.T) {
	var w bytes.Buffer
	msg := printCrashReport(&w, filepath.Join(t.TempDir(), "missing.img"), []string{
		"mote: kernel fault: page fault (vector 14) error 0x0 at rip 0x1 cr2 0x2",
		"backtrace kernel", "pc 0x0000000000000001", "ret 0x0000000000000002",
	})
	if !strings.Contains(msg, "the kernel crashed (page fault (vector 14) error 0x0 at rip 0x1 cr2 0x2)") {
		t.Errorf("message %q", msg)
	}
	if !strings.Contains(w.String(), "mote: cannot symbolize the backtrace") {
		t.Errorf("output %q", w.String())
	}
	if msg := printCrashReport(&w, "", []string{"backtrace app"}); msg != "" {
		t.Errorf("an app's crash gave the kernel's message %q", msg)
	}
}
