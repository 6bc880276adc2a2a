package net

import (
	"context"
	"os"
	"syscall"
	"time"
	"unsafe"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// The network device: the kernel's virtio-net driver moves Ethernet frames
// (moteNetRecv, moteNetSend); here they meet netstack through a channel
// endpoint wrapped in Ethernet framing.
const (
	nrNetOpen = 0x4d05
	nrNetRecv = 0x4d06
	nrNetSend = 0x4d07

	deviceNIC = 2
	frameMTU  = 1514 // an Ethernet frame with a 1500-byte payload
)

// attachDevice connects the kernel's network device, if the guest has one,
// and returns the routes it adds, and a DHCP client to start if the
// guest's address is to come from DHCP (and so no routes yet).
func attachDevice(s *stack.Stack) ([]tcpip.Route, *dhcpClient) {
	// struct { mac [6]byte; prefix, dhcp uint8; ip, gw [4]byte }, from the
	// kernel command line (QEMU's user network unless mote run --ip says
	// otherwise, or asks for DHCP).
	var cfg [16]byte
	fd, _, e := syscall.RawSyscall(nrNetOpen, uintptr(unsafe.Pointer(&cfg[0])), 0, 0)
	if e != 0 {
		return nil, nil // no network device: loopback only
	}
	mac, prefix, dhcp := cfg[:6], int(cfg[6]), cfg[7] != 0
	addr, gw := tcpip.AddrFrom4Slice(cfg[8:12]), tcpip.AddrFrom4Slice(cfg[12:16])
	ch := channel.New(256, frameMTU, tcpip.LinkAddress(mac))
	if err := s.CreateNIC(deviceNIC, ethernet.New(ch)); err != nil {
		println("mote: network device:", err.String())
		return nil, nil
	}
	if dhcp {
		go receive(os.NewFile(fd, "mote-network-device"), ch)
		go transmit(ch)
		return nil, newDHCPClient(s, mac)
	}
	if err := s.AddProtocolAddress(deviceNIC, tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: addr, PrefixLen: prefix},
	}, stack.AddressProperties{}); err != nil {
		println("mote: network address:", err.String())
		return nil, nil
	}
	go receive(os.NewFile(fd, "mote-network-device"), ch)
	go transmit(ch)
	routes := []tcpip.Route{{Destination: subnet(addr, prefix), NIC: deviceNIC}}
	if gw != tcpip.AddrFrom4([4]byte{}) {
		routes = append(routes, tcpip.Route{Destination: header.IPv4EmptySubnet, Gateway: gw, NIC: deviceNIC})
	}
	return routes, nil
}

func subnet(a tcpip.Address, prefix int) tcpip.Subnet {
	return tcpip.AddressWithPrefix{Address: a, PrefixLen: prefix}.Subnet()
}

// receive hands arriving frames to netstack; the eventfd says when to look.
func receive(f *os.File, ch *channel.Endpoint) {
	buf := make([]byte, 2048)
	var ev [8]byte
	for {
		for {
			n, _, e := syscall.RawSyscall(nrNetRecv, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0)
			if e == syscall.EAGAIN {
				break
			}
			if e != 0 || n < header.EthernetMinimumSize {
				continue // a bad frame from the device: dropped
			}
			pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{
				Payload: buffer.MakeWithData(append([]byte(nil), buf[:n]...)),
			})
			ch.InjectInbound(0, pkt)
			pkt.DecRef()
		}
		if _, err := f.Read(ev[:]); err != nil && !isAgain(err) {
			println("mote: network device:", err.Error())
			return
		}
	}
}

// transmit sends what netstack queues, waiting briefly while the device's
// transmit ring is full.
func transmit(ch *channel.Endpoint) {
	ctx := context.Background()
	for {
		pkt := ch.ReadContext(ctx)
		if pkt == nil {
			continue
		}
		v := pkt.ToView()
		b := v.AsSlice()
		for {
			_, _, e := syscall.RawSyscall(nrNetSend, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0)
			if e != syscall.EAGAIN {
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
		v.Release()
		pkt.DecRef()
	}
}
