// Package mote carries the kernel's source inside the mote command, so that mote build works
// for any app module on the machine, offline, even when mote was installed with go install and
// its own repository is nowhere on disk. See internal/kernelsrc for how it is unpacked.
package mote

import "embed"

// KernelSource holds go.mod, go.sum and the kernel package tree, as a module rooted at ".".
//
//go:embed go.mod go.sum all:kernel
var KernelSource embed.FS
