package integration

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"mote.dev/mote/internal/cli"
	"mote.dev/mote/internal/usernet"
)

// guestMAC is QEMU's address for the first network card.
var guestMAC = tcpip.LinkAddress("\x52\x54\x00\x12\x34\x56")

// TestGarbageFrames feeds a serving guest thousands of malformed frames through the real
// receive path (QEMU's virtio-net, the kernel's driver, the socket service, netstack):
// random bytes, runts, frames too big for a receive buffer, and well-formed ARP, IPv4, TCP
// and UDP packets with random bytes flipped. The kernel must not crash, and the server must
// answer between the bursts and afterwards. MOTE_FUZZ_SEED repeats a run.
func TestGarbageFrames(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MOTE_FUZZ_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (MOTE_FUZZ_SEED=%d repeats this run)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x6d6f7465))

	port := freePort(t, "tcp")
	ctx, cancel := context.WithCancel(timeout(t))
	defer cancel()
	nets := make(chan *usernet.Network, 1)
	done := make(chan result, 1)
	go func() {
		var out, errb syncBuffer
		c := &cli.CLI{In: strings.NewReader(""), Out: &out, Err: &errb, OnNetwork: func(n *usernet.Network) { nets <- n }}
		code := cli.Main(ctx, c, []string{"run", "--verbose", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), prog(t, "httpload")})
		done <- result{out.String(), errb.String(), code}
	}()
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path string) (string, error) {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	var nw *usernet.Network
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		select {
		case r := <-done:
			t.Fatalf("guest ended early: exit %d\nstderr:\n%s", r.code, r.stderr)
		case nw = <-nets:
		default:
		}
		if nw != nil {
			if _, err := get("/ready"); err == nil {
				break
			}
		}
		if time.Since(start) > 5*time.Minute {
			t.Fatal("the guest did not serve within 5 minutes")
		}
	}

	const bursts, perBurst = 10, 500
	for b := range bursts {
		for range perBurst {
			if err := nw.Inject(garbageFrame(rng)); err != nil {
				cancel()
				r := <-done
				t.Fatalf("inject: %v\nguest: exit %d\nstderr:\n%s", err, r.code, r.stderr)
			}
		}
		select {
		case r := <-done:
			t.Fatalf("the guest died after %d malformed frames: exit %d\nstderr:\n%s", (b+1)*perBurst, r.code, r.stderr)
		default:
		}
		if body, err := get(fmt.Sprintf("/burst%d", b)); err != nil || body != fmt.Sprintf("ok /burst%d", b) {
			t.Fatalf("after %d malformed frames: GET = %q, %v", (b+1)*perBurst, body, err)
		}
		t.Logf("%d malformed frames in, the server answers", (b+1)*perBurst)
	}
	cancel()
	if r := <-done; r.code != 130 {
		t.Errorf("stopping the guest: exit %d, want 130\nstderr:\n%s", r.code, r.stderr)
	}
}

// garbageFrame is one malformed frame: random bytes of any length, or a well-formed
// packet with some of its bytes flipped.
func garbageFrame(rng *rand.Rand) []byte {
	switch rng.IntN(6) {
	case 0: // random bytes, runts and frames beyond any receive buffer included
		b := make([]byte, 1+rng.IntN(3000))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	case 1: // a runt with an Ethernet header's start (never empty: QEMU wedges on those)
		return mutate(rng, ethernet(guestMAC, header.IPv4ProtocolNumber, nil)[:1+rng.IntN(header.EthernetMinimumSize-1)])
	case 2:
		return mutate(rng, ethernet(broadcast, header.ARPProtocolNumber, arpPacket()))
	case 3:
		return mutate(rng, ethernet(guestMAC, header.IPv4ProtocolNumber, ipv4Packet(rng, header.TCPProtocolNumber)))
	case 4:
		return mutate(rng, ethernet(guestMAC, header.IPv4ProtocolNumber, ipv4Packet(rng, header.UDPProtocolNumber)))
	default: // a valid header on a payload longer or shorter than it says
		p := ipv4Packet(rng, header.TCPProtocolNumber)
		header.IPv4(p).SetTotalLength(uint16(rng.IntN(3000)))
		return ethernet(guestMAC, header.IPv4ProtocolNumber, p)
	}
}

