// Command kcrash asks the kernel to fault while serving its system call (the kernel's crash
// test call, honoured only with mote run --kernel-arg crashtest=1).
package main

import (
	"fmt"
	"syscall"
)

const sysMoteCrashTest = 0x4dff

//go:noinline
func crash() {
	_, _, e := syscall.Syscall(sysMoteCrashTest, 0, 0, 0)
	fmt.Println("the kernel did not crash:", e)
}

func main() {
	crash()
}
