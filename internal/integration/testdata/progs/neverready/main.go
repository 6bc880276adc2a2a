// Command neverready says it is starting a server and never does: mote compare must give up
// on it with its last output.
package main

import (
	"fmt"
	"net"
	"time"
)

func main() {
	fmt.Println("warming up the cache")
	// Linked so that the image gets a network device, like a real server's.
	_ = net.ParseIP
	for {
		time.Sleep(time.Hour)
	}
}
