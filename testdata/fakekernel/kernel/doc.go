// Package kernel is a stand-in for mote's kernel in the toolchain's tests: its PVH entry writes
// fixed lines to the three serial ports and exits through isa-debug-exit, without ever running
// Go code. It proves the image format, the QEMU command line and the host plumbing.
package kernel

import _ "mote.dev/mote/kernel/arch/amd64"
