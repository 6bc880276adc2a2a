// Command badptr hands the kernel bad pointers through raw system calls and checks that each
// call fails with EFAULT (or EINVAL where Linux checks that first) and the program goes on. The
// same program passes on Linux.
package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

const (
	unmapped = 0x10      // page zero is never mapped
	kernel   = 0x4000000 // 64 MiB: RAM in the kernel's identity map, never the program's
	huge     = 1<<63 + 8 // not canonical
)

func main() {
	failed := false
	check := func(name string, got syscall.Errno, want ...syscall.Errno) {
		for _, w := range want {
			if got == w {
				fmt.Printf("%s: %v\n", name, got)
				return
			}
		}
		fmt.Printf("%s: got %v (%d), want %v\n", name, got, got, want)
		failed = true
	}
	for _, p := range []uintptr{unmapped, huge} {
		_, _, e := syscall.Syscall(syscall.SYS_WRITE, 1, p, 10)
		check("write", e, syscall.EFAULT)
		_, _, e = syscall.Syscall(syscall.SYS_NANOSLEEP, p, 0, 0)
		check("nanosleep", e, syscall.EFAULT)
		_, _, e = syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1, p, 0)
		check("clock_gettime", e, syscall.EFAULT)
		_, _, e = syscall.Syscall6(syscall.SYS_FUTEX, p, 0, 0, 0, 0, 0)
		check("futex", e, syscall.EFAULT)
		_, _, e = syscall.Syscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGUSR1), p, 0, 8, 0, 0)
		check("rt_sigaction", e, syscall.EFAULT)
		_, _, e = syscall.Syscall(syscall.SYS_UNAME, p, 0, 0)
		check("uname", e, syscall.EFAULT)
		_, _, e = syscall.Syscall(syscall.SYS_PIPE2, p, 0, 0)
		check("pipe2", e, syscall.EFAULT)
		_, _, e = syscall.Syscall(318 /* getrandom */, p, 16, 0)
		check("getrandom", e, syscall.EFAULT)
	}
	// A pointer into memory the program does not own but that a kernel might: on Linux it
	// is unmapped; in mote it is the kernel's own identity map.
	_, _, e := syscall.Syscall(syscall.SYS_WRITE, 1, kernel, 10)
	check("write kernel", e, syscall.EFAULT)
	_, _, e = syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1, kernel, 0)
	check("clock_gettime kernel", e, syscall.EFAULT)
	// A read-only page: the program's own code.
	code := **(**uintptr)(unsafe.Pointer(&check))
	_, _, e = syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1, code, 0)
	check("clock_gettime to code", e, syscall.EFAULT)
	if failed {
		os.Exit(1)
	}
	fmt.Println("all EFAULT")
}
