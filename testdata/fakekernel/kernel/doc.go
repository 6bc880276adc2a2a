// Package kernel is a stand-in for mote's kernel in the toolchain's tests (see
// scripts/gen-fake-kernels.py). It never runs Go code.
package kernel

import _ "mote.dev/mote/kernel/arch/amd64"
