package kernel

import (
	"testing"
	"unsafe"
)

func TestIPArgDHCP(t *testing.T) {
	saved := netcfg
	defer func() { netcfg = saved }()

	parseIPArg([]byte("dhcp"))
	if !netcfg.dhcp || !netcfg.custom || addressed() || netcfg.ndns != 0 || netcfg.gw != [4]byte{} {
		t.Errorf("ip=dhcp: %+v", netcfg)
	}
	var buf [128]byte
	if n := formatResolvConf(buf[:]); n != 0 {
		t.Errorf("resolv.conf before a lease: %q", buf[:n])
	}

	netcfg = saved
	parseIPArg([]byte("10.9.0.2/24"))
	parseDNSArg([]byte("10.9.0.1"))
	if netcfg.dhcp || !netcfg.custom || fmtIP(&netcfg.ip) != "10.9.0.2" || netcfg.prefix != 24 {
		t.Errorf("ip=10.9.0.2/24: %+v", netcfg)
	}
	if n := formatResolvConf(buf[:]); string(buf[:n]) != "nameserver 10.9.0.1\n" {
		t.Errorf("resolv.conf with dns=: %q", buf[:n])
	}
}

func TestResolvConfThreeServers(t *testing.T) {
	saved := netcfg
	defer func() { netcfg = saved }()
	netcfg.dns = [maxDNS][4]byte{{255, 255, 255, 255}, {10, 0, 0, 1}, {192, 168, 100, 200}}
	netcfg.ndns = maxDNS
	var buf [maxDNS * len("nameserver 255.255.255.255\n")]byte
	want := "nameserver 255.255.255.255\nnameserver 10.0.0.1\nnameserver 192.168.100.200\n"
	if n := formatResolvConf(buf[:]); string(buf[:n]) != want {
		t.Errorf("resolv.conf = %q, want %q", buf[:n], want)
	}
}

// The report's layout is shared with the socket service (kernel/net/dhcp.go), which checks
// the same.
func TestLeaseReportLayout(t *testing.T) {
	var r leaseReport
	if unsafe.Sizeof(r) != 32 || unsafe.Offsetof(r.Seconds) != 4 || unsafe.Offsetof(r.DNS) != 20 {
		t.Errorf("leaseReport: size %d, Seconds at %d, DNS at %d", unsafe.Sizeof(r), unsafe.Offsetof(r.Seconds), unsafe.Offsetof(r.DNS))
	}
}
