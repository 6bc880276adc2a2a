// Package net is mote's socket service: gVisor's netstack, running as
// goroutines in the app's own runtime, serving the socket system calls that
// the kernel forwards (see kernel/sys_socket.go). mote build links it only
// into apps that use the net package.
//
// The service runs in user mode like the app; it reaches the app's buffers
// directly, after the kernel has checked them and made their pages present.
package net

import (
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"gvisor.dev/gvisor/pkg/log"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// The kernel's calls for the service (kernel/sys_socket.go).
const (
	nrServiceFD   = 0x4d00
	nrNextRequest = 0x4d01
	nrComplete    = 0x4d02
	nrSetReady    = 0x4d03
	nrSetAddr     = 0x4d04
)

// request mirrors the kernel's serviceRequest.
type request struct {
	TID     int64
	Nr      uint64
	Socket  int64
	Args    [6]uint64
	NewSock int64
	Flags   uint64 // the descriptor's status flags (O_NONBLOCK)
}

const loopbackNIC = 1

func init() {
	fd, _, e := syscall.RawSyscall(nrServiceFD, 0, 0, 0)
	if e != 0 {
		return // not running on mote's kernel (a test on the host)
	}
	// Netstack's log lines (a dropped segment, a port in use) are about the
	// traffic, not the app, and would land on the app's stderr.
	log.SetTarget(discard{})
	s, dhcp := newStack()
	svc := &service{stack: s, socks: map[int64]*sock{}}
	f := os.NewFile(fd, "mote-socket-service")
	go svc.serve(f)
	go svc.updater()
	// A forwarded call holds its thread's P while it waits; the service needs
	// another to run on, or it waits for sysmon to take that P back.
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	if dhcp != nil {
		// The app's main waits for the network, as boot waits for ip=dhcp
		// on Linux.
		dhcp.boot()
	}
}

// discard is a netstack log target that drops everything.
type discard struct{}

func (discard) Emit(int, log.Level, time.Time, string, ...any) {}

// newStack makes the stack with its NICs and routes, and the DHCP client
// that will address the device, if it is to.
func newStack() (*stack.Stack, *dhcpClient) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	if err := s.CreateNIC(loopbackNIC, loopback.New()); err != nil {
		panic("mote: loopback NIC: " + err.String())
	}
	for _, a := range []tcpip.ProtocolAddress{
		{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), PrefixLen: 8}},
		{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: tcpip.AddrFrom16([16]byte{15: 1}).WithPrefix()},
	} {
		if err := s.AddProtocolAddress(loopbackNIC, a, stack.AddressProperties{}); err != nil {
			panic("mote: loopback address: " + err.String())
		}
	}
	// Loopback first: netstack takes the first route that matches.
	routes := []tcpip.Route{
		{Destination: subnet(tcpip.AddrFrom4([4]byte{127, 0, 0, 0}), 8), NIC: loopbackNIC},
		{Destination: subnet(tcpip.AddrFrom16([16]byte{15: 1}), 128), NIC: loopbackNIC},
	}
	dev, dhcp := attachDevice(s)
	if dev != nil || dhcp != nil {
		routes = append(routes, dev...)
	} else {
		routes = append(routes, tcpip.Route{Destination: header.IPv4EmptySubnet, NIC: loopbackNIC})
	}
	routes = append(routes, tcpip.Route{Destination: header.IPv6EmptySubnet, NIC: loopbackNIC})
	s.SetRouteTable(routes)
	return s, dhcp
}

type service struct {
	stack *stack.Stack
	mu    sync.Mutex
	socks map[int64]*sock // by the kernel's socket number
}

// serve waits for the kernel's signal and handles what is queued. Calls
// that would block (a blocking socket) finish later, from their own
// goroutine.
func (svc *service) serve(f *os.File) {
	var b [8]byte
	for {
		if _, err := f.Read(b[:]); err != nil && !isAgain(err) {
			println("mote: socket service:", err.Error())
			return
		}
		for {
			var r request
			if _, _, e := syscall.RawSyscall(nrNextRequest, uintptr(unsafe.Pointer(&r)), 0, 0); e != 0 {
				break
			}
			svc.handle(&r)
		}
	}
}

func isAgain(err error) bool {
	pe, ok := err.(*os.PathError)
	return ok && pe.Err == syscall.EAGAIN
}

// complete returns result (or -errno) to the waiting thread.
func complete(tid int64, result int64) {
	syscall.RawSyscall(nrComplete, uintptr(tid), uintptr(result), 0)
}

func errno(e syscall.Errno) int64 { return -int64(e) }

func secondsOpt(n int) time.Duration { return time.Duration(n) * time.Second }

// userBytes is the app's memory at addr: the kernel checked it.
func userBytes(addr, n uint64) []byte {
	if n == 0 || addr == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(addr))), n)
}

func userU32(addr uint64) *uint32 { return (*uint32)(unsafe.Pointer(uintptr(addr))) }
