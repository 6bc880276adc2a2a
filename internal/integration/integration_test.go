// Package integration boots images under QEMU through the real mote commands.
//
// Tests that only need the toolchain run against stand-in kernels (testdata/*kernel at the
// repository root, see scripts/gen-fake-kernels.py); the others boot mote's own kernel. Without
// QEMU the tests skip, except in CI (CI=true), where a missing QEMU is a failure.
package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mote.dev/mote/internal/cli"
	"mote.dev/mote/internal/qemu"
)

// deadline bounds one boot: TCG is several times slower than KVM, and CI machines are small.
const deadline = 10 * time.Minute

func needQEMU(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(qemu.Binary); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing in CI: install qemu-system-x86 (make qemu)", qemu.Binary)
		}
		t.Skipf("%s not installed (apt-get install qemu-system-x86)", qemu.Binary)
	}
}

func repo(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("../..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type result struct {
	stdout, stderr string
	code           int
}

// mote runs the mote command in-process. kernel is a stand-in kernel directory under
// testdata/, or "" for mote's own.
func mote(ctx context.Context, t *testing.T, kernel string, args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	c := &cli.CLI{In: strings.NewReader(""), Out: &out, Err: &errb, CacheDir: t.TempDir()}
	if kernel != "" {
		c.KernelDir = repo(t, "testdata/"+kernel)
	} else {
		c.CacheDir = "" // the user's cache: one unpacked kernel for all tests
	}
	code := cli.Main(ctx, c, args)
	return result{out.String(), errb.String(), code}
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	t.Cleanup(cancel)
	return ctx
}

// machines lists the machine and accelerator pairs to boot on here.
func machines() [][2]string {
	m := [][2]string{{"microvm", "tcg"}, {"q35", "tcg"}}
	if qemu.KVMUsable() == nil {
		m = append(m, [2]string{"microvm", "kvm"}, [2]string{"q35", "kvm"})
	}
	return m
}

func TestRunFakeKernel(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	for _, m := range machines() {
		t.Run(m[0]+"-"+m[1], func(t *testing.T) {
			t.Parallel()
			r := mote(timeout(t), t, "fakekernel", "run", "--machine", m[0], "--accel", m[1], repo(t, "examples/hello"), "--", "world")
			if r.code != 3 {
				t.Errorf("exit %d, want 3 (from the exit record); stderr:\n%s", r.code, r.stderr)
			}
			if r.stdout != "hello from the fake kernel\n" {
				t.Errorf("stdout %q", r.stdout)
			}
			if !strings.Contains(r.stderr, "fake kernel stderr\n") || strings.Contains(r.stderr, "mote: kernel:") {
				t.Errorf("stderr %q", r.stderr)
			}
		})
	}
}

func TestRunImageVerbose(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	ctx := timeout(t)
	img := filepath.Join(t.TempDir(), "hello.img")
	if r := mote(ctx, t, "fakekernel", "build", "-o", img, repo(t, "examples/hello")); r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	r := mote(ctx, t, "", "run", "-v", "--accel", "tcg", img)
	if r.code != 3 || !strings.Contains(r.stderr, "mote: kernel: fake kernel up\n") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestInterrupt(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	ctx, cancel := context.WithCancelCause(timeout(t))
	var out, errb syncBuffer
	c := &cli.CLI{In: strings.NewReader(""), Out: &out, Err: &errb, KernelDir: repo(t, "testdata/hangkernel"), CacheDir: t.TempDir()}
	done := make(chan int, 1)
	go func() { done <- cli.Main(ctx, c, []string{"run", "--accel", "tcg", repo(t, "examples/hello")}) }()
	for !strings.Contains(out.String(), "ready\n") {
		select {
		case code := <-done:
			t.Fatalf("mote exited %d before the guest was ready; stderr:\n%s", code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel(cli.Signal{Signal: syscall.SIGINT})
	select {
	case code := <-done:
		if code != 130 {
			t.Errorf("exit %d after Ctrl-C, want 130; stderr:\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("mote run did not stop after Ctrl-C")
	}
}

func TestOutOfMemory(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "oomkernel", "run", "--accel", "tcg", "-m", "16M", repo(t, "examples/hello"))
	if r.code != 125 || !strings.Contains(r.stderr, "mote: the guest ran out of memory with -m 16M") || !strings.Contains(r.stderr, "-m 256M") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// Acceptance tests against mote's kernel.

func TestHello(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "run", "-e", "GREETING=hi there", repo(t, "examples/hello"), "--", "big", "world")
	if r.code != 0 || !strings.Contains(r.stdout, "hi there, big world!\n") || !strings.Contains(r.stdout, `args: ["big" "world"]`) {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func prog(t *testing.T, name string) string {
	return repo(t, "internal/integration/testdata/progs/"+name)
}

func TestExitStatus(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "run", prog(t, "exit7"))
	if r.code != 7 || r.stdout != "exiting with 7\n" {
		t.Errorf("exit %d, want 7\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestPanic(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "run", prog(t, "panic"))
	for _, want := range []string{"panic: boom\n", "goroutine 1 [running]:\n", "main.explode(", "main.main()", "exit status 2"} {
		if want == "exit status 2" {
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			continue
		}
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestRecoverFaults(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "run", prog(t, "recover"))
	for _, want := range []string{
		"nil: recovered: runtime error: invalid memory address or nil pointer dereference\n",
		"div: recovered: runtime error: integer divide by zero\n",
		"still running\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if r.code != 0 {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestSpinningGoroutine(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(timeout(t), 3*time.Minute)
	defer cancel()
	r := mote(ctx, t, "", "run", prog(t, "spin"))
	if r.code != 0 || r.stdout != "gc done\nticks done\n" {
		t.Errorf("exit %d (a spinning goroutine blocks GC or timers?)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestAllocate1GiB(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "run", "-m", "128M", prog(t, "alloc"))
	var total, live int
	if _, err := fmt.Sscanf(r.stdout, "allocated %d MiB, live heap %d MiB", &total, &live); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v\nstdout:\n%s\nstderr:\n%s", r.code, err, r.stdout, r.stderr)
	}
	if total < 1024 || live > 32 {
		t.Errorf("allocated %d MiB (want >= 1024), live heap %d MiB (want small)", total, live)
	}
}

func TestClock(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	before := time.Now()
	r := mote(timeout(t), t, "", "run", prog(t, "clock"))
	after := time.Now()
	if r.code != 0 || !strings.Contains(r.stdout, "sleeps ok\n") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	line, _, _ := strings.Cut(strings.TrimPrefix(r.stdout, "now "), "\n")
	ns, err := strconv.ParseInt(line, 10, 64)
	if err != nil {
		t.Fatalf("no time in %q", r.stdout)
	}
	guest := time.Unix(0, ns)
	if guest.Before(before.Add(-2*time.Second)) || guest.After(after.Add(2*time.Second)) {
		t.Errorf("guest clock %v is not within 2 s of the host's [%v, %v]", guest, before, after)
	}
}

func TestGoTestStd(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "test", "sort", "--", "-short")
	if r.code != 0 || !strings.Contains(r.stdout, "ok  \tsort\t") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestBadPointers hands the kernel bad pointers: each call fails with EFAULT and the program
// goes on, never a kernel fault.
// TestLazyTail runs a test binary whose image ends in 32 MiB of zero-filled variables (crypto
// links them) in 24 MiB of memory: QEMU then places the test's files, the boot module, under
// the addresses of that unloaded tail, where the kernel reaches them through its alias; the
// heap takes frames from under the tail too.
func TestLazyTail(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "test", "-m", "24M", prog(t, "lazytail"), "--", "-v")
	if r.code != 0 || !strings.Contains(r.stdout, "--- PASS: TestFilesAndHeap") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestBadPointers(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "run", prog(t, "badptr"))
	if r.code != 0 || !strings.HasSuffix(r.stdout, "all EFAULT\n") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestHTTPLoopback serves HTTP on 127.0.0.1 inside the guest and fetches it: sockets through the
// kernel's forwarding to the netstack service, epoll readiness, DNS-free dialling.
func TestHTTPLoopback(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "run", prog(t, "httpself"))
	if r.code != 0 || r.stdout != "200 OK ok from mote\n" {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestUnhandledFault: a fault the program cannot handle ends it with 128+SIGSEGV, the registers,
// and a backtrace that mote symbolizes from the image.
func TestUnhandledFault(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "run", prog(t, "segv"))
	for _, want := range []string{"app killed by signal 11 (SIGSEGV)", "rip 0x", "mote: backtrace:", "main.main+", "segv/main.go:11"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if r.code != 139 {
		t.Errorf("exit %d, want 139\nstderr:\n%s", r.code, r.stderr)
	}
}

// TestPublishHTTP boots examples/http with -p and fetches its page from the host: virtio-net
// (over virtio-mmio on microvm and virtio-pci on q35), the kernel's driver, netstack in the guest
// and mote's user-mode network, end to end.
func TestPublishHTTP(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	for _, machine := range []string{"microvm", "q35"} {
		t.Run(machine, func(t *testing.T) {
			t.Parallel()
			port := freePort(t, "tcp")
			ctx, cancel := context.WithCancel(timeout(t))
			defer cancel()
			done := make(chan result, 1)
			go func() {
				// 24 MiB, below the 47 MiB the image spans: the 32 MiB of zero-filled
				// variables at its end are mapped only when touched.
				done <- mote(ctx, t, "", "run", "--machine", machine, "-m", "24M", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), repo(t, "examples/http"))
			}()
			url := fmt.Sprintf("http://127.0.0.1:%d/ping", port)
			var body string
			for start := time.Now(); time.Since(start) < 5*time.Minute; time.Sleep(200 * time.Millisecond) {
				select {
				case r := <-done:
					t.Fatalf("guest ended early: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
				default:
				}
				resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
				if err != nil {
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				body = string(b)
				break
			}
			cancel()
			r := <-done
			if body != "hello from mote: /ping\n" {
				t.Errorf("GET %s = %q\nstdout:\n%s\nstderr:\n%s", url, body, r.stdout, r.stderr)
			}
			if r.code != 130 {
				t.Errorf("stopping the guest: exit %d, want 130", r.code)
			}
		})
	}
}

// TestFetchFromHost: a program in the guest fetches a page from a server on the host through
// the user-mode network, by the gateway's address (10.0.2.2 is the host's loopback) and by the
// name the network's resolver gives it; a closed port is refused at once.
func TestFetchFromHost(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "host says hi")
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	closed := freePort(t, "tcp")
	r := mote(timeout(t), t, "", "run", prog(t, "fetch"), "--",
		fmt.Sprintf("http://10.0.2.2:%d/", port),
		fmt.Sprintf("http://host.mote.internal:%d/by-name", port),
		fmt.Sprintf("http://10.0.2.2:%d/", closed))
	want := "200 OK \"host says hi\"\n200 OK \"host says hi\"\n"
	if r.code != 1 || !strings.HasPrefix(r.stdout, want) || !strings.Contains(r.stdout, "connection refused") {
		t.Errorf("exit %d (want 1: the last fetch is refused)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// freePort is a host port that was free a moment ago.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestHostname: the guest is named after its image, and on the user-mode network its name
// resolves to its address and host.mote.internal to the host; net.Interfaces lists lo and
// eth0 with their addresses (netlink route dumps).
func TestHostname(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "run", prog(t, "whoami"))
	want := "whoami [10.0.2.15] [10.0.2.2]\n" +
		"1 lo 65536 up|loopback|running 0 [127.0.0.1/8 ::1/128]\n" +
		"2 eth0 1500 up|broadcast|multicast|running 6 [10.0.2.15/24]\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
