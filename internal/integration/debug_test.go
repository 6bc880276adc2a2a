package integration

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func needGDB(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("gdb"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gdb is missing in CI: apt-get install gdb")
		}
		t.Skip("gdb not installed (apt-get install gdb)")
	}
}

// TestDebugGDB holds a guest at its entry under QEMU's gdb stub, stops it at main.main with
// gdb in batch mode and checks that gdb sees Go: the backtrace, the goroutines and the source.
func TestDebugGDB(t *testing.T) {
	needQEMU(t)
	needGDB(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "debug", "--accel", "tcg", "--batch",
		"--ex", "break main.main", "--ex", "continue", "--ex", "bt", "--ex", "info goroutines",
		"--ex", "list main.main",
		repo(t, "examples/hello"), "--", "world")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^Breakpoint 1, main\.main \(\) at example\.com/hello/main\.go:\d+`),
		regexp.MustCompile(`(?m)^#0\s+main\.main \(\) at example\.com/hello/main\.go`),
		// runtime-gdb.py's listing: the main goroutine runs, the runtime's own wait.
		regexp.MustCompile(`(?m)^\*\s+1 running\s`),
		regexp.MustCompile(`(?m)^\s+2 (waiting|runnable)\s+runtime\.`),
		// The app's source, found through the module path the trimmed image records.
		regexp.MustCompile(`(?m)^\d+\s+greeting := os\.Getenv\("GREETING"\)`),
	} {
		if !want.MatchString(r.stdout) {
			t.Errorf("gdb's output lacks %v:\n%s\nstderr:\n%s", want, r.stdout, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "Python Exception") || strings.Contains(r.stderr, "Missing auto-load") {
		t.Errorf("gdb's Go support failed:\n%s", r.stderr)
	}
}
