// Package usernet is a guest's network on the host, run by mote in user mode, as
// QEMU's user networking would be, and without root. QEMU carries the guest's
// Ethernet frames over a stream socket to a netstack here, which plays three
// parts:
//
//   - the gateway, 10.0.2.2, which is the host's loopback: a guest connection to
//     10.0.2.2:PORT reaches 127.0.0.1:PORT on the host;
//   - the resolver, 10.0.2.3, which answers host.mote.internal itself and passes
//     every other query to the host's name server;
//   - the NAT: the guest's TCP connections and UDP flows to any other address
//     leave through the host's own sockets.
//
// Published ports come in through host listeners (Publish), whose connections
// the netstack dials into the guest.
//
// The guest's side of the contract is fixed: address 10.0.2.15/24, gateway
// 10.0.2.2, resolver 10.0.2.3, the addresses of QEMU's user network, so a
// guest's configuration does not depend on which of the two it is on.
package usernet

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/log"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// The network's addresses.
var (
	GuestIP  = netip4(10, 0, 2, 15)
	Gateway  = netip4(10, 0, 2, 2)
	Resolver = netip4(10, 0, 2, 3)
	subnet   = tcpip.AddressWithPrefix{Address: netip4(10, 0, 2, 0), PrefixLen: 24}.Subnet()
)

// HostName is the name the resolver gives the gateway, as containers know the
// host by host.docker.internal.
const HostName = "host.mote.internal"

const (
	nicID = 1
	// frameMTU is the largest frame: Ethernet's 14-byte header and a 1500-byte payload.
	frameMTU = 1514
	// queueLen is the number of frames the netstack may queue for the guest.
	queueLen = 1024
	// timeWait is the TIME_WAIT of the netstack's own connections. Netstack's
	// default (60 s) would hold an ephemeral port per published connection for
	// a minute; the guest's side keeps its own TIME_WAIT.
	timeWait = 5 * time.Second
	// dialTimeout bounds a connection from the guest to the outside world.
	dialTimeout = 30 * time.Second
)

func netip4(a, b, c, d byte) tcpip.Address { return tcpip.AddrFrom4([4]byte{a, b, c, d}) }

// Config is one guest's network.
type Config struct {
	// Socket is where QEMU's netdev connects (a Unix socket path; it must not exist).
	Socket  string
	Publish []Publish
	// Log, if set, is told about failures that only the guest would otherwise see,
	// such as a published connection the guest refused.
	Log func(format string, args ...any)
}

// Network is a running user-mode network for one guest.
type Network struct {
	cfg    Config
	stack  *stack.Stack
	link   *channel.Endpoint
	ln     *net.UnixListener
	pubs   []publisher
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	out  sync.Mutex    // serializes frames to QEMU
	w    *bufio.Writer // to QEMU, once connected
	qemu net.Conn

	nextPort atomic.Uint32 // see dialGuest

	mu    sync.Mutex
	conns map[net.Conn]struct{} // open connections, closed by Close
}

// Start binds the socket QEMU connects to and every published host port, so a
// port already in use is an error here, before the guest boots.
func Start(cfg Config) (*Network, error) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: cfg.Socket, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("network socket: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Network{cfg: cfg, ln: ln, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
	if err := n.newStack(); err != nil {
		ln.Close()
		cancel()
		return nil, err
	}
	for _, p := range cfg.Publish {
		pub, err := p.listen()
		if err != nil {
			n.Close()
			return nil, err
		}
		n.pubs = append(n.pubs, pub)
	}
	for _, pub := range n.pubs {
		n.wg.Go(func() { pub.serve(n) })
	}
	n.wg.Go(n.serveQEMU)
	return n, nil
}

// discard is a netstack log target that drops everything: netstack's
// warnings are about the guest's traffic and would land on mote's stderr.
type discard struct{}

func (discard) Emit(int, log.Level, time.Time, string, ...any) {}

func (n *Network) newStack() error {
	log.SetTarget(discard{})
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
	})
	n.stack = s
	tw := tcpip.TCPTimeWaitTimeoutOption(timeWait)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &tw); err != nil {
		return fmt.Errorf("network: %s", err)
	}
	sack := tcpip.TCPSACKEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	n.link = channel.New(queueLen, frameMTU, tcpip.LinkAddress("\x52\x55\x0a\x00\x02\x02"))
	if err := s.CreateNIC(nicID, ethernet.New(n.link)); err != nil {
		return fmt.Errorf("network: %s", err)
	}
	for _, a := range []tcpip.Address{Gateway, Resolver} {
		pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: a, PrefixLen: 24}}
		if err := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("network: %s", err)
		}
	}
	// A connection to a published port can come before the guest's network is
	// up, and its ARP request then goes unanswered; netstack's default asks
	// again only after a second, which a guest that is up in a tenth of that
	// would wait out. Ask every 20 ms for up to 10 s instead.
	nud := stack.DefaultNUDConfigurations()
	nud.RetransmitTimer = 20 * time.Millisecond
	nud.MaxMulticastProbes = 500
	if err := s.SetNUDConfigurations(nicID, ipv4.ProtocolNumber, nud); err != nil {
		return fmt.Errorf("network: %s", err)
	}
	// Promiscuous and spoofing: the guest's packets to any address arrive here,
	// and the answers leave from that address, which is what makes the NAT.
	s.SetPromiscuousMode(nicID, true)
	s.SetSpoofing(nicID, true)
	s.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: nicID}})
	s.SetTransportProtocolHandler(tcp.ProtocolNumber, tcp.NewForwarder(s, 0, 1024, n.forwardTCP).HandlePacket)
	s.SetTransportProtocolHandler(udp.ProtocolNumber, udp.NewForwarder(s, n.forwardUDP).HandlePacket)
	return nil
}

// Socket is the stream socket QEMU's netdev connects to.
func (n *Network) Socket() string { return n.cfg.Socket }

// Close stops the network: the listeners, every connection and the netstack.
func (n *Network) Close() error {
	n.cancel()
	n.ln.Close()
	for _, p := range n.pubs {
		p.close()
	}
	n.mu.Lock()
	for c := range n.conns {
		c.Close()
	}
	n.mu.Unlock()
	if n.stack != nil {
		n.link.Close()
		n.stack.Close()
	}
	n.wg.Wait()
	if n.stack != nil {
		n.stack.Wait()
	}
	os.Remove(n.cfg.Socket)
	return nil
}

// track registers c to be closed by Close; the returned function forgets it.
func (n *Network) track(c net.Conn) (untrack func()) {
	n.mu.Lock()
	n.conns[c] = struct{}{}
	n.mu.Unlock()
	return func() {
		n.mu.Lock()
		delete(n.conns, c)
		n.mu.Unlock()
	}
}

func (n *Network) logf(format string, args ...any) {
	if n.cfg.Log != nil {
		n.cfg.Log(format, args...)
	}
}
