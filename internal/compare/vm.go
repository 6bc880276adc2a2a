package compare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"mote.dev/mote/internal/image"
	"mote.dev/mote/internal/linuxvm"
	"mote.dev/mote/internal/linuxvm/bootparam"
	"mote.dev/mote/internal/qemu"
	"mote.dev/mote/internal/usernet"
)

// The -m range both VMs are bisected over, in MiB: from the least mote accepts to twice its
// default.
const (
	vmMemoryLo = image.MinMemory >> 20
	vmMemoryHi = 256
)

// LinuxVM runs the app's static binary as the only process of a minimal Linux guest
// (package linuxvm): Debian's cloud kernel and an initramfs whose Go init configures the
// network and execs the app, on the QEMU machine the mote row uses.
type LinuxVM struct {
	Binary  string
	Args    []string
	Port    int
	Machine linuxvm.Machine // QEMU binary, machine type, accelerator, default memory
	Kernel  linuxvm.KernelOptions

	guest *linuxvm.Guest
}

func (l *LinuxVM) Name() string { return "Linux VM" }

func (l *LinuxVM) Prepare(ctx context.Context) (Artifact, error) {
	if err := haveQEMU(l.Machine.QEMU); err != nil {
		return Artifact{}, err
	}
	if _, err := linuxvm.Kernel(ctx, l.Kernel); err != nil {
		if ctx.Err() != nil {
			return Artifact{}, ctx.Err()
		}
		return Artifact{}, &SkipError{
			Reason: "no Debian kernel: " + firstLine(err.Error()),
			Fix:    "needs apt-get download of linux-image-cloud-amd64: run on Debian or Ubuntu, as root or after sudo apt-get update",
		}
	}
	g, err := linuxvm.Prepare(ctx, linuxvm.GuestOptions{App: l.Binary, Net: l.Port != 0, Kernel: l.Kernel})
	if err != nil {
		return Artifact{}, err
	}
	l.guest = g
	n, err := g.Size()
	if err != nil {
		return Artifact{}, err
	}
	note := g.Kernel.Package + " vmlinuz + initramfs (init, app"
	if l.Port != 0 {
		note += ", virtio-net modules"
	}
	kfi, err := os.Stat(g.Kernel.Vmlinuz)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Bytes: n, Note: note + ")", KernelBytes: kfi.Size()}, nil
}

func (l *LinuxVM) MemoryRange() (int, int, string, error) {
	return vmMemoryLo, vmMemoryHi, "bisection of QEMU -m", nil
}

func (l *LinuxVM) Start(ctx context.Context, s StartOptions) (*Instance, error) {
	m := l.Machine
	if s.MemoryMiB > 0 {
		m.MemoryMiB = s.MemoryMiB
	}
	boot := bootparam.Config{Args: append([]string{"/app"}, l.Args...)}
	inst := newInstance("")
	vm, err := l.guest.VM(m, boot)
	if err != nil {
		return nil, err
	}
	if l.Port != 0 {
		// The network mote's own guest gets, so that both VMs' packets take one path.
		dir, err := qemu.TempRunDir()
		if err != nil {
			return nil, err
		}
		inst.cleanup = append(inst.cleanup, func() { os.RemoveAll(dir) })
		nw, addr, err := userNetwork(filepath.Join(dir, "net.sock"), s.HostPort, l.Port, inst.Output)
		if err != nil {
			inst.undo()
			return nil, err
		}
		inst.cleanup = append(inst.cleanup, func() { nw.Close() })
		vm.NetSocket, inst.Addr = nw.Socket(), addr
	}
	argv, err := linuxvm.Command(vm)
	if err != nil {
		inst.undo()
		return nil, err
	}
	inst.explain = func(err error) error {
		status, err := linuxvm.ExitStatus(err)
		if err != nil {
			return err
		}
		return fmt.Errorf("the app exited with status %d", status)
	}
	if err := inst.startCommand(exec.Command(argv[0], argv[1:]...), true); err != nil {
		inst.undo()
		return nil, err
	}
	return inst, nil
}

