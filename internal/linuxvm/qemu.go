package linuxvm

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"mote.dev/mote/internal/linuxvm/bootparam"
	"mote.dev/mote/internal/tsc"
)

// Machine holds the QEMU settings that the Linux guest shares with a mote
// image, so that both run on the same virtual hardware.
type Machine struct {
	QEMU      string // default "qemu-system-x86_64"
	Type      string // "microvm" (default) or "q35"
	Accel     string // "tcg" (default) or "kvm"
	CPU       string // default "max" under TCG, "host" under KVM
	MemoryMiB int    // default 128
}

// Forward makes QEMU's user network pass host 127.0.0.1:HostPort to the
// guest's GuestPort (TCP).
type Forward struct {
	HostPort, GuestPort int
}

// VM is one boot of the Linux guest.
type VM struct {
	Machine
	Kernel string // vmlinuz (Kernel().Vmlinuz)
	Initrd string // the initramfs (Initramfs)
	// TSCkHz goes on the kernel command line as tsc_early_khz: without it,
	// Linux on microvm under TCG sometimes hangs calibrating the TSC against
	// the PIT. Under TCG the guest's TSC ticks at the host's rate, so
	// HostTSCkHz is the right value. 0 leaves it out.
	TSCkHz int
	Boot   bootparam.Config // the app's argv and env; Boot.Net adds a virtio-net device
	// Forwards are the TCP ports QEMU's user network forwards (Boot.Net only).
	Forwards []Forward
	// NetSocket, if set, carries the network device's frames over this unix stream socket
	// (QEMU's stream netdev) to mote's user-mode network (package usernet) instead of QEMU's
	// own: the guest's addresses are the same on both. Boot.Net only; no Forwards.
	NetSocket string
	// Append is added to the kernel command line as it is.
	Append []string
}

// Command returns the QEMU argv (argv[0] the QEMU binary) that boots vm. The
// console (COM1, ttyS0) is QEMU's stdio; the app's exit status comes back as
// QEMU's exit status (ExitStatus).
func Command(vm VM) ([]string, error) {
	m := vm.Machine
	if m.QEMU == "" {
		m.QEMU = "qemu-system-x86_64"
	}
	if m.Type == "" {
		m.Type = "microvm"
	}
	if m.Accel == "" {
		m.Accel = "tcg"
	}
	if m.CPU == "" {
		m.CPU = "max"
		if m.Accel == "kvm" {
			m.CPU = "host"
		}
	}
	if m.MemoryMiB == 0 {
		m.MemoryMiB = 128
	}
	switch {
	case m.Type != "microvm" && m.Type != "q35":
		return nil, fmt.Errorf("linuxvm: machine %q: want microvm or q35", m.Type)
	case m.Accel != "tcg" && m.Accel != "kvm":
		return nil, fmt.Errorf("linuxvm: accel %q: want tcg or kvm", m.Accel)
	case m.MemoryMiB < 0:
		return nil, fmt.Errorf("linuxvm: memory %d MiB", m.MemoryMiB)
	case vm.Kernel == "" || vm.Initrd == "":
		return nil, errors.New("linuxvm: VM needs Kernel and Initrd")
	case len(vm.Forwards) > 0 && vm.Boot.Net == nil:
		return nil, errors.New("linuxvm: port forwards need Boot.Net")
	case vm.NetSocket != "" && vm.Boot.Net == nil:
		return nil, errors.New("linuxvm: a network socket needs Boot.Net")
	case vm.NetSocket != "" && len(vm.Forwards) > 0:
		return nil, errors.New("linuxvm: forwards are QEMU's user network's; on a network socket, publish ports there")
	}
	appendLine := []string{"console=ttyS0", "panic=-1", "quiet"}
	if vm.TSCkHz > 0 {
		appendLine = append(appendLine, "tsc_early_khz="+strconv.Itoa(vm.TSCkHz))
	}
	appendLine = append(appendLine, vm.Append...)
	appendLine = append(appendLine, bootparam.Encode(vm.Boot)...)

	args := []string{m.QEMU,
		"-M", m.Type,
		"-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
		"-m", strconv.Itoa(m.MemoryMiB),
		"-cpu", m.CPU,
		"-accel", m.Accel,
		"-serial", "stdio",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=4",
	}
	if m.Type == "microvm" {
		// Modern (virtio 1.0) virtio-mmio, as on q35's virtio-pci.
		args = append(args, "-global", "virtio-mmio.force-legacy=false")
	}
	args = append(args,
		"-kernel", vm.Kernel,
		"-initrd", vm.Initrd,
		"-append", strings.Join(appendLine, " "),
	)
	if vm.Boot.Net != nil {
		netdev := "user,id=n0"
		for _, f := range vm.Forwards {
			netdev += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", f.HostPort, f.GuestPort)
		}
		if vm.NetSocket != "" {
			netdev = "stream,id=n0,server=off,addr.type=unix,addr.path=" + strings.ReplaceAll(vm.NetSocket, ",", ",,")
		}
		// microvm describes its virtio-mmio devices in its ACPI tables (acpi
		// is on by default), where virtio_mmio finds them. With acpi=off QEMU
		// would add virtio_mmio.device= to the command line instead, which
		// Debian's kernels ignore (no CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES), so
		// the guest would have no eth0. On q35 the empty romfile skips
		// iPXE's option ROM.
		dev := "virtio-net-device,netdev=n0"
		if m.Type == "q35" {
			dev = "virtio-net-pci,netdev=n0,romfile="
		}
		args = append(args, "-netdev", netdev, "-device", dev)
	}
	return args, nil
}

// ExitStatus turns the error from running QEMU (exec.Cmd.Run or Wait) into
// the app's exit status: the init writes status+1 to isa-debug-exit, and
// QEMU exits with ((status+1)<<1)|1. Status 126 stands for 126 or more, a
// signal, or a failed init (the console says which). Any other ending is an
// error: QEMU's own failure (1), a power-off without a status (0), a kill.
func ExitStatus(runErr error) (int, error) {
	if runErr == nil {
		return 0, errors.New("linuxvm: the guest stopped without reporting an exit status")
	}
	var ee *exec.ExitError
	if !errors.As(runErr, &ee) {
		return 0, runErr
	}
	code := ee.ExitCode()
	if code < 3 || code%2 == 0 {
		return 0, fmt.Errorf("linuxvm: qemu: %w", runErr)
	}
	return (code>>1 - 1), nil
}

// HostTSCkHz is the host's TSC frequency in kHz, measured as mote's own
// guests get it (internal/tsc), so both rows of a comparison see one figure.
func HostTSCkHz() (int, error) {
	khz, err := tsc.KHz()
	return int(khz), err
}
