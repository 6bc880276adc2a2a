package integration

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mote.dev/mote/internal/cli"
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

// TestDebugGDBPort: with --gdb-port the guest waits for a debugger of one's own on TCP, which
// can stop it in main.main and let it run to its end.
func TestDebugGDBPort(t *testing.T) {
	needQEMU(t)
	needGDB(t)
	t.Parallel()
	ctx := timeout(t)
	port := freePort(t, "tcp")
	done := make(chan result, 1)
	var stderr syncBuffer
	go func() {
		var out syncBuffer
		c := &cli.CLI{In: strings.NewReader(""), Out: &out, Err: &stderr}
		code := cli.Main(ctx, c, []string{"debug", "--accel", "tcg", "--gdb-port", strconv.Itoa(port), repo(t, "examples/hello"), "--", "x"})
		done <- result{out.String(), stderr.String(), code}
	}()
	symbols := regexp.MustCompile(`symbols from (\S+?),? `)
	var img string
	waitFor(t, 5*time.Minute, "the stub's address", func() bool {
		if m := symbols.FindStringSubmatch(stderr.String()); m != nil {
			img = m[1]
			return true
		}
		return false
	})
	cmd := exec.CommandContext(ctx, "gdb", "-batch", "-nx", "-ex", fmt.Sprintf("target remote 127.0.0.1:%d", port),
		"-ex", "break main.main", "-ex", "continue", "-ex", "bt", "-ex", "continue", img)
	out, _ := cmd.CombinedOutput()
	if !regexp.MustCompile(`(?m)^#0\s+main\.main \(\)`).Match(out) {
		t.Errorf("gdb did not stop in main.main:\n%s", out)
	}
	r := <-done
	if r.code != 0 || r.stdout != "hello, x!\nargs: [\"x\"]\n" {
		t.Errorf("the guest after gdb: exit %d, stdout %q\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
