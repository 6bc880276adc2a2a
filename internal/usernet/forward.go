package usernet

import (
	"errors"
	"io"
	"net"
	"strconv"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// udpIdle ends a UDP flow nobody has used for this long, as NATs do.
const udpIdle = 60 * time.Second

// hostAddr is where a guest's connection to addr:port goes on the host, and
// false when there is nothing there.
func (n *Network) hostAddr(addr tcpip.Address, port uint16) (string, bool) {
	switch {
	case addr == Gateway:
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))), true
	case addr == Resolver && port == 53:
		ns, err := hostNameserver()
		if err != nil {
			n.logf("network: %v", err)
			return "", false
		}
		return net.JoinHostPort(ns, "53"), true
	case subnet.Contains(addr):
		return "", false // the guest's own subnet holds nobody else
	}
	return net.JoinHostPort(addr.String(), strconv.Itoa(int(port))), true
}

// forwardTCP connects a guest's new TCP connection to the host. The guest's
// handshake completes only once the host's does, so a refused connection is
// refused in the guest too (a reset).
func (n *Network) forwardTCP(r *tcp.ForwarderRequest) {
	id := r.ID() // Local is where the guest is going
	target, ok := n.hostAddr(id.LocalAddress, id.LocalPort)
	if !ok {
		r.Complete(true)
		return
	}
	d := net.Dialer{Timeout: dialTimeout}
	hc, err := d.DialContext(n.ctx, "tcp", target)
	if err != nil {
		r.Complete(true)
		return
	}
	var wq waiter.Queue
	ep, terr := r.CreateEndpoint(&wq)
	if terr != nil {
		r.Complete(true)
		hc.Close()
		return
	}
	r.Complete(false)
	splice(n, gonet.NewTCPConn(&wq, ep), hc.(*net.TCPConn))
}

// forwardUDP starts a flow for a guest's datagram to a new destination.
func (n *Network) forwardUDP(r *udp.ForwarderRequest) bool {
	id := r.ID()
	var wq waiter.Queue
	if id.LocalAddress == Resolver && id.LocalPort == 53 {
		ep, err := r.CreateEndpoint(&wq)
		if err != nil {
			return false
		}
		gc := gonet.NewUDPConn(&wq, ep)
		n.wg.Go(func() { n.serveDNS(gc) })
		return true
	}
	target, ok := n.hostAddr(id.LocalAddress, id.LocalPort)
	if !ok {
		return false // the stack answers port unreachable
	}
	ep, err := r.CreateEndpoint(&wq)
	if err != nil {
		return false
	}
	gc := gonet.NewUDPConn(&wq, ep)
	n.wg.Go(func() {
		hc, err := net.Dial("udp", target)
		if err != nil {
			gc.Close()
			return
		}
		relayUDP(n, gc, hc)
	})
	return true
}

// relayUDP moves datagrams between a guest flow and a host socket until it
// has been idle for udpIdle or the network closes.
func relayUDP(n *Network, guest, host net.Conn) {
	defer n.track(guest)()
	defer n.track(host)()
	defer guest.Close()
	defer host.Close()
	done := make(chan struct{}, 2)
	pump := func(dst, src net.Conn) {
		buf := make([]byte, 65536)
		for {
			src.SetReadDeadline(time.Now().Add(udpIdle))
			k, err := src.Read(buf)
			if err != nil {
				break
			}
			dst.Write(buf[:k])
		}
		done <- struct{}{}
	}
	go pump(host, guest)
	go pump(guest, host)
	<-done // either side idle or closed ends the flow
	guest.Close()
	host.Close()
	<-done
}

// halfCloser is a stream that can end its writing half alone.
type halfCloser interface {
	net.Conn
	CloseWrite() error
}

// splice copies a and b into each other. An end of stream is passed on as a
// half close, so protocols that shut down one direction first work; an error
// on either side ends both.
func splice(n *Network, a, b halfCloser) {
	defer n.track(a)()
	defer n.track(b)()
	errc := make(chan error, 2)
	cp := func(dst, src halfCloser) {
		_, err := io.Copy(dst, src)
		if err == nil {
			err = dst.CloseWrite()
		}
		errc <- err
	}
	go cp(a, b)
	go cp(b, a)
	if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
		a.Close()
		b.Close()
	}
	<-errc
	a.Close()
	b.Close()
}
