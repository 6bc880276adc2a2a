package net

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// The guest's address on a tap network without --ip: a DHCPv4 client
// (RFC 2131) on netstack's UDP, with its messages made and read by
// insomniacslk/dhcp's dhcpv4 package. Boot waits for the first lease, as
// Linux's ip=dhcp does, so the app's first socket finds the network set up;
// if no server answers in bootWait the app starts anyway, with no route off
// the guest (ENETUNREACH), and the client keeps asking. A lease is renewed
// at T1 from its server, rebound at T2 from any, and given up when it runs
// out. Each change goes to the kernel (moteNetConfig), which shows it in
// resolv.conf, hosts and netlink, and says it on the kernel channel.

const (
	nrNetConfig = 0x4d20

	bootWait   = 10 * time.Second
	maxBackoff = 64 * time.Second // RFC 2131 4.1: retransmissions up to 64 s apart
	clientPort = 68
	serverPort = 67
	maxDNS     = 3 // the name servers the kernel's resolv.conf lists
)

// leaseReport mirrors the kernel's (kernel/netcfg.go).
type leaseReport struct {
	State   uint8
	Prefix  uint8
	NDNS    uint8
	_       uint8
	Seconds uint32
	IP      [4]byte
	GW      [4]byte
	Server  [4]byte
	DNS     [maxDNS][4]byte
}

const (
	leaseBound    = 1
	leaseNoAnswer = 2
	leaseLost     = 3
)

// lease is what an ACK grants, as netstack and the kernel take it.
type lease struct {
	ip, gw, server tcpip.Address
	prefix         int
	dns            []tcpip.Address
	length         time.Duration
	t1, t2         time.Duration
}

type dhcpClient struct {
	stack    *stack.Stack
	mac      net.HardwareAddr
	hostname string
	conn     *gonet.UDPConn
	cur      *lease // the lease in force; nil without one
}

func newDHCPClient(s *stack.Stack, mac []byte) *dhcpClient {
	h, _ := os.Hostname()
	return &dhcpClient{stack: s, mac: net.HardwareAddr(mac), hostname: h}
}

// boot starts the client and waits for the first lease, or bootWait.
func (c *dhcpClient) boot() {
	if err := c.open(); err != nil {
		println("mote: dhcp:", err.Error())
		return
	}
	bound := make(chan struct{})
	go c.run(bound)
	select {
	case <-bound:
	case <-time.After(bootWait):
		report(leaseReport{State: leaseNoAnswer, Seconds: uint32(bootWait / time.Second)})
	}
}

// open makes the client's socket: port 68 on the device, allowed to
// broadcast. Until there is a lease the device holds 0.0.0.0, the source
// address RFC 2131 gives a client without one; netstack needs an address
// to send from.
func (c *dhcpClient) open() error {
	if err := c.setUnspecified(true); err != nil {
		return err
	}
	var wq waiter.Queue
	ep, terr := c.stack.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		return errorf("socket", terr)
	}
	ep.SocketOptions().SetBroadcast(true)
	if terr := ep.SocketOptions().SetBindToDevice(deviceNIC); terr != nil {
		ep.Close()
		return errorf("bind to eth0", terr)
	}
	if terr := ep.Bind(tcpip.FullAddress{NIC: deviceNIC, Port: clientPort}); terr != nil {
		ep.Close()
		return errorf("bind to port 68", terr)
	}
	c.conn = gonet.NewUDPConn(&wq, ep)
	return nil
}

// setUnspecified adds 0.0.0.0 to the device, or takes it away.
func (c *dhcpClient) setUnspecified(on bool) error {
	unspecified := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: header.IPv4Any, PrefixLen: 32},
	}
	if !on {
		c.stack.RemoveAddress(deviceNIC, header.IPv4Any)
		return nil
	}
	if err := c.stack.AddProtocolAddress(deviceNIC, unspecified, stack.AddressProperties{}); err != nil {
		return errorf("address 0.0.0.0", err)
	}
	return nil
}

func errorf(what string, err tcpip.Error) error { return fmt.Errorf("%s: %s", what, err) }

// run keeps the guest addressed for as long as it runs: it finds a lease,
// keeps it, and starts over when it is lost. bound is closed at the first.
func (c *dhcpClient) run(bound chan struct{}) {
	for {
		l := c.acquire()
		c.apply(l)
		if bound != nil {
			close(bound)
			bound = nil
		}
		c.keep(l)
		c.drop()
	}
}

