package kernel

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// These tests run on the host: the functions they cover are pure.

func TestPercentDecode(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a%20b", "a b"},
		{"KEY%3Dv%25", "KEY=v%"},
		{"bad%zzescape", "bad%zzescape"},
		{"trailing%2", "trailing%2"},
		{"%e2%82%ac", "€"},
	} {
		b := []byte(c.in)
		n := percentDecode(b)
		if got := string(b[:n]); got != c.want {
			t.Errorf("percentDecode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDaysFromCivil(t *testing.T) {
	for _, d := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
	} {
		got := daysFromCivil(int64(d.Year()), int64(d.Month()), int64(d.Day()))
		if want := d.Unix() / 86400; got != want {
			t.Errorf("daysFromCivil(%v) = %d, want %d", d.Format(time.DateOnly), got, want)
		}
	}
}

func TestParseCmdline(t *testing.T) {
	cmdLen = copy(cmdBuf[:], "arg=/app arg=a%20b env=K%3DV tsc_khz=2600000 cwd=/src/x junk  arg=")
	nargv, nenvv, cwd, tscKHz = 0, 0, span{}, 0
	parseCmdline()
	var args []string
	for _, s := range argv[:nargv] {
		args = append(args, string(s.bytes()))
	}
	if len(args) != 3 || args[0] != "/app" || args[1] != "a b" || args[2] != "" {
		t.Errorf("argv = %q", args)
	}
	if nenvv != 1 || string(envv[0].bytes()) != "K=V" {
		t.Errorf("env = %q", envv[:nenvv])
	}
	if tscKHz != 2600000 || string(cwd.bytes()) != "/src/x" {
		t.Errorf("tsc_khz %d, cwd %q", tscKHz, cwd.bytes())
	}
}

// TestNoHeapOnTrapPath checks that nothing in the kernel package escapes to the heap: the
// kernel runs before and beside the Go runtime, where an allocation would crash the machine.
func TestNoHeapOnTrapPath(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the kernel")
	}
	cmd := exec.Command("go", "build", "-gcflags=-m", "-o", os.DevNull, ".")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "_test.go") {
			continue
		}
		if strings.Contains(line, "escapes to heap") || strings.Contains(line, "moved to heap") {
			t.Errorf("heap use in the kernel: %s", line)
		}
	}
}
