package linuxvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"mote.dev/mote/internal/linuxvm/bootparam"
)

// GuestOptions describe the Linux guest to prepare for one app.
type GuestOptions struct {
	App    string        // the app: a static linux/amd64 binary
	Net    bool          // pack the virtio-net modules; VMs get QEMU user networking
	Gzip   bool          // gzip the initramfs
	Kernel KernelOptions // which kernel, which cache
	Dir    string        // where the init and initramfs go; empty: a new temporary directory
}

// Guest is a Linux guest ready to boot: a kernel and an initramfs holding the
// init and the app. The same Guest boots any number of VMs.
type Guest struct {
	Kernel *KernelFiles
	Initrd string
	Net    bool
	TSCkHz int    // HostTSCkHz, for tsc_early_khz
	Dir    string // holds Initrd; Close removes it if Prepare made it
	ownDir bool
}

// Prepare gets the kernel (Kernel), builds the init (BuildInit) and writes
// the initramfs (Initramfs).
func Prepare(ctx context.Context, o GuestOptions) (*Guest, error) {
	if o.App == "" {
		return nil, errors.New("linuxvm: GuestOptions.App is empty")
	}
	kf, err := Kernel(ctx, o.Kernel)
	if err != nil {
		return nil, err
	}
	khz, err := HostTSCkHz()
	if err != nil {
		return nil, err
	}
	g := &Guest{Kernel: kf, Net: o.Net, TSCkHz: khz, Dir: o.Dir}
	if g.Dir == "" {
		if g.Dir, err = os.MkdirTemp("", "linuxvm-"); err != nil {
			return nil, err
		}
		g.ownDir = true
	}
	initBin := filepath.Join(g.Dir, "init")
	g.Initrd = filepath.Join(g.Dir, "initramfs")
	c := InitramfsConfig{Init: initBin, App: o.App, Gzip: o.Gzip}
	if o.Net {
		c.Modules = kf.Modules
	}
	if err := BuildInit(ctx, initBin); err != nil {
		g.Close()
		return nil, err
	}
	if err := Initramfs(g.Initrd, c); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// VM returns a VM that boots g on machine m with the app's argv and
// environment from boot. A Guest prepared with Net gets QEMU's user network
// (bootparam.UserNet) unless boot.Net says otherwise; one without cannot have
// a network.
func (g *Guest) VM(m Machine, boot bootparam.Config, forwards ...Forward) (VM, error) {
	if boot.Net != nil && !g.Net {
		return VM{}, errors.New("linuxvm: a network needs a Guest prepared with Net")
	}
	if g.Net && boot.Net == nil {
		boot.Net = bootparam.UserNet()
	}
	return VM{Machine: m, Kernel: g.Kernel.Vmlinuz, Initrd: g.Initrd, TSCkHz: g.TSCkHz, Boot: boot, Forwards: forwards}, nil
}

// Size is the artifact's size in bytes: vmlinuz plus initramfs.
func (g *Guest) Size() (int64, error) {
	var n int64
	for _, f := range []string{g.Kernel.Vmlinuz, g.Initrd} {
		fi, err := os.Stat(f)
		if err != nil {
			return 0, err
		}
		n += fi.Size()
	}
	return n, nil
}

// Close removes the directory Prepare made; the kernel cache stays.
func (g *Guest) Close() error {
	if g.ownDir {
		return os.RemoveAll(g.Dir)
	}
	return nil
}