// acquire broadcasts DISCOVER until a server offers an address, then
// REQUESTs it; it returns the lease. A NAK, no ACK, or an answer without a
// usable address starts over, after a pause that doubles each time, so a
// server that keeps refusing is not asked at the speed of the network.
func (c *dhcpClient) acquire() *lease {
	for pause := time.Duration(0); ; pause = min(max(2*pause, time.Second), maxBackoff) {
		time.Sleep(pause)
		disc, err := dhcpv4.NewDiscovery(c.mac, c.common()...)
		if err != nil {
			println("mote: dhcp:", err.Error())
			continue
		}
		offer := c.exchange(disc, net.IPv4bcast, time.Time{}, dhcpv4.MessageTypeOffer)
		if offer == nil || offer.YourIPAddr.To4() == nil || offer.YourIPAddr.IsUnspecified() {
			continue
		}
		req, err := dhcpv4.NewRequestFromOffer(offer, c.common()...)
		if err != nil {
			continue
		}
		// A server that does not answer in a few tries has likely given the
		// address to another: ask again from the start (RFC 2131 3.1, 4).
		ack := c.exchange(req, net.IPv4bcast, time.Now().Add(15*time.Second),
			dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak)
		if ack != nil && ack.MessageType() == dhcpv4.MessageTypeAck {
			if l := leaseOf(ack); l != nil {
				return l
			}
		}
	}
}

// common are the options of every message the client sends: replies
// broadcast (the guest cannot take a unicast frame for an address it does
// not have yet), the guest's host name, and what it wants to know.
func (c *dhcpClient) common() []dhcpv4.Modifier {
	m := []dhcpv4.Modifier{
		dhcpv4.WithBroadcast(true),
		dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter,
			dhcpv4.OptionDomainNameServer, dhcpv4.OptionIPAddressLeaseTime,
			dhcpv4.OptionRenewTimeValue, dhcpv4.OptionRebindingTimeValue),
	}
	if c.hostname != "" {
		m = append(m, dhcpv4.WithOption(dhcpv4.OptHostName(c.hostname)))
	}
	return m
}

// exchange sends msg to dst:67 and waits for an answer of one of the types
// with msg's transaction id, resending with exponential backoff (1 s, 2 s,
// ... 64 s, each ±0.5 s) until the deadline (none if zero). nil when the
// deadline passed.
func (c *dhcpClient) exchange(msg *dhcpv4.DHCPv4, dst net.IP, deadline time.Time, types ...dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	out := msg.ToBytes()
	to := &net.UDPAddr{IP: dst, Port: serverPort}
	buf := make([]byte, 1500)
	for wait := time.Second; ; wait = min(2*wait, maxBackoff) {
		until := time.Now().Add(wait + time.Duration(rand.Int64N(int64(time.Second))) - time.Second/2)
		if !deadline.IsZero() && until.After(deadline) {
			until = deadline
		}
		if _, err := c.conn.WriteTo(out, to); err != nil {
			time.Sleep(time.Until(until)) // no route (yet): as if unanswered
		} else if reply := c.read(buf, until, msg, types); reply != nil {
			return reply
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return nil
		}
	}
}

// read returns the first answer to msg of one of the types before until.
func (c *dhcpClient) read(buf []byte, until time.Time, msg *dhcpv4.DHCPv4, types []dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	c.conn.SetReadDeadline(until)
	for {
		n, _, err := c.conn.ReadFrom(buf)
		if err != nil {
			return nil // the deadline
		}
		reply, err := dhcpv4.FromBytes(buf[:n])
		if err != nil || reply.OpCode != dhcpv4.OpcodeBootReply ||
			reply.TransactionID != msg.TransactionID || reply.ClientHWAddr.String() != c.mac.String() {
			continue // not for this guest, or not DHCP
		}
		for _, t := range types {
			if reply.MessageType() == t {
				return reply
			}
		}
	}
}

// apply puts a lease into effect: the address, its subnet's route, the
// default route, and the kernel's view; only what changed.
func (c *dhcpClient) apply(l *lease) {
	old := c.cur
	if old != nil && old.ip == l.ip && old.prefix == l.prefix && old.gw == l.gw && sameAddrs(old.dns, l.dns) {
		c.cur = l
		return
	}
	c.unroute()
	if old != nil && old.ip != l.ip {
		c.stack.RemoveAddress(deviceNIC, old.ip)
	}
	if err := c.stack.AddProtocolAddress(deviceNIC, tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: l.ip, PrefixLen: l.prefix},
	}, stack.AddressProperties{}); err != nil {
		if _, exists := err.(*tcpip.ErrDuplicateAddress); !exists {
			println("mote: dhcp: address:", err.String())
		}
	}
	c.setUnspecified(false)
	c.stack.AddRoute(tcpip.Route{Destination: subnet(l.ip, l.prefix), NIC: deviceNIC})
	if l.gw != (tcpip.Address{}) {
		c.stack.AddRoute(tcpip.Route{Destination: header.IPv4EmptySubnet, Gateway: l.gw, NIC: deviceNIC})
	}
	c.cur = l
	report(l.report())
}

