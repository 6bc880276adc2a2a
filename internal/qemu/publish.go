package qemu

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Publish is one guest port published on the host, as -p gives it.
type Publish struct {
	Proto     string // "tcp" or "udp"
	HostIP    string // "" for every address... which QEMU's user network binds as 0.0.0.0
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

// CheckFree reports a host port that is already taken, before QEMU would fail on it.
func (p Publish) CheckFree() error {
	addr := net.JoinHostPort(p.HostIP, strconv.Itoa(p.HostPort))
	if p.Proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return fmt.Errorf("host port %s/udp is in use or not available: %v; publish another with -p", addr, err)
		}
		return c.Close()
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("host port %s is in use or not available: %v; publish another with -p", addr, err)
	}
	return l.Close()
}

// hostfwd renders the forward for QEMU's user network.
func (p Publish) hostfwd() string {
	return fmt.Sprintf("hostfwd=%s:%s:%d-:%d", p.Proto, p.HostIP, p.HostPort, p.GuestPort)
}

// netArgs gives the guest a virtio-net device on QEMU's user network with the forwards.
func (c *Config) netArgs() []string {
	nd := "user,id=net0"
	for _, p := range c.Publish {
		nd += "," + p.hostfwd()
	}
	return []string{"-netdev", nd, "-device", "virtio-net-device,netdev=net0", "-global", "virtio-mmio.force-legacy=false"}
}
