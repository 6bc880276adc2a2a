// Command netinfo prints what a program sees of its network: its host name, the addresses of
// its interfaces, /etc/resolv.conf and /etc/hosts; then it gets each URL it is given and
// prints the status and body, or the error. With FETCH_WAIT set (a duration), it retries a URL
// that cannot be reached yet until then.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	h, err := os.Hostname()
	fmt.Printf("hostname %s %v\n", h, err)
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			fmt.Printf("addr %s %s\n", ifc.Name, a)
		}
	}
	for _, f := range []string{"/etc/resolv.conf", "/etc/hosts"} {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Printf("%s: %v\n", f, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			fmt.Printf("%s: %s\n", f, line)
		}
	}

	failed := false
	wait, _ := time.ParseDuration(os.Getenv("FETCH_WAIT"))
	deadline := time.Now().Add(wait)
	for _, url := range os.Args[1:] {
		resp, err := http.Get(url)
		for err != nil && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
			resp, err = http.Get(url)
		}
		if err != nil {
			fmt.Println("error:", err)
			failed = true
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s %q\n", resp.Status, b)
	}
	if failed {
		os.Exit(1)
	}
}