// report is l as the kernel takes it.
func (l *lease) report() leaseReport {
	r := leaseReport{State: leaseBound, Prefix: uint8(l.prefix), NDNS: uint8(len(l.dns)),
		Seconds: uint32(min(l.length/time.Second, 1<<32-1))}
	r.IP, r.GW, r.Server = as4(l.ip), as4(l.gw), as4(l.server)
	for i, d := range l.dns {
		r.DNS[i] = as4(d)
	}
	return r
}

// as4 is a as four bytes; zeros for none (a lease without a router).
func as4(a tcpip.Address) [4]byte {
	if a.Len() != 4 {
		return [4]byte{}
	}
	return a.As4()
}

// minLease bounds how often the client renews, whatever a server says.
const minLease = 10 * time.Second

// leaseOf reads an ACK; nil if it grants no usable address. Times the
// server leaves out take RFC 2131's defaults (T1 half the lease, T2 seven
// eighths); a missing mask, the address's class (RFC 2131 3.3 leaves it to
// the client); a mask that is not a prefix, /32.
func leaseOf(ack *dhcpv4.DHCPv4) *lease {
	ip := ack.YourIPAddr.To4()
	if ip == nil || !ip.IsGlobalUnicast() && !ip.IsPrivate() {
		return nil
	}
	mask := ack.SubnetMask()
	if mask == nil {
		mask = ip.DefaultMask()
	}
	prefix, bits := mask.Size()
	if prefix == 0 || bits != 32 {
		prefix = 32
	}
	l := &lease{ip: tcpip.AddrFrom4Slice(ip), prefix: prefix, length: max(ack.IPAddressLeaseTime(time.Hour), minLease)}
	if s := ack.ServerIdentifier().To4(); s != nil {
		l.server = tcpip.AddrFrom4Slice(s)
	}
	for _, r := range ack.Router() {
		if r4 := r.To4(); r4 != nil && !r4.IsUnspecified() {
			l.gw = tcpip.AddrFrom4Slice(r4)
			break
		}
	}
	for _, d := range ack.DNS() {
		if d4 := d.To4(); d4 != nil && len(l.dns) < maxDNS {
			l.dns = append(l.dns, tcpip.AddrFrom4Slice(d4))
		}
	}
	l.t1 = ack.IPAddressRenewalTime(l.length / 2)
	l.t2 = ack.IPAddressRebindingTime(l.length * 7 / 8)
	if l.t2 <= 0 || l.t2 > l.length {
		l.t2 = l.length * 7 / 8
	}
	if l.t1 <= 0 || l.t1 > l.t2 {
		l.t1 = l.t2 / 2
	}
	return l
}

func sameAddrs(a, b []tcpip.Address) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// keep renews l at T1 from its server, and past T2 from any server, and
// returns when it has run out or a server refused it.
func (c *dhcpClient) keep(l *lease) {
	start := time.Now()
	for {
		t1, t2, end := start.Add(l.t1), start.Add(l.t2), start.Add(l.length)
		time.Sleep(time.Until(t1))
		ack := c.renew(l, net.IP(l.server.AsSlice()), t2)
		if ack == nil {
			ack = c.renew(l, net.IPv4bcast, end)
		}
		if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
			return
		}
		if l = leaseOf(ack); l == nil {
			return
		}
		start = time.Now()
		c.apply(l)
	}
}

// renew asks to extend l (RFC 2131 4.3.2: RENEWING unicast to the server
// that granted it, REBINDING broadcast): ciaddr set, no server identifier
// or requested address. It returns the ACK or NAK, or nil at the deadline.
func (c *dhcpClient) renew(l *lease, to net.IP, deadline time.Time) *dhcpv4.DHCPv4 {
	mods := append(c.common(),
		dhcpv4.WithHwAddr(c.mac),
		dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithClientIP(net.IP(l.ip.AsSlice())),
		dhcpv4.WithBroadcast(false))
	req, err := dhcpv4.New(mods...)
	if err != nil {
		return nil
	}
	return c.exchange(req, to, deadline, dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak)
}

// drop gives up the lease in force: its address and routes go, and the
// device holds 0.0.0.0 again to ask for a new one.
func (c *dhcpClient) drop() {
	c.unroute()
	if c.cur != nil {
		c.stack.RemoveAddress(deviceNIC, c.cur.ip)
		c.cur = nil
	}
	c.setUnspecified(true)
	report(leaseReport{State: leaseLost})
}

// unroute removes the device's routes.
func (c *dhcpClient) unroute() {
	c.stack.RemoveRoutes(func(r tcpip.Route) bool { return r.NIC == deviceNIC })
}

// report tells the kernel what DHCP found.
func report(r leaseReport) {
	if _, _, e := syscall.RawSyscall(nrNetConfig, uintptr(unsafe.Pointer(&r)), 0, 0); e != 0 {
		println("mote: dhcp: the kernel refused the lease:", e.Error())
	}
}
