package usernet

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// guest is a netstack standing in for a mote guest: 10.0.2.15/24 behind
// 10.0.2.2, its frames on the network's socket in QEMU's stream framing.
type guest struct {
	s    *stack.Stack
	link *channel.Endpoint
	conn net.Conn
}

func startGuest(t *testing.T, socket string) *guest {
	t.Helper()
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	link := channel.New(1024, frameMTU, tcpip.LinkAddress("\x52\x54\x00\x12\x34\x56"))
	if err := s.CreateNIC(1, ethernet.New(link)); err != nil {
		t.Fatal(err)
	}
	s.AddProtocolAddress(1, tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: GuestIP, PrefixLen: 24}}, stack.AddressProperties{})
	s.SetRouteTable([]tcpip.Route{
		{Destination: subnet, NIC: 1},
		{Destination: header.IPv4EmptySubnet, Gateway: Gateway, NIC: 1},
	})
	c, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	g := &guest{s: s, link: link, conn: c}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // to the network
		var hdr [4]byte
		for {
			pkt := link.ReadContext(ctx)
			if pkt == nil {
				return
			}
			v := pkt.ToView()
			binary.BigEndian.PutUint32(hdr[:], uint32(v.Size()))
			c.Write(append(hdr[:], v.AsSlice()...))
			v.Release()
			pkt.DecRef()
		}
	}()
	go func() { // from the network
		r := bufio.NewReader(c)
		var hdr [4]byte
		for {
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				return
			}
			frame := make([]byte, binary.BigEndian.Uint32(hdr[:]))
			if _, err := io.ReadFull(r, frame); err != nil {
				return
			}
			pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
			link.InjectInbound(0, pkt)
			pkt.DecRef()
		}
	}()
	t.Cleanup(func() {
		cancel()
		c.Close()
		link.Close()
		s.Close()
	})
	return g
}

func startNetwork(t *testing.T, pubs ...Publish) *Network {
	t.Helper()
	n, err := Start(Config{Socket: filepath.Join(t.TempDir(), "net.sock"), Publish: pubs, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestGuestReachesHost: the gateway is the host's loopback, by address and by
// the resolver's name for it, and a closed port is refused, not left hanging.
func TestGuestReachesHost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host: %s", r.URL.Path)
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	n := startNetwork(t)
	g := startGuest(t, n.Socket())

	// The guest resolves host.mote.internal at 10.0.2.3.
	to := tcpip.FullAddress{NIC: 1, Addr: Resolver, Port: 53}
	dc, err := gonet.DialUDP(g.s, nil, &to, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	dc.Write(dnsQuery(t, HostName+"."))
	dc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	k, err := dc.Read(buf)
	if err != nil {
		t.Fatalf("no answer from the resolver: %v", err)
	}
	if a := dnsAnswerA(t, buf[:k]); a != "10.0.2.2" {
		t.Fatalf("%s resolved to %q, want 10.0.2.2", HostName, a)
	}

	client := http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			host, p, _ := net.SplitHostPort(addr)
			var pn int
			fmt.Sscan(p, &pn)
			ip := Gateway
			if host != HostName && host != "10.0.2.2" {
				ip = tcpip.AddrFromSlice(net.ParseIP(host).To4())
			}
			return gonet.DialContextTCP(ctx, g.s, tcpip.FullAddress{NIC: 1, Addr: ip, Port: uint16(pn)}, ipv4.ProtocolNumber)
		},
	}}
	resp, err := client.Get(fmt.Sprintf("http://10.0.2.2:%d/x", port))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "host: /x" {
		t.Errorf("GET through the gateway = %q", b)
	}

	closed := freePort(t, "tcp")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if c, err := gonet.DialContextTCP(ctx, g.s, tcpip.FullAddress{NIC: 1, Addr: Gateway, Port: uint16(closed)}, ipv4.ProtocolNumber); err == nil {
		c.Close()
		t.Error("a closed host port accepted the guest's connection")
	} else if !strings.Contains(err.Error(), "refused") {
		t.Errorf("a closed host port: %v, want connection refused", err)
	}
}

