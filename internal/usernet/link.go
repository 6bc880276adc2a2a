package usernet

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// QEMU's stream netdev sends each Ethernet frame after its length, a 32-bit
// big-endian number (net/stream.c, the same framing as -netdev socket).
const maxFrame = 65536

// serveQEMU takes QEMU's one connection and moves frames both ways until it
// closes.
func (n *Network) serveQEMU() {
	c, err := n.ln.AcceptUnix()
	if err != nil {
		return // closed before QEMU connected
	}
	n.ln.Close() // one guest per network
	defer n.track(c)()
	defer c.Close()
	done := make(chan struct{})
	go func() {
		n.transmit(c)
		close(done)
	}()
	n.receive(c)
	c.Close()
	<-done
}

// receive hands the guest's frames to the netstack.
func (n *Network) receive(c net.Conn) {
	r := bufio.NewReaderSize(c, 256<<10)
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(hdr[:])
		if size > maxFrame {
			n.logf("network: QEMU sent a %d-byte frame; the link is out of step, closing it", size)
			return
		}
		frame := make([]byte, size)
		if _, err := io.ReadFull(r, frame); err != nil {
			return
		}
		if size < header.EthernetMinimumSize {
			continue
		}
		pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
		n.link.InjectInbound(0, pkt)
		pkt.DecRef()
	}
}

// transmit sends the netstack's frames to the guest, flushing when no more
// are queued.
func (n *Network) transmit(c net.Conn) {
	w := bufio.NewWriterSize(c, 256<<10)
	var hdr [4]byte
	for {
		pkt := n.link.ReadContext(n.ctx)
		if pkt == nil {
			return // closed
		}
		v := pkt.ToView()
		binary.BigEndian.PutUint32(hdr[:], uint32(v.Size()))
		w.Write(hdr[:])
		_, err := v.WriteTo(w)
		v.Release()
		pkt.DecRef()
		if err == nil && n.link.NumQueued() == 0 {
			err = w.Flush()
		}
		if err != nil {
			return
		}
	}
}
