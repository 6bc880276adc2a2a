// Command recover faults in goroutines (a nil dereference, an integer division by zero),
// recovers from both and goes on.
package main

import (
	"fmt"
	"os"
	"sync"
)

type T struct{ x int }

var (
	nilT *T
	zero = 0
)

func try(name string, f func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		defer func() { fmt.Printf("%s: recovered: %v\n", name, recover()) }()
		f()
	})
	wg.Wait()
}

func main() {
	try("nil", func() { fmt.Println(nilT.x) })
	try("div", func() { fmt.Println(10 / zero) })
	fmt.Println("still running")
	os.Exit(0)
}
