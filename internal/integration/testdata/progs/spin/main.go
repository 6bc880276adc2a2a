// Command spin runs a goroutine in a loop without function calls; the garbage collector and a
// 10 ms ticker must go on regardless (asynchronous preemption).
package main

import (
	"fmt"
	"runtime"
	"time"
)

var sink int

func main() {
	go func() {
		x := 0
		for {
			x++
		}
	}()
	time.Sleep(10 * time.Millisecond) // let it start spinning
	for range 3 {
		runtime.GC()
	}
	fmt.Println("gc done")
	t := time.NewTicker(10 * time.Millisecond)
	for range 20 {
		<-t.C
	}
	fmt.Println("ticks done")
}
