package net

import (
	"net"
	"testing"
	"time"
	"unsafe"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func ack(t *testing.T, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{
		dhcpv4.WithMessageType(dhcpv4.MessageTypeAck),
		dhcpv4.WithYourIP(net.IPv4(10, 9, 0, 100)),
	}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLeaseOf(t *testing.T) {
	l := leaseOf(ack(t,
		dhcpv4.WithNetmask(net.CIDRMask(24, 32)),
		dhcpv4.WithOption(dhcpv4.OptRouter(net.IPv4(10, 9, 0, 1))),
		dhcpv4.WithOption(dhcpv4.OptDNS(net.IPv4(10, 9, 0, 1), net.IPv4(1, 1, 1, 1), net.IPv4(8, 8, 8, 8), net.IPv4(9, 9, 9, 9))),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(10, 9, 0, 1))),
		dhcpv4.WithLeaseTime(600)))
	if l == nil {
		t.Fatal("no lease")
	}
	if l.ip.String() != "10.9.0.100" || l.prefix != 24 || l.gw.String() != "10.9.0.1" || l.server.String() != "10.9.0.1" {
		t.Errorf("lease %+v", l)
	}
	if len(l.dns) != maxDNS || l.dns[2].String() != "8.8.8.8" {
		t.Errorf("name servers %v, want the first %d", l.dns, maxDNS)
	}
	if l.length != 10*time.Minute || l.t1 != 5*time.Minute || l.t2 != 525*time.Second {
		t.Errorf("times: lease %v, T1 %v, T2 %v; want RFC 2131's defaults", l.length, l.t1, l.t2)
	}

	r := l.report()
	if r.IP != [4]byte{10, 9, 0, 100} || r.Prefix != 24 || r.GW != [4]byte{10, 9, 0, 1} || r.NDNS != 3 || r.Seconds != 600 {
		t.Errorf("report %+v", r)
	}

	// No mask: the address's class. A lease too short to keep up with: bounded. No router,
	// no server identifier, no name servers: zeros for the kernel.
	l = leaseOf(ack(t, dhcpv4.WithLeaseTime(0), dhcpv4.WithOption(dhcpv4.OptRouter(net.IPv4zero))))
	if l == nil || l.prefix != 8 || l.length != minLease || l.t1 <= 0 || l.t1 > l.t2 || l.t2 > l.length {
		t.Errorf("lease %+v", l)
	}
	if r := l.report(); r.GW != [4]byte{} || r.Server != [4]byte{} || r.NDNS != 0 || r.Seconds != 10 {
		t.Errorf("report %+v", r)
	}
	// T1 and T2 the server sets, unless they make no sense.
	l = leaseOf(ack(t, dhcpv4.WithLeaseTime(100),
		dhcpv4.WithOption(dhcpv4.OptRenewTimeValue(30*time.Second)),
		dhcpv4.WithOption(dhcpv4.OptRebindingTimeValue(200*time.Second))))
	if l == nil || l.t1 != 30*time.Second || l.t2 != 87500*time.Millisecond {
		t.Errorf("lease %+v", l)
	}

	for _, bad := range []net.IP{net.IPv4zero, net.IPv4bcast, net.IPv4(224, 0, 0, 1), net.IPv4(127, 0, 0, 1)} {
		if l := leaseOf(ack(t, dhcpv4.WithYourIP(bad))); l != nil {
			t.Errorf("a lease of %s: %+v", bad, l)
		}
	}
}

// FuzzLeaseOf feeds what a server on the network may send: any answer that parses must give
// a lease with sane times and prefix, or none, and never a panic.
func FuzzLeaseOf(f *testing.F) {
	m, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeAck), dhcpv4.WithYourIP(net.IPv4(10, 9, 0, 100)),
		dhcpv4.WithNetmask(net.CIDRMask(24, 32)), dhcpv4.WithLeaseTime(60),
		dhcpv4.WithOption(dhcpv4.OptRouter(net.IPv4(10, 9, 0, 1))))
	f.Add(m.ToBytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := dhcpv4.FromBytes(b)
		if err != nil {
			return
		}
		l := leaseOf(m)
		if l == nil {
			return
		}
		l.report()
		if l.prefix < 1 || l.prefix > 32 || len(l.dns) > maxDNS {
			t.Fatalf("lease %+v", l)
		}
		if l.length < minLease || l.t1 <= 0 || l.t1 > l.t2 || l.t2 > l.length {
			t.Fatalf("times %v %v %v", l.t1, l.t2, l.length)
		}
	})
}

// The report's layout is shared with the kernel (kernel/netcfg.go), which checks the same.
func TestLeaseReportLayout(t *testing.T) {
	var r leaseReport
	if unsafe.Sizeof(r) != 32 || unsafe.Offsetof(r.Seconds) != 4 || unsafe.Offsetof(r.DNS) != 20 {
		t.Errorf("leaseReport: size %d, Seconds at %d, DNS at %d", unsafe.Sizeof(r), unsafe.Offsetof(r.Seconds), unsafe.Offsetof(r.DNS))
	}
}
