package usernet

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

// Publish is one guest port published on the host, as -p gives it.
type Publish struct {
	Proto     string // "tcp" or "udp"
	HostIP    string // "" for every address
	HostPort  int
	GuestPort int
}

// ParsePublish reads [HOSTIP:]HOSTPORT:GUESTPORT[/udp], as docker run -p does.
func ParsePublish(s string) (Publish, error) {
	p := Publish{Proto: "tcp"}
	spec := s
	if base, proto, ok := strings.Cut(s, "/"); ok {
		if proto != "tcp" && proto != "udp" {
			return p, fmt.Errorf("-p %s: protocol %q: use tcp or udp", s, proto)
		}
		spec, p.Proto = base, proto
	}
	i := strings.LastIndex(spec, ":")
	if i < 0 {
		return p, fmt.Errorf("-p %s: want [HOSTIP:]HOSTPORT:GUESTPORT, e.g. -p 8080:80", s)
	}
	host, guest := spec[:i], spec[i+1:]
	if j := strings.LastIndex(host, ":"); j >= 0 {
		p.HostIP = strings.Trim(host[:j], "[]")
		host = host[j+1:]
		if net.ParseIP(p.HostIP) == nil {
			return p, fmt.Errorf("-p %s: %q is not an IP address", s, p.HostIP)
		}
	}
	var err error
	if p.HostPort, err = port(host); err != nil {
		return p, fmt.Errorf("-p %s: host port: %v", s, err)
	}
	if p.GuestPort, err = port(guest); err != nil {
		return p, fmt.Errorf("-p %s: guest port: %v", s, err)
	}
	return p, nil
}

func port(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port (1-65535)", s)
	}
	return n, nil
}

// Addr is the host address the port is published on.
func (p Publish) Addr() string { return net.JoinHostPort(p.HostIP, strconv.Itoa(p.HostPort)) }

// publisher serves one published port.
type publisher interface {
	serve(n *Network)
	close()
}

// connectTimeout bounds the netstack's connection into the guest, which
// waits out ARP and retransmits the SYN while the guest is still booting.
const connectTimeout = 10 * time.Second

func (p Publish) String() string {
	return fmt.Sprintf("%s->%d/%s", p.Addr(), p.GuestPort, p.Proto)
}

// CheckFree reports a host port that is taken now, for a caller that binds it
// later (a background instance's supervisor).
func (p Publish) CheckFree() error {
	pub, err := p.listen()
	if err != nil {
		return err
	}
	pub.close()
	return nil
}

func (p Publish) listen() (publisher, error) {
	if p.Proto == "udp" {
		c, err := net.ListenPacket("udp", p.Addr())
		if err != nil {
			return nil, fmt.Errorf("host port %s/udp is in use or not available: %v; publish another with -p", p.Addr(), err)
		}
		return &udpPublisher{p: p, pc: c, flows: map[string]net.Conn{}}, nil
	}
	l, err := net.Listen("tcp", p.Addr())
	if err != nil {
		return nil, fmt.Errorf("host port %s is in use or not available: %v; publish another with -p", p.Addr(), err)
	}
	return &tcpPublisher{p: p, ln: l}, nil
}

func (p Publish) guest() tcpip.FullAddress {
	return tcpip.FullAddress{NIC: nicID, Addr: GuestIP, Port: uint16(p.GuestPort)}
}

// Source ports of connections into the guest go round the range in turn.
// Netstack would pick them at random, and a random pick soon lands on a
// 4-tuple the guest still holds in TIME_WAIT (60 s): the guest drops that
// SYN and the connection waits a second for the retry. In turn, a port comes
// back only after the whole range has been used: over 60 s later below
// about 470 new connections a second.
const (
	firstPort = 32768
	numPorts  = 28232 // to 60999, Linux's default ephemeral range
)

// dialGuest connects to the guest from the gateway's address and the next
// free source port.
func (n *Network) dialGuest(to tcpip.FullAddress) (*gonet.TCPConn, error) {
	ctx, cancel := context.WithTimeout(n.ctx, connectTimeout)
	defer cancel()
	var err error
	for range 64 {
		from := tcpip.FullAddress{NIC: nicID, Addr: Gateway, Port: uint16(firstPort + n.nextPort.Add(1)%numPorts)}
		var c *gonet.TCPConn
		if c, err = gonet.DialTCPWithBind(ctx, n.stack, from, to, ipv4.ProtocolNumber); err == nil {
			return c, nil
		}
		if !strings.Contains(err.Error(), "port is in use") {
			return nil, err
		}
	}
	return nil, err
}

// tcpPublisher accepts on the host with the host kernel's full backlog and
// connects each connection into the guest.
type tcpPublisher struct {
	p  Publish
	ln net.Listener
}

func (t *tcpPublisher) close() { t.ln.Close() }

func (t *tcpPublisher) serve(n *Network) {
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return
		}
		n.wg.Go(func() {
			gc, err := n.dialGuest(t.p.guest())
			if err != nil {
				// Like a refused connection: the guest is not listening (yet).
				c.Close()
				return
			}
			splice(n, gc, c.(*net.TCPConn))
		})
	}
}

// udpPublisher gives each host client its own flow into the guest, so the
// guest's replies find their way back.
type udpPublisher struct {
	p     Publish
	pc    net.PacketConn
	mu    sync.Mutex
	flows map[string]net.Conn
}

func (u *udpPublisher) close() { u.pc.Close() }

func (u *udpPublisher) serve(n *Network) {
	buf := make([]byte, 65536)
	for {
		k, from, err := u.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		u.mu.Lock()
		gc := u.flows[from.String()]
		if gc == nil {
			to := u.p.guest()
			if gc, err = gonet.DialUDP(n.stack, nil, &to, ipv4.ProtocolNumber); err != nil {
				u.mu.Unlock()
				continue
			}
			u.flows[from.String()] = gc
			n.wg.Go(func() { u.replies(n, gc, from) })
		}
		u.mu.Unlock()
		gc.Write(buf[:k])
	}
}

// replies returns the guest's datagrams on a flow to its host client until
// the flow is idle.
func (u *udpPublisher) replies(n *Network, gc net.Conn, to net.Addr) {
	defer n.track(gc)()
	buf := make([]byte, 65536)
	for {
		gc.SetReadDeadline(time.Now().Add(udpIdle))
		k, err := gc.Read(buf)
		if err != nil {
			break
		}
		u.pc.WriteTo(buf[:k], to)
	}
	u.mu.Lock()
	delete(u.flows, to.String())
	u.mu.Unlock()
	gc.Close()
}