func (l *LinuxVM) Close() error {
	if l.guest == nil {
		return nil
	}
	return l.guest.Close()
}

// Mote boots the mote image under QEMU, as mote run does, on mote's user-mode network.
type Mote struct {
	Image   string
	QEMU    string
	Port    int
	Network bool // the image's manifest asks for a network device
	// Config gives the QEMU configuration of a boot with memMiB MiB (0: the default): the
	// one mote run would use, without ports.
	Config func(memMiB int) (qemu.Config, error)
}

func (m *Mote) Name() string { return "mote" }

func (m *Mote) Prepare(ctx context.Context) (Artifact, error) {
	if err := haveQEMU(m.QEMU); err != nil {
		return Artifact{}, err
	}
	fi, err := os.Stat(m.Image)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Bytes: fi.Size(), Note: "image: the app and the kernel in one ELF"}, nil
}

func (m *Mote) MemoryRange() (int, int, string, error) {
	return vmMemoryLo, vmMemoryHi, "bisection of QEMU -m", nil
}

func (m *Mote) Start(ctx context.Context, s StartOptions) (*Instance, error) {
	cfg, err := m.Config(s.MemoryMiB)
	if err != nil {
		return nil, err
	}
	if cfg.RunDir, err = qemu.TempRunDir(); err != nil {
		return nil, err
	}
	inst := newInstance("")
	inst.cleanup = append(inst.cleanup, func() { os.RemoveAll(cfg.RunDir) })
	if m.Network || m.Port != 0 {
		nw, addr, err := userNetwork(filepath.Join(cfg.RunDir, "net.sock"), s.HostPort, m.Port, inst.Output)
		if err != nil {
			inst.undo()
			return nil, err
		}
		inst.cleanup = append(inst.cleanup, func() { nw.Close() })
		cfg.NetSocket, inst.Addr = nw.Socket(), addr
	}
	if err := cfg.Validate(); err != nil {
		inst.undo()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	inst.stop = cancel
	streams := qemu.Streams{
		Stdout:  inst.Output,
		Stderr:  inst.Output,
		Started: func(g *qemu.Guest) { inst.pid.Store(int64(g.Pid)) },
		Record: func(r qemu.Record) {
			if r.Kind == "log" || r.Kind == "fault" {
				fmt.Fprintf(inst.Output, "mote: kernel: %s %s\n", r.Kind, r.Text)
			}
		},
	}
	binary := m.QEMU
	if binary == "" {
		binary = qemu.Binary
	}
	go func() {
		res, err := qemu.Run(runCtx, binary, cfg, streams)
		switch {
		case err != nil:
		case res.Exited:
			err = fmt.Errorf("exit status %d", res.Status)
		case res.OutOfMem != "":
			err = errors.New("the guest ran out of memory")
		default:
			err = fmt.Errorf("the guest stopped without an exit status (QEMU exit %d) %s", res.QEMUCode, res.QEMUError)
		}
		inst.exited(err)
	}()
	return inst, nil
}

// userNetwork starts mote's user-mode network for one guest (package usernet, what mote run
// gives a guest), publishing guestPort on 127.0.0.1:hostPort unless guestPort is 0, and
// returns the address the app answers on.
func userNetwork(socket string, hostPort, guestPort int, log io.Writer) (*usernet.Network, string, error) {
	cfg := usernet.Config{
		Socket: socket,
		Log:    func(format string, args ...any) { fmt.Fprintf(log, "mote: "+format+"\n", args...) },
	}
	addr := ""
	if guestPort != 0 {
		p := usernet.Publish{Proto: "tcp", HostIP: "127.0.0.1", HostPort: hostPort, GuestPort: guestPort}
		cfg.Publish, addr = []usernet.Publish{p}, p.Addr()
	}
	nw, err := usernet.Start(cfg)
	return nw, addr, err
}

func (m *Mote) Close() error { return nil }

func haveQEMU(binary string) error {
	if _, err := qemu.Find(binary); err != nil {
		return &SkipError{Reason: firstLine(err.Error()), Fix: "apt-get install qemu-system-x86"}
	}
	return nil
}
