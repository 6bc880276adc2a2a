// Command observe serves work for the metrics and profile tests: each request to / hashes a
// buffer for a while (CPU for a profile) and keeps the buffer (live heap for a heap profile),
// up to a bound.
package main

import (
	"crypto/sha256"
	"fmt"
	"log"
	"net/http"
	"sync"
)

var (
	mu   sync.Mutex
	kept [][]byte
)

//go:noinline
func retain(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(kept) < 256 {
		kept = append(kept, b)
	}
	return b
}

//go:noinline
func churn(b []byte) [32]byte {
	sum := sha256.Sum256(b)
	for range 200 {
		sum = sha256.Sum256(append(sum[:], b[:4096]...))
	}
	return sum
}

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sum := churn(retain(64 << 10))
		fmt.Fprintf(w, "%x", sum[:4])
	})
	log.Fatal(http.ListenAndServe(":8080", nil))
}
