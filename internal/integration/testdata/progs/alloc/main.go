// Command alloc allocates 1 GiB in total from 100 goroutines, keeping little of it live, and
// reports the live heap at the end.
package main

import (
	"fmt"
	"runtime"
	"sync"
)

const (
	total   = 1<<30 + workers*chunk // rounds up past 1 GiB
	workers = 100
	chunk   = 64 << 10
)

var sink [workers][]byte

func main() {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range total / workers / chunk {
				b := make([]byte, chunk)
				b[0], b[chunk-1] = 1, 1
				sink[w] = b
			}
		})
	}
	wg.Wait()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("allocated %d MiB, live heap %d MiB\n", ms.TotalAlloc>>20, ms.HeapAlloc>>20)
}