var broadcast = tcpip.LinkAddress("\xff\xff\xff\xff\xff\xff")

// mutate flips up to 8 random bytes, sometimes none (the packet then arrives well-formed).
func mutate(rng *rand.Rand, b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	for range rng.IntN(9) {
		b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
	}
	return b
}

func ethernet(dst tcpip.LinkAddress, proto tcpip.NetworkProtocolNumber, payload []byte) []byte {
	b := make([]byte, header.EthernetMinimumSize+len(payload))
	header.Ethernet(b).Encode(&header.EthernetFields{SrcAddr: "\x52\x55\x0a\x00\x02\x02", DstAddr: dst, Type: proto})
	copy(b[header.EthernetMinimumSize:], payload)
	return b
}

func arpPacket() []byte {
	b := make([]byte, header.ARPSize)
	a := header.ARP(b)
	a.SetIPv4OverEthernet()
	a.SetOp(header.ARPRequest)
	copy(a.HardwareAddressSender(), "\x52\x55\x0a\x00\x02\x02")
	copy(a.ProtocolAddressSender(), []byte{10, 0, 2, 2})
	copy(a.ProtocolAddressTarget(), []byte{10, 0, 2, 15})
	return b
}

// ipv4Packet is a well-formed packet from the gateway to the guest's server port (or a
// random one), with random TCP flags or a UDP datagram, and a random payload.
func ipv4Packet(rng *rand.Rand, proto tcpip.TransportProtocolNumber) []byte {
	payload := make([]byte, rng.IntN(200))
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	src, dst := tcpip.AddrFrom4([4]byte{10, 0, 2, 2}), tcpip.AddrFrom4([4]byte{10, 0, 2, 15})
	dport := uint16(8080)
	if rng.IntN(2) == 0 {
		dport = uint16(rng.Uint32())
	}
	var l4 []byte
	if proto == header.TCPProtocolNumber {
		l4 = make([]byte, header.TCPMinimumSize+len(payload))
		tcp := header.TCP(l4)
		tcp.Encode(&header.TCPFields{SrcPort: uint16(1024 + rng.IntN(60000)), DstPort: dport,
			SeqNum: rng.Uint32(), AckNum: rng.Uint32(), DataOffset: header.TCPMinimumSize,
			Flags: header.TCPFlags(rng.Uint32()), WindowSize: uint16(rng.Uint32())})
		copy(l4[header.TCPMinimumSize:], payload)
		xsum := header.PseudoHeaderChecksum(header.TCPProtocolNumber, src, dst, uint16(len(l4)))
		tcp.SetChecksum(^checksum.Checksum(l4, xsum))
	} else {
		l4 = make([]byte, header.UDPMinimumSize+len(payload))
		udp := header.UDP(l4)
		udp.Encode(&header.UDPFields{SrcPort: uint16(1024 + rng.IntN(60000)), DstPort: dport, Length: uint16(len(l4))})
		copy(l4[header.UDPMinimumSize:], payload)
		xsum := header.PseudoHeaderChecksum(header.UDPProtocolNumber, src, dst, uint16(len(l4)))
		udp.SetChecksum(^checksum.Checksum(l4, xsum))
	}
	b := make([]byte, header.IPv4MinimumSize+len(l4))
	ip := header.IPv4(b)
	ip.Encode(&header.IPv4Fields{TotalLength: uint16(len(b)), TTL: 64, Protocol: uint8(proto), SrcAddr: src, DstAddr: dst})
	ip.SetChecksum(^ip.CalculateChecksum())
	copy(b[header.IPv4MinimumSize:], l4)
	return b
}
