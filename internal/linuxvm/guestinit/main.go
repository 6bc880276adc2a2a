// Command guestinit is PID 1 of the Linux guest that mote measures itself
// against: it prepares a minimal system, runs /app on the console, and hands
// the app's exit status to the host.
//
// Built static (CGO_ENABLED=0) by linuxvm.BuildInit and packed as /init into
// the initramfs by linuxvm.Initramfs. Its input is the kernel command line
// (see package bootparam); its output is the console and one write to QEMU's
// isa-debug-exit port (see exitVM).
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"mote.dev/mote/internal/linuxvm/bootparam"
)

// Paths inside the initramfs; linuxvm.Initramfs writes them.
const (
	appPath     = "/app"
	modulesDir  = "/modules"
	moduleOrder = "/modules/order"
)

func main() {
	status, err := run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "guestinit: %v\n", err)
		status = StatusUnknown
	}
	drainConsole()
	exitVM(status)
}

func run() (int, error) {
	if err := mountAll(); err != nil {
		return 0, err
	}
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return 0, err
	}
	cfg, err := bootparam.Parse(string(cmdline))
	if err != nil {
		return 0, err
	}
	if cfg.Net != nil {
		if err := loadModules(string(cmdline)); err != nil {
			return 0, err
		}
		if err := configureNet(cfg.Net); err != nil {
			return 0, err
		}
	}
	return runApp(cfg)
}

func mountAll() error {
	for _, m := range []struct{ fstype, dir string }{
		{"proc", "/proc"},
		{"sysfs", "/sys"},
		{"devtmpfs", "/dev"},
		{"tmpfs", "/tmp"},
	} {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.fstype, m.dir, m.fstype, unix.MS_NOSUID, ""); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.dir, err)
		}
	}
	return nil
}

// loadModules loads the modules listed in /modules/order, in that order,
// giving each the parameters the kernel command line names for it, as
// modprobe would.
func loadModules(cmdline string) error {
	order, err := os.ReadFile(moduleOrder)
	if err != nil {
		return err
	}
	for _, name := range strings.Fields(string(order)) {
		f, err := os.Open(modulesDir + "/" + name + ".ko")
		if err != nil {
			return err
		}
		err = unix.FinitModule(int(f.Fd()), bootparam.ModuleParams(cmdline, name), 0)
		f.Close()
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("load module %s: %w", name, err)
		}
	}
	return nil
}

// runApp runs /app with the console as its stdin, stdout and stderr and
// returns its exit status, clamped as StatusFor says.
func runApp(cfg bootparam.Config) (int, error) {
	args := cfg.Args
	if len(args) == 0 {
		args = []string{appPath}
	}
	// cfg.Env comes last: exec.Cmd keeps the last of duplicate keys.
	env := append([]string{"PATH=/", "HOME=/"}, cfg.Env...)
	cmd := &exec.Cmd{
		Path:   appPath,
		Args:   args,
		Env:    env,
		Dir:    "/",
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, err
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		fmt.Fprintf(os.Stderr, "guestinit: app killed by %v\n", ws.Signal())
		return StatusUnknown, nil
	}
	return StatusFor(ws.ExitStatus()), nil
}

// drainConsole waits until the serial driver has sent everything the app
// wrote (tcdrain(3)): the VM ends the moment exitVM writes its port.
func drainConsole() {
	for _, f := range []*os.File{os.Stdout, os.Stderr} {
		unix.IoctlSetInt(int(f.Fd()), unix.TCSBRK, 1)
	}
}
