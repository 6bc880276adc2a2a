package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestTraceHello: --trace shows examples/hello's system calls decoded as strace does, on stderr
// or, with --trace=FILE, in the file only.
func TestTraceHello(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	// The runtime starts on thread 1; main may run on any thread after that.
	want := []string{
		`[tid 1] openat(AT_FDCWD, "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", O_RDONLY) = -1 ENOENT (No such file or directory) <`,
		`] write(1, "hello, world!\n", 14) = 14 <`,
		`] exit_group(0) = ?`,
		`[tid 1] mmap(NULL, 262144, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x`,
		`[tid 1] prlimit64(0, RLIMIT_NOFILE, NULL, 0x`,
	}
	// The runtime reads the clock through the vDSO, without a system call.
	const vdso = "clock_gettime("
	t.Run("stderr", func(t *testing.T) {
		t.Parallel()
		r := mote(timeout(t), t, "", "run", "--trace", repo(t, "examples/hello"), "--", "world")
		if r.code != 0 || r.stdout != "hello, world!\nargs: [\"world\"]\n" {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		for _, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("trace lacks %q:\n%s", w, r.stderr)
			}
		}
		if strings.Contains(r.stderr, vdso) {
			t.Errorf("clock_gettime trapped instead of running in the vDSO:\n%s", r.stderr)
		}
	})
	t.Run("file", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "trace.txt")
		r := mote(timeout(t), t, "", "run", "--trace="+file, repo(t, "examples/hello"), "--", "world")
		if r.code != 0 {
			t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "[tid ") {
			t.Errorf("--trace=FILE also traced on stderr:\n%s", r.stderr)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("trace file lacks %q:\n%s", w, b)
			}
		}
	})
}

// TestTraceBadPointer: a pointer the kernel cannot read shows as its address in the trace, and
// tracing it does not disturb the call or the kernel.
func TestTraceBadPointer(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "run", "--trace", prog(t, "badptr"))
	if r.code != 0 || !strings.Contains(r.stdout, "all EFAULT\n") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"] write(1, 0x10, 10) = -1 EFAULT (Bad address) <",
		"] write(1, 0x8000000000000008, 10) = -1 EFAULT (Bad address) <",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
}

// TestSyscallSummary: the summary counts exactly the getppid calls the program makes, and the
// trace of the same run agrees.
func TestSyscallSummary(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	const n = 777
	file := filepath.Join(t.TempDir(), "trace.txt")
	r := mote(timeout(t), t, "", "run", "--syscall-summary", "--trace="+file, prog(t, "getppid"), "--", strconv.Itoa(n))
	if r.code != 0 || r.stdout != "made 777 getppid calls\n" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// % time     seconds  usecs/call     calls    errors syscall
	row := regexp.MustCompile(`(?m)^ *[0-9.]+ +[0-9.]+ +\d+ +(\d+) +(\d*) +getppid$`).FindStringSubmatch(r.stderr)
	if row == nil {
		t.Fatalf("no getppid row in the summary:\n%s", r.stderr)
	}
	if row[1] != strconv.Itoa(n) || row[2] != "" {
		t.Errorf("getppid: %s calls, errors %q; want %d calls and none\n%s", row[1], row[2], n, r.stderr)
	}
	if !strings.Contains(r.stderr, "% time     seconds  usecs/call     calls    errors syscall\n") ||
		!regexp.MustCompile(`(?m)^100\.00 +[0-9.]+ +\d+ +\d+ total$`).MatchString(r.stderr) {
		t.Errorf("summary header or total missing:\n%s", r.stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), "] getppid() = 0 <"); got != n {
		t.Errorf("the trace shows %d getppid calls, want %d", got, n)
	}
}

// TestKernelFault: a fault in the kernel while it serves a system call (the kernel's crash test
// call) gives the fault, the registers, symbolized kernel and app backtraces and exit 125.
// Without crashtest=1 the call is an unimplemented one, named on stderr.
func TestKernelFault(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	t.Run("crash", func(t *testing.T) {
		t.Parallel()
		r := mote(timeout(t), t, "", "run", "--kernel-arg", "crashtest=1", prog(t, "kcrash"))
		for _, want := range []string{
			"mote: kernel fault: page fault (vector 14)", "cr2 0x0000000ffffff000",
			"rax 0x", "r15 0x", "in system call (19967) of thread 1",
			"mote: kernel backtrace:\n", "mote.dev/mote/kernel.trap+",
			"mote: app backtrace, at its system call:\n", "main.crash+", "kcrash/main.go:14", "main.main+",
			"mote: the kernel crashed (page fault",
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q", want)
			}
		}
		if r.code != 125 || strings.Contains(r.stdout, "did not crash") {
			t.Errorf("exit %d, want 125\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		t.Parallel()
		r := mote(timeout(t), t, "", "run", prog(t, "kcrash"))
		if r.code != 0 || r.stdout != "the kernel did not crash: function not implemented\n" ||
			!strings.Contains(r.stderr, "mote: kernel: unimplemented syscall 19967\n") {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
}
