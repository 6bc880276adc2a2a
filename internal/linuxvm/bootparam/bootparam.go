// Package bootparam is the contract between the host side of the Linux guest
// (package linuxvm) and its init (package guestinit): how the app's argv, its
// environment and the network settings travel on the Linux kernel command line.
//
// Each setting is one `mote.<key>=<value>` token, the value percent-encoded
// (%XX) so that it holds no space, quote or non-printable byte:
//
//	mote.arg=VALUE    repeated: the app's argv in order, argv[0] first
//	mote.env=K=V      repeated: the app's environment
//	mote.ip=A.B.C.D/N the address of eth0; turns networking on
//	mote.gw=A.B.C.D   the default gateway
//	mote.dns=A.B.C.D  the name server written to /etc/resolv.conf
//
// The dot in the key matters: Linux treats `x.y=z` tokens as module parameters
// and hands them neither to init's argv nor to its environment, so the app's
// arguments do not count against the kernel's limit of 32 init arguments and
// 32 init environment strings (MAX_INIT_ARGS, MAX_INIT_ENVS in init/main.c),
// past which it panics. The init reads them from /proc/cmdline instead. The
// whole command line is limited to 2048 bytes on x86 (COMMAND_LINE_SIZE).
package bootparam

import (
	"fmt"
	"net/netip"
	"strings"

	"mote.dev/mote/internal/cmdline"
)

// Prefix starts every key this package owns.
const Prefix = "mote."

// Config is what the init needs to know about the app and the network.
type Config struct {
	Args []string // argv, argv[0] first; empty means just "/app"
	Env  []string // KEY=VALUE
	Net  *Net     // nil: no network, no modules loaded
}

// Net is a static IPv4 configuration of eth0.
type Net struct {
	Addr    netip.Prefix // e.g. 10.0.2.15/24
	Gateway netip.Addr   // invalid: no default route
	DNS     netip.Addr   // invalid: no /etc/resolv.conf
}

// UserNet is the configuration that fits QEMU's user-mode network (slirp):
// guest 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3.
func UserNet() *Net {
	return &Net{
		Addr:    netip.MustParsePrefix("10.0.2.15/24"),
		Gateway: netip.MustParseAddr("10.0.2.2"),
		DNS:     netip.MustParseAddr("10.0.2.3"),
	}
}

// Encode returns the kernel command-line tokens for c, in a fixed order.
func Encode(c Config) []string {
	var t []string
	for _, a := range c.Args {
		t = append(t, Prefix+"arg="+Escape(a))
	}
	for _, e := range c.Env {
		t = append(t, Prefix+"env="+Escape(e))
	}
	if n := c.Net; n != nil {
		t = append(t, Prefix+"ip="+n.Addr.String())
		if n.Gateway.IsValid() {
			t = append(t, Prefix+"gw="+n.Gateway.String())
		}
		if n.DNS.IsValid() {
			t = append(t, Prefix+"dns="+n.DNS.String())
		}
	}
	return t
}

// Parse reads the mote.* tokens of a kernel command line (the text of
// /proc/cmdline) and ignores every other token. Unknown mote.* keys are an
// error, so that a host newer than its init fails loudly.
func Parse(cmdline string) (Config, error) {
	var c Config
	for _, tok := range strings.Fields(cmdline) {
		if tok == "--" {
			break // the rest is init's argv, which we do not use
		}
		key, val, ok := strings.Cut(tok, "=")
		if !ok || !strings.HasPrefix(key, Prefix) {
			continue
		}
		v, err := Unescape(val)
		if err != nil {
			return Config{}, fmt.Errorf("bootparam: %s: %w", key, err)
		}
		switch strings.TrimPrefix(key, Prefix) {
		case "arg":
			c.Args = append(c.Args, v)
		case "env":
			c.Env = append(c.Env, v)
		case "ip":
			p, err := netip.ParsePrefix(v)
			if err != nil || !p.Addr().Is4() {
				return Config{}, fmt.Errorf("bootparam: %s=%q: want an IPv4 address/prefix", key, v)
			}
			c.net().Addr = p
		case "gw", "dns":
			a, err := netip.ParseAddr(v)
			if err != nil || !a.Is4() {
				return Config{}, fmt.Errorf("bootparam: %s=%q: want an IPv4 address", key, v)
			}
			if key == Prefix+"gw" {
				c.net().Gateway = a
			} else {
				c.net().DNS = a
			}
		default:
			return Config{}, fmt.Errorf("bootparam: unknown key %s", key)
		}
	}
	if c.Net != nil && !c.Net.Addr.IsValid() {
		return Config{}, fmt.Errorf("bootparam: %sgw or %sdns without %sip", Prefix, Prefix, Prefix)
	}
	return c, nil
}

func (c *Config) net() *Net {
	if c.Net == nil {
		c.Net = &Net{}
	}
	return c.Net
}

// ModuleParams returns the parameters that the kernel command line gives a
// loadable module, in the form finit_module(2) takes them ("k1=v1 k2=v2"):
// every `module.key=value` token, with '-' and '_' alike in the module name,
// as modprobe(8) does: the kernel itself does not apply such tokens to a
// module loaded later. (QEMU's microvm with acpi=off describes its devices as
// virtio_mmio.device= tokens, but Debian's virtio_mmio has no such parameter:
// the guest relies on microvm's ACPI tables instead.)
func ModuleParams(cmdline, module string) string {
	want := strings.ReplaceAll(module, "-", "_") + "."
	var p []string
	for _, tok := range strings.Fields(cmdline) {
		if tok == "--" {
			break
		}
		if len(tok) > len(want) && strings.ReplaceAll(tok[:len(want)], "-", "_") == want {
			p = append(p, tok[len(want):])
		}
	}
	return strings.Join(p, " ")
}

// Escape percent-encodes every byte of s outside the printable ASCII range and
// the bytes ' ', '"', '%' (the kernel splits its command line at spaces and
// gives double quotes a meaning).
func Escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Unescape reverses Escape. It accepts any %XX (either case) and rejects a
// truncated or non-hex escape.
func Unescape(s string) (string, error) { return cmdline.Unescape(s) }
