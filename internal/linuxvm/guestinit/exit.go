package main

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// The exit status reaches the host through QEMU's isa-debug-exit device
// (-device isa-debug-exit,iobase=0xf4,iosize=4): a write of value v to port
// 0xf4 makes QEMU exit at once with status (v<<1)|1.
//
// The init writes v = status+1, never 0, so that QEMU's own failure (exit 1)
// and a guest that powered off without reporting (exit 0) cannot be mistaken
// for an app that exited 0. Only 7 bits survive the shift, so v is at most
// 127 and status at most 126: StatusUnknown (126) stands for "126 or more,
// killed by a signal, or the init failed" (the console says which).
// linuxvm.ExitStatus decodes it on the host. mote's own kernel uses the same
// port with a different value, and sends the exact status on its COM3
// channel as well.
const (
	debugExitPort = 0xf4
	StatusUnknown = 126
)

// StatusFor clamps an app's exit status to what the port can carry.
func StatusFor(s int) int {
	if s < 0 || s > StatusUnknown {
		return StatusUnknown
	}
	return s
}

// exitVM reports status to the host and stops the VM. Debian's kernels have
// no /dev/port, so the init asks for the port with ioperm(2) and writes it
// with one OUTB. ioperm's permission belongs to the calling thread, hence
// LockOSThread. If that fails the VM is powered off instead and the host
// sees no status.
func exitVM(status int) {
	unix.Sync()
	runtime.LockOSThread()
	if err := unix.Ioperm(debugExitPort, 1, 1); err != nil {
		fmt.Fprintf(os.Stderr, "guestinit: ioperm(%#x): %v\n", debugExitPort, err)
	} else {
		outb(debugExitPort, byte(StatusFor(status)+1))
	}
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {} // PID 1 must not return
}

// outb writes val to I/O port port (outb_amd64.s). The thread must hold the
// port through ioperm(2) or iopl(2).
func outb(port uint16, val byte)
