// Package strace decodes the kernel's system-call trace records into lines like strace(1)
// prints, and totals the kernel's per-call counts into a table like strace -c.
//
// The kernel sends numbers and the user memory only it can read (docs/ARCHITECTURE.md,
// "Tracing"); names, flag sets and errno names are decoded here, from tables.
package strace

//go:generate go run gen_errno.go
