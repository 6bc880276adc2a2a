package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// runMote runs the real command tree against buffers, with a stand-in kernel.
func runMote(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	kdir, err := filepath.Abs("../../testdata/fakekernel")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	c := &CLI{In: strings.NewReader(""), Out: &out, Err: &errb, KernelDir: kdir, CacheDir: t.TempDir(), QEMU: os.Getenv("MOTE_TEST_QEMU")}
	code = Main(context.Background(), c, args)
	return out.String(), errb.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n got: %s\nwant: %s", name, path, got, want)
	}
}

// normalize replaces what differs between machines and runs in a QEMU command line.
func normalize(s string) string {
	for _, r := range []struct{ re, with string }{
		{`-kernel \S+`, "-kernel IMAGE"},
		{`-initrd \S+`, "-initrd FILES"},
		{`tsc_khz=\d+`, "tsc_khz=N"},
		{`-accel (kvm|tcg) -cpu (host|max)`, "-accel ACCEL -cpu CPU"},
		{`path=\S+/mote-run-XXXXXX/`, "path=RUNDIR/"},
		{`cwd=\S+?/testdata/`, "cwd=.../testdata/"},
		{`rw=\S+?/testdata/`, "rw=.../testdata/"},
		{`-bios \S+|-fw_cfg \S+`, "FIRMWARE"},
	} {
		s = regexp.MustCompile(r.re).ReplaceAllString(s, r.with)
	}
	return s
}

func TestDryRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with the go command")
	}
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"run-hello", []string{"run", "--dry-run", "../../examples/hello", "--", "two words", "100%"}},
		{"run-q35-tcg", []string{"run", "--dry-run", "--machine", "q35", "--accel", "tcg", "-m", "1G", "-e", "GREETING=hi there", "../../examples/hello"}},
		// --trace alone takes no value: the package after it stays the package.
		{"run-trace", []string{"run", "--dry-run", "--trace", "--syscall-summary", "--kernel-arg", "crashtest=1", "../../examples/hello"}},
		{"test-pkg", []string{"test", "--dry-run", "./testdata/testpkg", "--", "-run", "TestX", "-v", "-count=1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := runMote(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			if errOut != "" {
				t.Errorf("stderr: %s", errOut)
			}
			golden(t, tc.name, normalize(out))
		})
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"", "build", "run", "test", "compare", "init"} {
		args := []string{"--help"}
		if cmd != "" {
			args = []string{cmd, "--help"}
		}
		out, _, code := runMote(t, args...)
		if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "Usage:") {
			t.Errorf("mote %s --help: exit %d, output:\n%s", cmd, code, out)
		}
	}
}

func TestErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	t.Parallel()
	notImage := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notImage, []byte("just text\n"), 0o644)
	elfOnly := filepath.Join(t.TempDir(), "true")
	if b, err := os.ReadFile("/bin/true"); err == nil {
		os.WriteFile(elfOnly, b, 0o755)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no package", []string{"build"}, 2, "mote build takes one package"},
		{"library", []string{"build", "../../internal/image"}, 1, "is package image, not a command"},
		{"cgo", []string{"build", "./testdata/cgoprog"}, 1, `uses cgo (main.go imports "C")`},
		{"missing", []string{"build", "./testdata/nothing-here"}, 1, "no such directory"},
		{"text file", []string{"run", "--dry-run", notImage}, 125, "is not a mote image (build one with: mote build"},
		{"plain ELF", []string{"run", "--dry-run", elfOnly}, 125, "is not a mote image"},
		{"small memory", []string{"run", "--dry-run", "-m", "4M", "../../examples/hello"}, 2, "-m 4M is below the 8M a mote guest needs to boot"},
		{"bad tmpfs size", []string{"run", "--dry-run", "--tmpfs-size", "lots", "../../examples/hello"}, 2, `--tmpfs-size "lots": want a size such as 64M`},
		{"bad memory", []string{"run", "--dry-run", "-m", "lots", "../../examples/hello"}, 2, `bad memory size "lots"`},
		{"no qemu", []string{"run", "../../examples/hello"}, 125, "apt-get install qemu-system-x86"},
		{"bad env", []string{"run", "--dry-run", "-e", "=x", "../../examples/hello"}, 2, "want KEY=VALUE"},
		{"bad machine", []string{"run", "--dry-run", "--machine", "pc", "../../examples/hello"}, 2, "unknown machine"},
		{"bad accel", []string{"run", "--dry-run", "--accel", "hvf", "../../examples/hello"}, 2, "unknown accelerator"},
		{"bad kernel arg", []string{"run", "--dry-run", "--kernel-arg", "crashtest", "../../examples/hello"}, 2, `--kernel-arg "crashtest": want KEY=VALUE`},
		{"args without dash", []string{"run", "../../examples/hello", "world"}, 2, "put the program's arguments after --"},
		{"unknown command", []string{"deploy"}, 2, `unknown command "deploy"`},
		{"unknown flag", []string{"run", "--nope"}, 2, "unknown flag: --nope"},
		{"bad version spec", []string{"build", "example.com/x@"}, 1, "a versioned package is written"},
		{"compare no package", []string{"compare"}, 2, "mote compare takes one package"},
		{"compare bad way", []string{"compare", "--ways", "process,docker", "../../examples/http"}, 2, `--ways: unknown way "docker" (use process, container, linuxvm, mote)`},
		{"compare bad concurrency", []string{"compare", "--concurrency", "8,0", "../../examples/http"}, 2, "--concurrency wants numbers of at least 1"},
		{"compare bad duration", []string{"compare", "--duration", "0s", "../../examples/http"}, 2, "--duration must be more than 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut string
			var code int
			if tc.name == "no qemu" {
				kdir, _ := filepath.Abs("../../testdata/fakekernel")
				var o, e bytes.Buffer
				c := &CLI{Out: &o, Err: &e, KernelDir: kdir, CacheDir: t.TempDir(), QEMU: "qemu-system-x86_64-not-installed"}
				code = Main(context.Background(), c, tc.args)
				out, errOut = o.String(), e.String()
			} else {
				out, errOut, code = runMote(t, tc.args...)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.want)
			}
			if !strings.HasPrefix(errOut, "mote: ") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 && !strings.Contains(errOut, "# ") {
				t.Errorf("want one line starting with \"mote: \", got:\n%s", errOut)
			}
			if strings.Contains(errOut+out, "goroutine ") {
				t.Errorf("output has a Go stack trace:\n%s", errOut)
			}
		})
	}
}

func TestTestBinaryArgs(t *testing.T) {
	got := strings.Join(TestBinaryArgs([]string{"-v", "-run", "TestX", "--count=2", "-timeout=1m", "-myflag", "x"}), " ")
	want := "-test.paniconexit0 -test.v -test.run TestX --test.count=2 -test.timeout=1m -myflag x"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got = strings.Join(TestBinaryArgs(nil), " ")
	if got != "-test.paniconexit0 -test.timeout=10m0s" {
		t.Errorf("defaults: %s", got)
	}
}

func TestMergeEnv(t *testing.T) {
	got := strings.Join(mergeEnv([]string{"A=1", "B=2"}, []string{"B=3", "C=4"}), " ")
	if got != "A=1 B=3 C=4" {
		t.Errorf("mergeEnv: %s", got)
	}
}

func TestHostName(t *testing.T) {
	for in, want := range map[string]string{
		"http":                  "http",
		"My_App.v2":             "my-app-v2",
		"--web--":               "web",
		"":                      "",
		"___":                   "",
		strings.Repeat("a", 70): strings.Repeat("a", 63),
	} {
		if got := hostName(in); got != want {
			t.Errorf("hostName(%q) = %q, want %q", in, got, want)
		}
	}
}
