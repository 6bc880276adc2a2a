// Command clock prints the wall clock (for the host to compare) and checks that time.Sleep never
// returns early.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	fmt.Printf("now %d\n", time.Now().UnixNano())
	for _, d := range []time.Duration{time.Microsecond, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond} {
		for range 5 {
			start := time.Now()
			time.Sleep(d)
			if got := time.Since(start); got < d {
				fmt.Printf("time.Sleep(%v) returned after %v\n", d, got)
				os.Exit(1)
			}
		}
	}
	fmt.Println("sleeps ok")
}
