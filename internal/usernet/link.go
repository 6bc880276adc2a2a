package usernet

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"time"

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
	n.out.Lock()
	n.w, n.qemu = bufio.NewWriterSize(c, 256<<10), c
	n.out.Unlock()
	for {
		pkt := n.link.ReadContext(n.ctx)
		if pkt == nil {
			return // closed
		}
		v := pkt.ToView()
		n.out.Lock()
		err := writeFrame(n.w, v.AsSlice())
		if err == nil && n.link.NumQueued() == 0 {
			err = n.w.Flush()
		}
		n.out.Unlock()
		v.Release()
		pkt.DecRef()
		if err != nil {
			return
		}
	}
}

func writeFrame(w *bufio.Writer, frame []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(frame)))
	w.Write(hdr[:])
	_, err := w.Write(frame)
	return err
}

// Inject sends a raw frame to the guest as if it came from the network,
// whatever it holds: tests feed the guest malformed traffic with it. It fails
// until QEMU has connected, and when QEMU takes no frames for injectTimeout
// (its receive queue stays full: the guest is not receiving).
func (n *Network) Inject(frame []byte) error {
	n.out.Lock()
	defer n.out.Unlock()
	if n.w == nil {
		return errors.New("usernet: no guest connected yet")
	}
	if len(frame) == 0 {
		// QEMU's virtio-net takes an empty frame for a full queue and stops receiving.
		return errors.New("usernet: an empty frame")
	}
	n.qemu.SetWriteDeadline(time.Now().Add(injectTimeout))
	defer n.qemu.SetWriteDeadline(time.Time{})
	if err := writeFrame(n.w, frame); err != nil {
		return err
	}
	return n.w.Flush()
}

const injectTimeout = 30 * time.Second