// TestPublished: 2,000 fresh connections, 64 at a time, reach a guest server
// through a published port, every one answered; and a UDP port echoes.
func TestPublished(t *testing.T) {
	tcpPort, udpPort := freePort(t, "tcp"), freePort(t, "udp")
	n := startNetwork(t,
		Publish{Proto: "tcp", HostIP: "127.0.0.1", HostPort: tcpPort, GuestPort: 8080},
		Publish{Proto: "udp", HostIP: "127.0.0.1", HostPort: udpPort, GuestPort: 9000})
	g := startGuest(t, n.Socket())

	ln, err := gonet.ListenTCP(g.s, tcpip.FullAddress{NIC: 1, Addr: GuestIP, Port: 8080}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "guest: %s", r.URL.Path)
	}))
	pc, err := gonet.DialUDP(g.s, &tcpip.FullAddress{NIC: 1, Addr: GuestIP, Port: 9000}, nil, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:k], from)
		}
	}()

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	jobs := make(chan int)
	for range 64 {
		wg.Go(func() {
			for i := range jobs {
				want := fmt.Sprintf("guest: /r%d", i)
				resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/r%d", tcpPort, i))
				var b []byte
				if err == nil {
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				if err != nil || string(b) != want {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("/r%d: %q %v", i, b, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range 2000 {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d of 2000 fresh connections failed, e.g. %s", len(failures), failures[0])
	}

	uc, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", udpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	buf := make([]byte, 64)
	for i := range 100 {
		msg := fmt.Sprintf("datagram %d", i)
		uc.Write([]byte(msg))
		uc.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, err := uc.Read(buf)
		if err != nil || string(buf[:k]) != msg {
			t.Fatalf("UDP echo %d: %q, %v", i, buf[:k], err)
		}
	}
}

// TestPortInUse: a published port someone else holds is an error naming it,
// before any guest boots.
func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(Config{Socket: filepath.Join(t.TempDir(), "net.sock"),
		Publish: []Publish{{Proto: "tcp", HostIP: "127.0.0.1", HostPort: port, GuestPort: 80}}})
	want := fmt.Sprintf("host port 127.0.0.1:%d is in use", port)
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "publish another with -p") {
		t.Fatalf("Start = %v, want an error containing %q", err, want)
	}
}

// TestBadFrames: garbage and runt frames from QEMU's side are dropped, never a
// crash, and a length past any frame closes the link instead of allocating it.
func TestBadFrames(t *testing.T) {
	n := startNetwork(t)
	c, err := net.Dial("unix", n.Socket())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(frame []byte) {
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(frame)))
		if _, err := c.Write(append(hdr[:], frame...)); err != nil {
			t.Fatal(err)
		}
	}
	send(nil)
	send([]byte{1, 2, 3})
	for i := range 200 {
		f := make([]byte, 14+i*7%1500)
		for j := range f {
			f[j] = byte(i*31 + j*17)
		}
		if i%2 == 0 {
			copy(f[12:], []byte{0x08, 0x00}) // claims IPv4
		}
		send(f)
	}
	// A length no frame has: the network closes the link.
	c.Write([]byte{0xff, 0xff, 0xff, 0xff})
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("the link stayed open after an impossible length: %v", err)
	}
}

func dnsQuery(t *testing.T, name string) []byte {
	t.Helper()
	q := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		q = append(q, byte(len(label)))
		q = append(q, label...)
	}
	return append(q, 0, 0, 1, 0, 1) // type A, class IN
}

func dnsAnswerA(t *testing.T, m []byte) string {
	t.Helper()
	if len(m) < 12 || m[0] != 0x12 || m[1] != 0x34 || m[2]&0x80 == 0 {
		t.Fatalf("not an answer to the query: %x", m)
	}
	if len(m) < 4 {
		return ""
	}
	a := m[len(m)-4:] // the one A record's data ends the message
	return net.IP(a).String()
}

// TestGuestUDPAndDNS: a guest's UDP flow to the host goes out through the NAT and its
// answers come back; a query for another name goes to the host's name server (a fake one
// here, named in a resolv.conf of the test's), and its answer reaches the guest unchanged.
func TestGuestUDPAndDNS(t *testing.T) {
	echo, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			k, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			echo.WriteTo(append([]byte("echo: "), buf[:k]...), from)
		}
	}()
	// The fake name server answers every query with its own bytes and the QR bit set.
	ns, err := net.ListenPacket("udp", "127.0.0.77:53")
	if err != nil {
		t.Skipf("no fake name server on 127.0.0.77:53 (needs root): %v", err)
	}
	defer ns.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			k, from, err := ns.ReadFrom(buf)
			if err != nil {
				return
			}
			buf[2] |= 0x80
			ns.WriteTo(buf[:k], from)
		}
	}()
	rc := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(rc, []byte("# test\nnameserver 127.0.0.77\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func(old string) { resolvConf = old }(resolvConf)
	resolvConf = rc

	n := startNetwork(t)
	g := startGuest(t, n.Socket())
	port := uint16(echo.LocalAddr().(*net.UDPAddr).Port)
	uc, err := gonet.DialUDP(g.s, nil, &tcpip.FullAddress{NIC: 1, Addr: Gateway, Port: port}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	buf := make([]byte, 512)
	for i := range 10 {
		msg := fmt.Sprintf("datagram %d", i)
		uc.Write([]byte(msg))
		uc.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, err := uc.Read(buf)
		if err != nil || string(buf[:k]) != "echo: "+msg {
			t.Fatalf("UDP through the NAT: %q, %v", buf[:k], err)
		}
	}

	dc, err := gonet.DialUDP(g.s, nil, &tcpip.FullAddress{NIC: 1, Addr: Resolver, Port: 53}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	q := dnsQuery(t, "example.org.")
	dc.Write(q)
	dc.SetReadDeadline(time.Now().Add(10 * time.Second))
	k, err := dc.Read(buf)
	if err != nil {
		t.Fatalf("no answer through the resolver: %v", err)
	}
	if want := append([]byte{q[0], q[1], q[2] | 0x80}, q[3:]...); string(buf[:k]) != string(want) {
		t.Errorf("the host name server's answer arrived as %x, want %x", buf[:k], want)
	}
}
