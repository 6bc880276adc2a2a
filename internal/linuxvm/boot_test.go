package linuxvm

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mote.dev/mote/internal/linuxvm/bootparam"
)

// bootEnv prepares a kernel, an init and the hello app, or skips the test
// saying what is missing.
func bootEnv(t *testing.T) (kf *KernelFiles, initBin, hello string) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a Linux guest under QEMU; skipped with -short")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not found: apt-get install qemu-system-x86")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	kf, err := Kernel(ctx, KernelOptions{})
	if err != nil {
		t.Skipf("no Debian kernel (needs apt and its network, or a filled cache): %v", err)
	}
	dir := t.TempDir()
	initBin, hello = filepath.Join(dir, "init"), filepath.Join(dir, "hello")
	if err := BuildInit(ctx, initBin); err != nil {
		t.Fatal(err)
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", hello, "./testdata/hello")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building hello: %v\n%s", err, out)
	}
	return kf, initBin, hello
}

// bootHello boots the hello app under vm's machine, with the kernel's
// virtio-net modules in the initramfs when vm.Boot.Net is set, and returns
// the console and the exit status.
func bootHello(t *testing.T, vm VM) (string, int) {
	t.Helper()
	kf, initBin, hello := bootEnv(t)
	vm.Kernel = kf.Vmlinuz
	vm.Initrd = filepath.Join(t.TempDir(), "initramfs")
	c := InitramfsConfig{Init: initBin, App: hello, Gzip: true}
	if vm.Boot.Net != nil {
		c.Modules = kf.Modules
	}
	if err := Initramfs(vm.Initrd, c); err != nil {
		t.Fatal(err)
	}
	khz, err := HostTSCkHz()
	if err != nil {
		t.Fatal(err)
	}
	vm.TSCkHz = khz
	argv, err := Command(vm)
	if err != nil {
		t.Fatal(err)
	}
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
