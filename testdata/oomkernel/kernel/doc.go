// Package kernel is a stand-in for mote's kernel in the toolchain's tests (see
// scripts/gen-fake-kernels.py). It never runs Go code.
package kernel

// entry32 is the PVH entry point (see entry_amd64.s).
func entry32()
