package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"mote.dev/mote/internal/linuxvm/bootparam"
)

// configureNet brings lo up and gives eth0 n's address, netmask and default
// route, with ioctls and one netlink message: no DHCP client, no ip(8).
func configureNet(n *bootparam.Net) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := ifUp(fd, "lo"); err != nil {
		return err
	}
	if err := waitLink("eth0", 5*time.Second); err != nil {
		return err
	}
	addr := n.Addr.Addr().As4()
	mask := net.CIDRMask(n.Addr.Bits(), 32)
	for _, s := range []struct {
		req uint
		val []byte
	}{{unix.SIOCSIFADDR, addr[:]}, {unix.SIOCSIFNETMASK, mask}} {
		ifr, err := unix.NewIfreq("eth0")
		if err != nil {
			return err
		}
		if err := ifr.SetInet4Addr(s.val); err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, s.req, ifr); err != nil {
			return fmt.Errorf("eth0: ioctl %#x: %w", s.req, err)
		}
	}
	if err := ifUp(fd, "eth0"); err != nil {
		return err
	}
	if n.Gateway.IsValid() {
		iface, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		if err := addDefaultRoute(n.Gateway.As4(), iface.Index); err != nil {
			return fmt.Errorf("default route via %v: %w", n.Gateway, err)
		}
	}
	if n.DNS.IsValid() {
		if err := os.MkdirAll("/etc", 0o755); err != nil {
			return err
		}
		return os.WriteFile("/etc/resolv.conf", []byte("nameserver "+n.DNS.String()+"\n"), 0o644)
	}
	return nil
}

func ifUp(fd int, name string) error {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s: SIOCGIFFLAGS: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s: SIOCSIFFLAGS: %w", name, err)
	}
	return nil
}

// waitLink waits for the driver to register the interface. virtio_net probes
// during finit_module, so this is normally immediate.
func waitLink(name string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if _, err := os.Stat("/sys/class/net/" + name); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s after %v: is a virtio-net device attached?", name, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// addDefaultRoute sends RTM_NEWROUTE for 0.0.0.0/0 via gw on interface
// ifindex and waits for the kernel's acknowledgement.
func addDefaultRoute(gw [4]byte, ifindex int) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, routeMessage(gw, ifindex), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	return ackError(buf[:n])
}

// routeMessage encodes an RTM_NEWROUTE request (rtnetlink(7)): nlmsghdr,
// rtmsg, then the RTA_GATEWAY and RTA_OIF attributes.
func routeMessage(gw [4]byte, ifindex int) []byte {
	le := binary.LittleEndian
	b := make([]byte, unix.SizeofNlMsghdr+unix.SizeofRtMsg, 64)
	rt := b[unix.SizeofNlMsghdr:]
	rt[0] = unix.AF_INET       // rtm_family
	rt[1] = 0                  // rtm_dst_len: default route
	rt[4] = unix.RT_TABLE_MAIN // rtm_table
	rt[5] = unix.RTPROT_BOOT   // rtm_protocol
	rt[6] = unix.RT_SCOPE_UNIVERSE
	rt[7] = unix.RTN_UNICAST
	attr := func(typ uint16, val []byte) {
		a := make([]byte, unix.SizeofRtAttr+len(val))
		le.PutUint16(a[0:], uint16(len(a)))
		le.PutUint16(a[2:], typ)
		copy(a[unix.SizeofRtAttr:], val)
		b = append(b, a...) // 4-byte values: no padding needed
	}
	attr(unix.RTA_GATEWAY, gw[:])
	oif := make([]byte, 4)
	le.PutUint32(oif, uint32(ifindex))
	attr(unix.RTA_OIF, oif)
	le.PutUint32(b[0:], uint32(len(b)))
	le.PutUint16(b[4:], unix.RTM_NEWROUTE)
	le.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	le.PutUint32(b[8:], 1) // sequence number
	return b
}

// ackError reads the kernel's NLMSG_ERROR answer; error 0 is the ack.
func ackError(b []byte) error {
	if len(b) < unix.SizeofNlMsghdr+4 {
		return fmt.Errorf("short netlink answer (%d bytes)", len(b))
	}
	if typ := binary.LittleEndian.Uint16(b[4:]); typ != unix.NLMSG_ERROR {
		return fmt.Errorf("netlink answer of type %d, want NLMSG_ERROR", typ)
	}
	if errno := int32(binary.LittleEndian.Uint32(b[unix.SizeofNlMsghdr:])); errno != 0 {
		return unix.Errno(-errno)
	}
	return nil
}
