// Command segv faults with SIGSEGV blocked, so that the kernel, not Go, reports the crash.
package main

import (
	"syscall"
	"unsafe"
)

var p *int

func crash() { println(*p) }

func main() {
	// Block SIGSEGV so Go cannot turn the fault into a panic: the kernel
	// must kill the program and report where.
	mask := uint64(1) << (syscall.SIGSEGV - 1)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 0, uintptr(unsafe.Pointer(&mask)), 0, 8, 0, 0)
	crash()
}
