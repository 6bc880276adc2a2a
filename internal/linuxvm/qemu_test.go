package linuxvm

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"mote.dev/mote/internal/linuxvm/bootparam"
)

func TestCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		vm   VM
		want string
	}{
		{"defaults", VM{Kernel: "vmlinuz", Initrd: "initrd"},
			"qemu-system-x86_64 -M microvm -nodefaults -no-user-config -nographic -no-reboot -m 128 -cpu max -accel tcg " +
				"-serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -global virtio-mmio.force-legacy=false " +
				"-kernel vmlinuz -initrd initrd -append console=ttyS0 panic=-1 quiet"},
		{"microvm net", VM{
			Machine: Machine{MemoryMiB: 80}, Kernel: "k", Initrd: "i", TSCkHz: 2599998,
			Boot:     bootparam.Config{Args: []string{"/app", "a b"}, Net: bootparam.UserNet()},
			Forwards: []Forward{{8080, 80}, {2222, 22}},
		},
			"qemu-system-x86_64 -M microvm -nodefaults -no-user-config -nographic -no-reboot -m 80 -cpu max -accel tcg " +
				"-serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -global virtio-mmio.force-legacy=false " +
				"-kernel k -initrd i -append console=ttyS0 panic=-1 quiet tsc_early_khz=2599998 " +
				"mote.arg=/app mote.arg=a%20b mote.ip=10.0.2.15/24 mote.gw=10.0.2.2 mote.dns=10.0.2.3 " +
				"-netdev user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=tcp:127.0.0.1:2222-:22 -device virtio-net-device,netdev=n0"},
		{"q35 kvm net", VM{
			Machine: Machine{QEMU: "/opt/qemu", Type: "q35", Accel: "kvm", MemoryMiB: 256}, Kernel: "k", Initrd: "i",
			Boot: bootparam.Config{Net: bootparam.UserNet()}, Append: []string{"loglevel=0"},
		},
			"/opt/qemu -M q35 -nodefaults -no-user-config -nographic -no-reboot -m 256 -cpu host -accel kvm " +
				"-serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 " +
				"-kernel k -initrd i -append console=ttyS0 panic=-1 quiet loglevel=0 " +
				"mote.ip=10.0.2.15/24 mote.gw=10.0.2.2 mote.dns=10.0.2.3 " +
				"-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile="},
		{"net socket", VM{
			Kernel: "k", Initrd: "i", Boot: bootparam.Config{Net: bootparam.UserNet()}, NetSocket: "/run/a,b/net.sock",
		},
			"qemu-system-x86_64 -M microvm -nodefaults -no-user-config -nographic -no-reboot -m 128 -cpu max -accel tcg " +
				"-serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -global virtio-mmio.force-legacy=false " +
				"-kernel k -initrd i -append console=ttyS0 panic=-1 quiet " +
				"mote.ip=10.0.2.15/24 mote.gw=10.0.2.2 mote.dns=10.0.2.3 " +
				"-netdev stream,id=n0,server=off,addr.type=unix,addr.path=/run/a,,b/net.sock -device virtio-net-device,netdev=n0"},
	} {
		argv, err := Command(tc.vm)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		// -append's value is one argument.
		for i, a := range argv {
			if i > 0 && argv[i-1] == "-append" && !strings.HasPrefix(a, "console=ttyS0 ") && a != "console=ttyS0 panic=-1 quiet" {
				t.Errorf("%s: -append %q", tc.name, a)
			}
		}
		if got := strings.Join(argv, " "); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	for _, vm := range []VM{
		{Kernel: "k"},
		{Kernel: "k", Initrd: "i", Machine: Machine{Type: "pc"}},
		{Kernel: "k", Initrd: "i", Machine: Machine{Accel: "hvf"}},
		{Kernel: "k", Initrd: "i", Machine: Machine{MemoryMiB: -1}},
		{Kernel: "k", Initrd: "i", Forwards: []Forward{{1, 2}}},
		{Kernel: "k", Initrd: "i", NetSocket: "s"},
		{Kernel: "k", Initrd: "i", NetSocket: "s", Boot: bootparam.Config{Net: bootparam.UserNet()}, Forwards: []Forward{{1, 2}}},
	} {
		if _, err := Command(vm); err == nil {
			t.Errorf("Command(%+v) succeeded", vm)
		}
	}
}

// exitError runs a shell that exits with code, for a real *exec.ExitError.
func exitError(t *testing.T, code int) error {
	t.Helper()
	err := exec.Command("sh", "-c", "exit "+strconv.Itoa(code)).Run()
	var ee *exec.ExitError
	if code != 0 && !errors.As(err, &ee) {
		t.Fatalf("sh exit %d: %v", code, err)
	}
	return err
}

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		code, status int
		ok           bool
	}{
		{3, 0, true}, {5, 1, true}, {9, 3, true}, {253, 125, true}, {255, 126, true},
		{1, 0, false}, {2, 0, false}, {4, 0, false},
	} {
		status, err := ExitStatus(exitError(t, tc.code))
		if (err == nil) != tc.ok || status != tc.status {
			t.Errorf("QEMU exit %d: status %d, err %v; want %d, ok %v", tc.code, status, err, tc.status, tc.ok)
		}
	}
	if _, err := ExitStatus(nil); err == nil {
		t.Error("ExitStatus(nil) succeeded: QEMU exiting 0 means no status was reported")
	}
}
