// Command sigterm prints a line, then waits for SIGTERM (or its -for time), and on SIGTERM
// prints a last line and exits 0: a server's graceful shutdown in miniature. With -ignore it
// ignores SIGTERM instead, as a stuck server would.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	wait := flag.Duration("for", time.Hour, "how long to wait for SIGTERM")
	ignore := flag.Bool("ignore", false, "ignore SIGTERM")
	flag.Parse()
	c := make(chan os.Signal, 1)
	if *ignore {
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("serving; ignoring SIGTERM")
	} else {
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("serving; waiting for SIGTERM")
	}
	tick := time.NewTicker(500 * time.Millisecond)
	n := 0
	for {
		select {
		case s := <-c:
			fmt.Printf("got %v after %d ticks; shutting down cleanly\n", s, n)
			os.Exit(0)
		case <-tick.C:
			n++
		case <-time.After(*wait):
			fmt.Println("no SIGTERM came")
			os.Exit(3)
		}
	}
}
