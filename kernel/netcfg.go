package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// The guest's IPv4 configuration on its network device, and the files that
// show it to programs (/etc/resolv.conf, /etc/hosts, netlink's address
// dump). It comes from one of three places:
//   - QEMU's user network by default (10.0.2.15/24, the defaults below);
//   - the command line: ip=CIDR, gw=, dns=, as mote run --ip gives on a tap;
//   - DHCP: ip=dhcp, then the socket service, which runs the DHCP client on
//     netstack, reports each lease with moteNetConfig.

// maxDNS is how many name servers resolv.conf lists: glibc's MAXNS, so the
// file reads the same to every resolver.
const maxDNS = 3

var netcfg = struct {
	ip, gw  [4]byte
	dns     [maxDNS][4]byte
	ndns    int
	prefix  uint8
	custom  bool // ip= was given: not the user-mode network
	dhcp    bool // ip=dhcp: the service asks a DHCP server
	hostsAt int64
	hostsTo int64 // the guest's line in /etc/hosts, while the file ends with it
}{ip: [4]byte{10, 0, 2, 15}, gw: [4]byte{10, 0, 2, 2}, dns: [maxDNS][4]byte{{10, 0, 2, 3}}, ndns: 1, prefix: 24}

// parseIPArg reads ip=: "dhcp", or an address with its prefix length.
func parseIPArg(b []byte) {
	if bytesEq(b, "dhcp") {
		netcfg.custom, netcfg.dhcp = true, true
		netcfg.ip, netcfg.gw, netcfg.prefix, netcfg.ndns = [4]byte{}, [4]byte{}, 0, 0
		return
	}
	netcfg.custom = parseCIDR(b, &netcfg.ip, &netcfg.prefix)
}

// parseDNSArg reads dns=: one name server, in place of the user network's.
func parseDNSArg(b []byte) {
	if parseIPv4(b, &netcfg.dns[0]) {
		netcfg.ndns = 1
	}
}

// addressed reports whether the device has an address (a DHCP guest has
// none until its first lease).
func addressed() bool { return netcfg.ip != [4]byte{} }

// writeResolvConf writes /etc/resolv.conf from netcfg, or removes it when
// there is no name server, so a lookup fails at once rather than asking a
// server that is not there.
func writeResolvConf() {
	etc := lookup(rootIno, []byte("etc"))
	if etc < 0 {
		return
	}
	var buf [maxDNS * len("nameserver 255.255.255.255\n")]byte
	n := formatResolvConf(buf[:])
	ino := lookup(etc, []byte("resolv.conf"))
	if ino < 0 {
		if n == 0 {
			return
		}
		var e linux.Errno
		if ino, e = newInode(etc, []byte("resolv.conf"), sIFREG|0o644); e != 0 {
			return
		}
	}
	truncatePages(&inodes[ino], 0)
	writeAt(&inodes[ino], buf[:n], 0)
}

// formatResolvConf writes the nameserver lines of netcfg into buf.
func formatResolvConf(buf []byte) int {
	n := 0
	for i := 0; i < netcfg.ndns; i++ {
		n += copy(buf[n:], "nameserver ")
		n += formatIPv4(&netcfg.dns[i], buf[n:])
		buf[n] = '\n'
		n++
	}
	return n
}

// hostsSelf puts "ADDR\tHOSTNAME" at the end of /etc/hosts, replacing the
// line an earlier lease put there unless the app has written the file since.
func hostsSelf() {
	etc := lookup(rootIno, []byte("etc"))
	ino := int32(-1)
	if etc >= 0 {
		ino = lookup(etc, []byte("hosts"))
	}
	if ino < 0 {
		return
	}
	n := &inodes[ino]
	if netcfg.hostsTo > 0 && n.size == netcfg.hostsTo {
		truncatePages(n, netcfg.hostsAt)
	}
	var buf [15]byte
	netcfg.hostsAt = n.size
	addHost(buf[:formatIPv4(&netcfg.ip, buf[:])], hostName())
	netcfg.hostsTo = n.size
}

// The report of the socket service's DHCP client (moteNetConfig); the
// layout is shared with kernel/net.
type leaseReport struct {
	State   uint8 // leaseBound, leaseNoAnswer or leaseLost
	Prefix  uint8
	NDNS    uint8
	_       uint8
	Seconds uint32 // bound: the lease's length; no answer: how long it asked
	IP      [4]byte
	GW      [4]byte // zero: no router
	Server  [4]byte
	DNS     [maxDNS][4]byte
}

const (
	leaseBound    = 1 // an address, with its prefix, router and name servers
	leaseNoAnswer = 2 // no server answered in Seconds; the service asks on
	leaseLost     = 3 // the lease ran out or the server refused it: no address
)

// sysMoteNetConfig takes the socket service's DHCP report: it applies a
// lease to what the kernel shows (netlink, resolv.conf, hosts) and says
// what happened on the kernel channel, where mote run shows it.
func sysMoteNetConfig(t *thread, f *Frame) int64 {
	if !nic.present || !netcfg.dhcp {
		return errno(linux.ENODEV)
	}
	var r leaseReport
	if !copyIn((*[unsafe.Sizeof(r)]byte)(unsafe.Pointer(&r))[:], uintptr(f.RDI)) {
		return errno(linux.EFAULT)
	}
	switch r.State {
	case leaseBound:
		if r.Prefix < 1 || r.Prefix > 32 || r.NDNS > maxDNS || r.IP == [4]byte{} {
			return errno(linux.EINVAL)
		}
		netcfg.ip, netcfg.gw, netcfg.prefix = r.IP, r.GW, r.Prefix
		netcfg.dns, netcfg.ndns = r.DNS, int(r.NDNS)
		writeResolvConf()
		hostsSelf()
		w := logRecord().s("dhcp: eth0 ").ip(&r.IP).s("/").dec(int64(r.Prefix))
		if r.GW != [4]byte{} {
			w = w.s(" router ").ip(&r.GW)
		}
		for i := 0; i < int(r.NDNS); i++ {
			w = w.s(" dns ").ip(&r.DNS[i])
		}
		w.s(" from ").ip(&r.Server).s(", lease ").dec(int64(r.Seconds)).s("s").nl()
	case leaseNoAnswer:
		logRecord().s("dhcp: no answer on eth0 after ").dec(int64(r.Seconds)).
			s("s; the app starts without an address (ENETUNREACH) while the guest keeps asking").nl()
	case leaseLost:
		netcfg.ip, netcfg.gw, netcfg.prefix, netcfg.ndns = [4]byte{}, [4]byte{}, 0, 0
		writeResolvConf()
		logRecord().s("dhcp: lease on eth0 lost; no address until a server answers again").nl()
	default:
		return errno(linux.EINVAL)
	}
	return 0
}

// ip writes a dotted quad.
func (w kw) ip(a *[4]byte) kw {
	var b [15]byte
	return w.b(b[:formatIPv4(a, b[:])])
}
