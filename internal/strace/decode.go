package strace

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"mote.dev/mote/kernel/abi/linux"
)

// An arg formats argument i of a call. An empty string leaves the argument out: Linux ignores
// it (openat's mode without O_CREAT), and strace does not show it.
type arg func(c *Call, i int) string

// Argument formats.
var (
	hex   arg = func(c *Call, i int) string { return cHex(c.Args[i]) }
	dec   arg = func(c *Call, i int) string { return strconv.FormatInt(int64(c.Args[i]), 10) }
	dec32 arg = func(c *Call, i int) string { return strconv.FormatInt(int64(int32(c.Args[i])), 10) }
	udec  arg = func(c *Call, i int) string { return strconv.FormatUint(c.Args[i], 10) }
	fd        = dec32
	ptr   arg = func(c *Call, i int) string {
		if c.Args[i] == 0 {
			return "NULL"
		}
		return fmt.Sprintf("%#x", c.Args[i])
	}
	octal arg = func(c *Call, i int) string { return fmt.Sprintf("%#o", c.Args[i]) }

	dirFD arg = func(c *Call, i int) string {
		if int32(c.Args[i]) == linux.AT_FDCWD {
			return "AT_FDCWD"
		}
		return dec32(c, i)
	}
	// str shows the memory the kernel copied, or the address when it could not read it.
	str arg = func(c *Call, i int) string {
		m := c.Mem[i]
		if m == nil {
			return ptr(c, i)
		}
		return quote(m.Data, m.Complete)
	}
	openFlagsArg arg = func(c *Call, i int) string {
		v := c.Args[i]
		s := openAccess.format(v & 3)
		if rest := v &^ 3; rest != 0 {
			s += "|" + openFlags.format(rest, "")
		}
		return s
	}
	// openMode shows the mode only when the flags (the argument before) create a file.
	openMode arg = func(c *Call, i int) string {
		if c.Args[i-1]&oCreat == 0 && c.Args[i-1]&oTmpfile != oTmpfile {
			return ""
		}
		return octal(c, i)
	}
	mmapFlagsArg arg = func(c *Call, i int) string {
		v := c.Args[i]
		s := mapType.format(v & 3)
		if rest := v &^ 3; rest != 0 {
			s += "|" + mapFlags.format(rest, "")
		}
		return s
	}
	socketTypeArg arg = func(c *Call, i int) string {
		v := c.Args[i]
		s := socketTypes.format(v & 0xf)
		if rest := v &^ 0xf; rest != 0 {
			s += "|" + socketFlags.format(rest, "")
		}
		return s
	}
	// futexVal and futexTimeout show futex's third and fourth arguments for the
	// operations that use them, as strace does.
	futexVal  arg = func(c *Call, i int) string { return dec32(c, i) }
	futexRest arg = func(c *Call, i int) string {
		switch c.Args[1] &^ (futexPrivate | futexClockRealtime) {
		case futexWake:
			return ""
		case futexWait:
			if i == 3 {
				return ptr(c, i)
			}
			return ""
		}
		return hex(c, i)
	}
	sigArg   arg = func(c *Call, i int) string { return signal(c.Args[i]) }
	protocol     = valueOrDec(values{1: "IPPROTO_ICMP", 6: "IPPROTO_TCP", 17: "IPPROTO_UDP", 58: "IPPROTO_ICMPV6", 262: "IPPROTO_MPTCP"})
)

// timespec shows a struct timespec the kernel copied, or the address.
var timespec = twoWords("tv_sec", "tv_nsec")

// timeval shows a struct timeval.
var timeval = twoWords("tv_sec", "tv_usec")

func twoWords(a, b string) arg {
	return func(c *Call, i int) string {
		m := c.Mem[i]
		if m == nil || len(m.Data) != 16 || !m.Complete {
			return ptr(c, i)
		}
		return fmt.Sprintf("{%s=%d, %s=%d}", a, int64(binary.LittleEndian.Uint64(m.Data)), b, int64(binary.LittleEndian.Uint64(m.Data[8:])))
	}
}

// sockaddr shows a socket address the kernel copied, as strace does, or the address of one.
var sockaddr arg = func(c *Call, i int) string {
	m := c.Mem[i]
	if m == nil || len(m.Data) < 2 {
		return ptr(c, i)
	}
	d := m.Data
	port := func() uint16 { return binary.BigEndian.Uint16(d[2:4]) }
	switch fam := binary.LittleEndian.Uint16(d); {
	case fam == afInet && len(d) >= 8:
		return fmt.Sprintf("{sa_family=AF_INET, sin_port=htons(%d), sin_addr=inet_addr(%q)}", port(), netip.AddrFrom4([4]byte(d[4:8])))
	case fam == afInet6 && len(d) >= 28:
		return fmt.Sprintf("{sa_family=AF_INET6, sin6_port=htons(%d), sin6_flowinfo=htonl(%d), inet_pton(AF_INET6, %q, &sin6_addr), sin6_scope_id=%d}",
			port(), binary.BigEndian.Uint32(d[4:8]), netip.AddrFrom16([16]byte(d[8:24])), binary.LittleEndian.Uint32(d[24:28]))
	case fam == afUnix:
		path := d[2:]
		if i := bytes.IndexByte(path, 0); i >= 0 && (i > 0 || len(path) == 1) {
			return fmt.Sprintf("{sa_family=AF_UNIX, sun_path=%s}", quote(path[:i], true))
		}
		if len(path) > 0 && path[0] == 0 { // abstract
			return fmt.Sprintf("{sa_family=AF_UNIX, sun_path=@%s}", quote(path[1:], m.Complete))
		}
		return fmt.Sprintf("{sa_family=AF_UNIX, sun_path=%s}", quote(path, m.Complete))
	default:
		return fmt.Sprintf("{sa_family=%s, ...}", socketFamilies.format(uint64(fam)))
	}
}

