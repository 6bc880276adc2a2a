// Command dhcpd is a DHCPv4 server for tests, on insomniacslk/dhcp's server4: it leases
// addresses from -first upwards on one interface, one per client hardware address, and prints
// one line per message it answers, for the test to read:
//
//	offer ADDR MAC HOSTNAME
//	ack ADDR MAC HOSTNAME new|renew
//	nak ADDR MAC HOSTNAME
//
// It runs inside a network namespace the test makes (ip netns exec), never on the host's own
// interfaces.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
)

type server struct {
	self   net.IP
	mask   net.IPMask
	lease  time.Duration
	mu     sync.Mutex
	next   netip.Addr
	leases map[string]net.IP // by hardware address
}

func main() {
	iface := flag.String("iface", "br0", "the interface to serve")
	self := flag.String("server", "10.9.0.1", "this server's address: also the router and the name server it gives")
	first := flag.String("first", "10.9.0.100", "the first address to lease")
	prefix := flag.Int("prefix", 24, "the subnet's prefix length")
	lease := flag.Duration("lease", time.Hour, "the lease time")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("dhcpd: ")

	s := &server{
		self:   net.ParseIP(*self).To4(),
		mask:   net.CIDRMask(*prefix, 32),
		lease:  *lease,
		next:   netip.MustParseAddr(*first),
		leases: map[string]net.IP{},
	}
	srv, err := server4.NewServer(*iface, &net.UDPAddr{IP: net.IPv4zero, Port: dhcpv4.ServerPort}, s.handle)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("serving", *iface)
	if err := srv.Serve(); err != nil {
		log.Fatal(err)
	}
}

// address is the client's address: the one it has, or the next free one.
func (s *server) address(mac string) net.IP {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ip, ok := s.leases[mac]; ok {
		return ip
	}
	ip := net.IP(s.next.AsSlice())
	s.leases[mac] = ip
	s.next = s.next.Next()
	return ip
}

func (s *server) handle(conn net.PacketConn, peer net.Addr, m *dhcpv4.DHCPv4) {
	if m.OpCode != dhcpv4.OpcodeBootRequest {
		return
	}
	mac := m.ClientHWAddr.String()
	ip := s.address(mac)
	var typ dhcpv4.MessageType
	word := ""
	switch m.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		typ, word = dhcpv4.MessageTypeOffer, "offer"
	case dhcpv4.MessageTypeRequest:
		asked := m.RequestedIPAddress()
		if asked == nil {
			asked = m.ClientIPAddr // renewing or rebinding
		}
		if asked.Equal(ip) {
			typ, word = dhcpv4.MessageTypeAck, "ack"
		} else {
			typ, word = dhcpv4.MessageTypeNak, "nak"
		}
	default:
		return
	}
	reply, err := dhcpv4.NewReplyFromRequest(m,
		dhcpv4.WithMessageType(typ),
		dhcpv4.WithServerIP(s.self),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.self)))
	if err != nil {
		log.Print(err)
		return
	}
	if typ != dhcpv4.MessageTypeNak {
		reply.YourIPAddr = ip
		reply.UpdateOption(dhcpv4.OptSubnetMask(s.mask))
		reply.UpdateOption(dhcpv4.OptRouter(s.self))
		reply.UpdateOption(dhcpv4.OptDNS(s.self))
		reply.UpdateOption(dhcpv4.OptIPAddressLeaseTime(s.lease))
	}
	// A client without an address (or asking for broadcast) cannot take a unicast reply.
	to := &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}
	if !m.IsBroadcast() && !m.ClientIPAddr.IsUnspecified() {
		to.IP = m.ClientIPAddr
	}
	if _, err := conn.WriteTo(reply.ToBytes(), to); err != nil {
		log.Printf("reply to %s: %v", to, err)
		return
	}
	line := fmt.Sprintf("%s %s %s %s", word, ip, mac, m.HostName())
	if word == "ack" {
		if m.ClientIPAddr.IsUnspecified() {
			line += " new"
		} else {
			line += " renew"
		}
	}
	fmt.Println(line)
	os.Stdout.Sync()
}
