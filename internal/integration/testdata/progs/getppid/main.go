// Command getppid makes a known number of getppid calls, a call Go's runtime never makes itself,
// for mote run --syscall-summary to count.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

func main() {
	n := 1234
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	for i := 0; i < n; i++ {
		syscall.Syscall(syscall.SYS_GETPPID, 0, 0, 0)
	}
	fmt.Println("made", n, "getppid calls")
}
