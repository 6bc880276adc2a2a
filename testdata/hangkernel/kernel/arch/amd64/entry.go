// Package amd64 holds a stand-in kernel's 32-bit PVH entry.
package amd64

// entry32 is the PVH entry point (see entry_amd64.s).
func entry32()
