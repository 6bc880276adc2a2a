package cli

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// Tests of debug, metrics, stats and pprof that need no guest.

func runMoteState(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	kdir, err := filepath.Abs("../../testdata/fakekernel")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	c := &CLI{In: strings.NewReader(""), Out: &out, Err: &errb, KernelDir: kdir, CacheDir: t.TempDir(), StateDir: t.TempDir()}
	code = Main(context.Background(), c, args)
	return out.String(), errb.String(), code
}

func TestObserveHelp(t *testing.T) {
	for _, cmd := range []string{"debug", "metrics", "stats", "pprof"} {
		out, _, code := runMoteState(t, cmd, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "Usage:") {
			t.Errorf("mote %s --help: exit %d, output:\n%s", cmd, code, out)
		}
	}
}

func TestObserveErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"metrics unknown", []string{"metrics", "web"}, 1, "metrics web: no such instance; mote ps -a lists them"},
		{"metrics no name", []string{"metrics"}, 2, "mote metrics takes one instance name"},
		{"metrics both", []string{"metrics", "--metrics-addr", "127.0.0.1:0", "web"}, 2, "mote metrics takes one instance name"},
		{"pprof unknown", []string{"pprof", "web"}, 1, "pprof web: no such instance"},
		{"pprof two kinds", []string{"pprof", "--heap", "--goroutine", "web"}, 2, "give one of --cpu, --heap, --goroutine and --allocs"},
		{"pprof cpu zero", []string{"pprof", "--cpu", "0", "web"}, 2, "--cpu 0: give the profile's duration in seconds"},
		{"stats unknown", []string{"stats", "--no-stream", "web"}, 1, "stats web: no such instance"},
		{"debug port", []string{"debug", "--gdb-port", "http", "../../examples/hello"}, 2, `--gdb-port "http": want PORT or HOST:PORT`},
		{"debug batch and port", []string{"debug", "--batch", "--gdb-port", "1234", "../../examples/hello"}, 2, "--batch and --ex are for the gdb mote launches"},
		{"debug args", []string{"debug", "../../examples/hello", "x"}, 2, "put the program's arguments after --"},
		{"run metrics port", []string{"run", "--metrics-addr", "256.0.0.1:1", "../../examples/hello"}, 1, "--metrics-addr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := runMoteState(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q, want %q", code, tc.code, errOut, tc.want)
			}
			if strings.Contains(errOut, "goroutine 1 [") {
				t.Errorf("a Go stack trace:\n%s", errOut)
			}
		})
	}
}

// TestDebugDryRun: the guest is held at entry behind a gdb stub.
func TestDebugDryRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with the go command")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	for _, tc := range []struct {
		args []string
		gdb  string
	}{
		{[]string{"debug", "--dry-run", "../../examples/hello"}, "-gdb unix:"},
		{[]string{"debug", "--dry-run", "--gdb-port", port, "../../examples/hello"}, "-gdb tcp:127.0.0.1:" + port},
	} {
		out, errOut, code := runMoteState(t, tc.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", tc.args, code, errOut)
		}
		if !strings.Contains(out, tc.gdb) || !strings.Contains(out, " -S ") {
			t.Errorf("%v: no held guest with a stub (%s ... -S):\n%s", tc.args, tc.gdb, out)
		}
	}
}
