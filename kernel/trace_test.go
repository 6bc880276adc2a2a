package kernel

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestTraceEscape(t *testing.T) {
	var out []byte
	for _, c := range []byte("a b%\n~\x00\xff") {
		e, n := traceEscape(c)
		out = append(out, e[:n]...)
	}
	if got, want := string(out), "a%20b%25%0a~%00%ff"; got != want {
		t.Errorf("escaped %q, want %q", got, want)
	}
}

// TestTraceMemTable: every memory argument the kernel copies is one the call has.
func TestTraceMemTable(t *testing.T) {
	for nr, m := range traceMemTable {
		if m.paths>>6 != 0 || m.buf > 6 || m.buf != 0 && m.bufLen == 0 || m.bufLen > 6 && m.bufLen != lenResult ||
			m.st > 6 || m.st != 0 && (m.stLen == 0 || m.stLen > traceBufMax) || m.st != 0 && (m.paths&(1<<(m.st-1)) != 0 || m.st == m.buf) {
			t.Errorf("syscall %d: bad entry %+v", nr, m)
		}
	}
}

// TestNoWriteBarriers checks that the kernel stores no pointers where the compiler would add a
// write barrier: while the app's garbage collector runs, a barrier calls into the Go runtime
// from the trap path, which has no P and no buffers, and faults.
func TestNoWriteBarriers(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the kernel")
	}
	cmd := exec.Command("go", "build", "-gcflags=-d=wb", "-o", os.DevNull, ".")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "write barrier") {
			t.Errorf("pointer store in the kernel: %s", line)
		}
	}
}