const afUnix, afInet, afInet6 = 1, 2, 10

func flagsArg(b bits) arg {
	return func(c *Call, i int) string { return b.format(c.Args[i], "0") }
}

func valueArg(m values) arg {
	return func(c *Call, i int) string { return m.format(c.Args[i]) }
}

func valueOrDec(m values) arg {
	return func(c *Call, i int) string {
		if s, ok := m[c.Args[i]]; ok {
			return s
		}
		return dec(c, i)
	}
}

// result formats a call's result, as strace's "= ..." does.
type result int

const (
	resDec result = iota
	resHex        // an address: mmap, brk
)

// signature is how strace shows one system call.
type signature struct {
	args []arg
	ret  result
}

// Format formats a call as strace -f -T prints it:
//
//	[tid 1] openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3 <0.000012>
func Format(c Call) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[tid %d] %s(", c.TID, Name(c.Nr))
	sig, known := signatures[c.Nr]
	if !known {
		sig.args = []arg{hex, hex, hex, hex, hex, hex}
	}
	var shown []string
	for i, a := range sig.args {
		if s := a(&c, i); s != "" {
			shown = append(shown, s)
		}
	}
	b.WriteString(strings.Join(shown, ", "))
	b.WriteString(") = ")
	switch r := c.Result; {
	case !c.Returned:
		b.WriteString("?")
	case r < 0 && r > -4096:
		b.WriteString("-1 " + ErrnoName(int(-r)))
		if msg := errnoMessage(int(-r)); msg != "" {
			b.WriteString(" (" + msg + ")")
		}
	case sig.ret == resHex:
		fmt.Fprintf(&b, "%#x", uint64(r))
	default:
		b.WriteString(strconv.FormatInt(r, 10))
	}
	if c.Returned {
		fmt.Fprintf(&b, " <%.6f>", c.Duration.Seconds())
	}
	return b.String()
}

// cHex formats v as C's %#x does: zero is "0", as strace shows it.
func cHex(v uint64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%#x", v)
}

// Name names system call nr, or calls it syscall_NR as strace does for a number it does not know.
func Name(nr int) string {
	if nr >= 0 && nr < linux.NumSyscalls && linux.SyscallNames[nr] != "" {
		return linux.SyscallNames[nr]
	}
	if s, ok := moteCalls[nr]; ok {
		return s
	}
	return "syscall_" + strconv.Itoa(nr)
}

// moteCalls are the kernel's private calls: those its socket service makes
// (kernel/sys_socket.go) and the crash test (kernel/crashtest.go).
var moteCalls = map[int]string{
	0x4d00: "mote_service_fd", 0x4d01: "mote_next_request", 0x4d02: "mote_complete",
	0x4d03: "mote_set_ready", 0x4d04: "mote_set_addr", 0x4d05: "mote_net_open",
	0x4d06: "mote_net_recv", 0x4d07: "mote_net_send", 0x4d20: "mote_net_config",
	0x4dff: "mote_crash_test",
}

// ErrnoName names a Linux errno: ENOENT for 2.
func ErrnoName(e int) string {
	if e > 0 && e < len(errnos) && errnos[e].name != "" {
		return errnos[e].name
	}
	return "errno " + strconv.Itoa(e)
}

func errnoMessage(e int) string {
	if e > 0 && e < len(errnos) {
		return errnos[e].msg
	}
	return ""
}

// quote writes bytes as a C string literal, as strace does, with "..." after it when the
// kernel sent only the first bytes.
func quote(p []byte, complete bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, c := range p {
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c >= ' ' && c <= '~' {
				b.WriteByte(c)
				continue
			}
			// Octal, as short as possible unless a digit follows.
			if i+1 < len(p) && p[i+1] >= '0' && p[i+1] <= '7' {
				fmt.Fprintf(&b, `\%03o`, c)
			} else {
				fmt.Fprintf(&b, `\%o`, c)
			}
		}
	}
	b.WriteByte('"')
	if !complete {
		b.WriteString("...")
	}
	return b.String()
}

// Duration formats d as strace -T does.
func Duration(d time.Duration) string { return fmt.Sprintf("<%.6f>", d.Seconds()) }
