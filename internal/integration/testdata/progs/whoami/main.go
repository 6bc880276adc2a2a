// Command whoami prints its host name, what that name and the host's resolve to, and its
// network interfaces with their addresses.
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
	ifs, err := net.Interfaces()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(ifc.Index, ifc.Name, ifc.MTU, ifc.Flags, len(ifc.HardwareAddr), addrs)
	}
}
