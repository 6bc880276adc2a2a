package linuxvm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mote.dev/mote/internal/linuxvm/bootparam"
)

// helloCommand prepares a guest for the testdata/hello app and returns the
// QEMU argv that boots it on vm's machine with vm.Boot's argv, env and
// network. It skips the test, saying what is missing, when there is no QEMU
// or no kernel.
func helloCommand(t *testing.T, vm VM) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a Linux guest under QEMU; skipped with -short")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not found: apt-get install qemu-system-x86")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if _, err := Kernel(ctx, KernelOptions{}); err != nil {
		t.Skipf("no Debian kernel (needs apt and its network, or a filled cache): %v", err)
	}
	hello := filepath.Join(t.TempDir(), "hello")
	build := exec.CommandContext(ctx, "go", "build", "-o", hello, "./testdata/hello")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building hello: %v\n%s", err, out)
	}
	g, err := Prepare(ctx, GuestOptions{App: hello, Net: vm.Boot.Net != nil, Gzip: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if vm, err = g.VM(vm.Machine, vm.Boot, vm.Forwards...); err != nil {
		t.Fatal(err)
	}
	argv, err := Command(vm)
	if err != nil {
		t.Fatal(err)
	}
	return argv
}

// bootHello boots as helloCommand says and returns the console and the exit
// status.
func bootHello(t *testing.T, vm VM) (string, int) {
	t.Helper()
	argv := helloCommand(t, vm)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	status, err := ExitStatus(cmd.Run())
	t.Logf("%s\nboot and run: %v\n%s", strings.Join(argv, " "), time.Since(start), out.String())
	if err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, out.String())
	}
	return out.String(), status
}

func TestBootHello(t *testing.T) {
	out, status := bootHello(t, VM{
		Machine: Machine{Type: "microvm", Accel: "tcg", MemoryMiB: 128},
		Boot:    bootparam.Config{Args: []string{"hello", "two words", "exit=3"}, Env: []string{"GREETING=hi there"}},
	})
	for _, want := range []string{`hello ["hello" "two words" "exit=3"]`, `env "hi there"`, "bye"} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if status != 3 {
		t.Errorf("exit status %d, want 3", status)
	}
}

func TestBootHelloNet(t *testing.T) {
	for _, machine := range []string{"microvm", "q35"} {
		t.Run(machine, func(t *testing.T) {
			out, status := bootHello(t, VM{
				Machine: Machine{Type: machine, Accel: "tcg", MemoryMiB: 128},
				Boot:    bootparam.Config{Args: []string{"hello", "net"}, Net: bootparam.UserNet()},
			})
			for _, want := range []string{"if eth0 true [10.0.2.15/24", "if lo true", `00000000\t0202000A`, "nameserver 10.0.2.3"} {
				if !strings.Contains(out, want) {
					t.Errorf("console lacks %q", want)
				}
			}
			if status != 0 {
				t.Errorf("exit status %d, want 0", status)
			}
		})
	}
}

// TestBootServe reaches an HTTP server in the guest through QEMU's port
// forward on 127.0.0.1, as mote compare will.
func TestBootServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	argv := helloCommand(t, VM{
		Machine:  Machine{Type: "microvm", Accel: "tcg", MemoryMiB: 128},
		Boot:     bootparam.Config{Args: []string{"hello", "serve"}, Net: bootparam.UserNet()},
		Forwards: []Forward{{HostPort: port, GuestPort: 8080}},
	})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	client := &http.Client{Timeout: 500 * time.Millisecond} // a SYN the guest never saw is not retried soon
	var body string
	for body == "" {
		select {
		case err := <-exited:
			t.Fatalf("guest exited (%v) before answering:\n%s", err, out.String())
		case <-ctx.Done():
			t.Fatalf("no answer from %s:\n%s", url, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		// Until the app listens, QEMU accepts and then drops the connection,
		// or holds it while the guest has no eth0 yet.
		if resp, err := client.Get(url); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %s", url, resp.Status)
			}
			body = string(b)
		}
	}
	t.Logf("first HTTP answer after %v", time.Since(start))
	resp, err := (&http.Client{Timeout: time.Minute}).Get(url + "exit")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	status, err := ExitStatus(<-exited)
	if err != nil || status != 0 || body != "ok\n" {
		t.Errorf("body %q, status %d, %v\nconsole:\n%s", body, status, err, out.String())
	}
}
