// Package qemu runs mote images under QEMU: it builds the command line, connects the guest's
// three serial ports to the host, and turns what the guest reports into an exit status.
package qemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Binary is the QEMU system emulator mote runs.
const Binary = "qemu-system-x86_64"

// Machines and accelerators mote knows.
const (
	MachineMicroVM = "microvm"
	MachineQ35     = "q35"
	AccelKVM       = "kvm"
	AccelTCG       = "tcg"
)

// Serial ports of the contract (docs/ARCHITECTURE.md), by chardev id.
const (
	com1 = "com1" // 0x3f8: app stdout, and stdin
	com2 = "com2" // 0x2f8: app stderr
	com3 = "com3" // 0x3e8: kernel channel
)

// Config describes one guest.
type Config struct {
	Binary  string // QEMU binary; Binary if empty
	Machine string // MachineMicroVM or MachineQ35
	Accel   string // AccelKVM or AccelTCG
	Memory  string // guest RAM, as for QEMU's -m (e.g. 128M)
	Kernel  string // the image file
	Initrd  string // optional PVH module (the package files for mote test)
	Cmdline string // kernel command line
	RunDir  string // directory holding the chardev sockets
	// NetSocket, if set, gives the guest a virtio-net device whose frames go over
	// this stream socket (a usernet.Network, or anything speaking QEMU's stream
	// netdev framing).
	NetSocket string
	// Tap, if set, puts the guest's network device on this host tap device instead.
	Tap string
	// MAC is the network device's address; empty: QEMU's default.
	MAC string
	// GDB, if set, starts QEMU's gdb stub on this chardev, e.g. "tcp:127.0.0.1:1234" or
	// "unix:PATH,server=on,wait=off".
	GDB string
	// Hold keeps the CPU stopped before the guest's first instruction until a debugger
	// connected to the stub lets it go (-S).
	Hold bool
	// Volumes are host directories exported to the guest, each as a virtio-9p device whose
	// mount tag is VolumeTag(i).
	Volumes []Volume
}

// Volume is a host directory the guest mounts.
type Volume struct {
	Host     string
	ReadOnly bool
}

// VolumeTag is the mount tag of the i-th volume's device.
func VolumeTag(i int) string { return fmt.Sprintf("vol%d", i) }

// SocketPath is where the chardev for a serial port connects.
func (c *Config) SocketPath(id string) string { return filepath.Join(c.RunDir, id+".sock") }

// Validate checks the choices a user makes.
func (c *Config) Validate() error {
	switch c.Machine {
	case MachineMicroVM, MachineQ35:
	default:
		return fmt.Errorf("unknown machine %q (use microvm or q35)", c.Machine)
	}
	switch c.Accel {
	case AccelKVM, AccelTCG:
	default:
		return fmt.Errorf("unknown accelerator %q (use kvm or tcg)", c.Accel)
	}
	return nil
}

