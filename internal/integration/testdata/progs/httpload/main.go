// Command httpload serves what the load test asks for: a small page, a handler that
// dereferences nil, a UDP echo, and its own counts of open descriptors and live heap.
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"runtime"
	"syscall"
)

func openFDs() int {
	n := 0
	var st syscall.Stat_t
	for fd := 0; fd < 1024; fd++ {
		if syscall.Fstat(fd, &st) == nil {
			n++
		}
	}
	return n
}

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "ok %s", r.URL.Path) })
	http.HandleFunc("/nil", func(w http.ResponseWriter, r *http.Request) {
		var p *struct{ n int }
		fmt.Fprint(w, p.n) // a nil dereference in a handler
	})
	http.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(w, "%d %d", openFDs(), ms.HeapAlloc)
	})
	go func() {
		pc, err := net.ListenPacket("udp", ":9000")
		if err != nil {
			log.Fatal(err)
		}
		buf := make([]byte, 2048)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				log.Fatal(err)
			}
			pc.WriteTo(buf[:n], addr)
		}
	}()
	log.Fatal(http.ListenAndServe(":8080", nil))
}
