// Command whoami prints its host name and what that name and the host's resolve to.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	name, err := os.Hostname()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	self, err := net.LookupHost(name)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	host, err := net.LookupHost("host.mote.internal")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(name, self, host)
}