// Args returns QEMU's arguments (without the binary).
//
// microvm boots the PVH image through its qboot firmware. On q35, mote uses qboot too
// (/usr/share/qemu/qboot.rom, when present): it boots a PVH -kernel quickly and prints nothing,
// where SeaBIOS, the default, prints its banner to COM1, which is the app's stdout. Without
// qboot, SeaBIOS is told to keep off the serial port (etc/sercon-port = 0).
func (c *Config) Args() []string {
	args := []string{
		"-M", c.Machine,
		"-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
		"-m", c.Memory,
		"-accel", c.Accel,
	}
	if c.Accel == AccelKVM {
		args = append(args, "-cpu", "host")
	} else {
		args = append(args, "-cpu", "max")
	}
	if c.Machine == MachineQ35 {
		if fw := q35Firmware(); fw != "" {
			args = append(args, "-bios", fw)
		} else {
			// SeaBIOS: sercon-port 0 keeps its banner off the serial port.
			args = append(args, "-fw_cfg", "name=etc/sercon-port,string=0")
		}
	}
	args = append(args,
		"-chardev", chardev(com1, c.SocketPath(com1)), "-serial", "chardev:"+com1,
		"-chardev", chardev(com2, c.SocketPath(com2)), "-device", "isa-serial,chardev="+com2+",iobase=0x2f8,irq=3",
		"-chardev", chardev(com3, c.SocketPath(com3)), "-device", "isa-serial,chardev="+com3+",iobase=0x3e8,irq=5",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=4",
		"-kernel", c.Kernel,
	)
	if c.Initrd != "" {
		args = append(args, "-initrd", c.Initrd)
	}
	if c.NetSocket != "" || c.Tap != "" {
		if c.NetSocket != "" {
			// The stream netdev (QEMU 7.2 and newer) connects to mote's user-mode network.
			args = append(args, "-netdev", "stream,id=net0,server=off,addr.type=unix,addr.path="+escapeOpt(c.NetSocket))
		} else {
			args = append(args, "-netdev", "tap,id=net0,ifname="+escapeOpt(c.Tap)+",script=no,downscript=no")
		}
		mac := ""
		if c.MAC != "" {
			mac = ",mac=" + c.MAC
		}
		if c.Machine == MachineMicroVM {
			args = append(args, "-device", "virtio-net-device,netdev=net0"+mac, "-global", "virtio-mmio.force-legacy=false")
		} else {
			// Modern virtio-pci only, and no option ROM: nothing here boots from the network.
			args = append(args, "-device", "virtio-net-pci,netdev=net0,disable-legacy=on,romfile="+mac)
		}
	}
	for i, v := range c.Volumes {
		// security_model=none: the guest's files are the host's, with the modes the guest
		// gives them, owned by the user QEMU runs as, so host tools read them as they are.
		tag := VolumeTag(i)
		fsdev := "local,id=" + tag + ",path=" + escapeOpt(v.Host) + ",security_model=none"
		if v.ReadOnly {
			fsdev += ",readonly=on"
		}
		args = append(args, "-fsdev", fsdev)
		if c.Machine == MachineMicroVM {
			args = append(args, "-device", "virtio-9p-device,fsdev="+tag+",mount_tag="+tag)
		} else {
			args = append(args, "-device", "virtio-9p-pci,fsdev="+tag+",mount_tag="+tag+",disable-legacy=on")
		}
	}
	if len(c.Volumes) > 0 && c.Machine == MachineMicroVM && c.NetSocket == "" && c.Tap == "" {
		args = append(args, "-global", "virtio-mmio.force-legacy=false")
	}
	if c.GDB != "" {
		args = append(args, "-gdb", c.GDB)
	}
	if c.Hold {
		args = append(args, "-S")
	}
	return append(args, "-append", c.Cmdline)
}

// GDBUnix is the -gdb chardev for a stub on a unix socket, which QEMU creates and listens on
// without waiting for a debugger.
func GDBUnix(path string) string {
	return "unix:" + escapeOpt(path) + ",server=on,wait=off"
}

// GDBTCP is the -gdb chardev for a stub on a TCP address.
func GDBTCP(addr string) string { return "tcp:" + escapeOpt(addr) }

// qboot is QEMU's minimal firmware; Debian ships it with qemu-system-x86.
var qbootPaths = []string{"/usr/share/qemu/qboot.rom"}

func q35Firmware() string {
	for _, p := range qbootPaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// chardev is a client socket chardev: mote listens, QEMU connects when it starts.
func chardev(id, path string) string {
	return "socket,id=" + id + ",path=" + escapeOpt(path)
}

// escapeOpt escapes a value inside a QEMU option string, where ',' separates options.
func escapeOpt(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// Find returns the path of the QEMU binary, or an error that says how to install it.
func Find(binary string) (string, error) {
	if binary == "" {
		binary = Binary
	}
	p, err := exec.LookPath(binary)
	if err != nil {
		return "", fmt.Errorf("%s not found: install QEMU (on Debian or Ubuntu: apt-get install qemu-system-x86)", binary)
	}
	return p, nil
}

// KVMUsable reports whether /dev/kvm can be opened for reading and writing, which is what QEMU
// needs to use it, and is hardware KVM. PVM (kvm-pvm, a paravirtual KVM for nested guests without
// VT-x) runs only paravirtualised Linux guests: it cannot run an unmodified kernel's SSE code.
func KVMUsable() error {
	if _, err := os.Stat("/sys/module/kvm_pvm"); err == nil {
		return errors.New("/dev/kvm is kvm-pvm, which runs only paravirtualised Linux guests")
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errors.New("/dev/kvm does not exist")
		}
		return err
	}
	return f.Close()
}

// ShellQuote renders a command line so it can be pasted into a POSIX shell.
func ShellQuote(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@%", r))
		}) < 0 {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}
