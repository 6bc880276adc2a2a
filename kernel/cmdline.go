package kernel

// The kernel command line: space-separated key=value tokens whose values are
// percent-encoded (docs/ARCHITECTURE.md). Values are decoded in place in
// cmdBuf; spans index into it.

type span struct{ off, len int32 }

func (s span) bytes() []byte { return cmdBuf[s.off : s.off+s.len] }

const maxArgs = 1024

var (
	argv  [maxArgs]span
	nargv int
	envv  [maxArgs]span
	nenvv int
	cwd   span
	// hostname is the guest's name (uname, /etc/hostname, /etc/hosts);
	// "mote" when the command line gives none.
	hostname span

	tscKHz uint64

	// tmpSize is the size limit of /tmp and of rw= directories, in bytes
	// (tmpsize=); 0 gives a quarter of memory.
	tmpSize uint64
	// rwPaths are directories of the image made writable (rw=), as
	// `mote test` makes a test's package directory.
	rwPaths [4]span
	nrw     int
)

func parseCmdline() {
	i := 0
	for i < cmdLen {
		for i < cmdLen && cmdBuf[i] == ' ' {
			i++
		}
		start := i
		for i < cmdLen && cmdBuf[i] != ' ' {
			i++
		}
		if start == i {
			continue
		}
		tok := cmdBuf[start:i]
		eq := -1
		for j, c := range tok {
			if c == '=' {
				eq = j
				break
			}
		}
		if eq < 0 {
			continue
		}
		key := tok[:eq]
		val := span{int32(start + eq + 1), int32(percentDecode(tok[eq+1:]))}
		switch {
		case bytesEq(key, "arg"):
			if nargv < maxArgs {
				argv[nargv] = val
				nargv++
			}
		case bytesEq(key, "env"):
			if nenvv < maxArgs {
				envv[nenvv] = val
				nenvv++
			}
		case bytesEq(key, "cwd"):
			cwd = val
		case bytesEq(key, "vol"):
			volSpec(val)
		case bytesEq(key, "ip"):
			parseIPArg(val.bytes())
		case bytesEq(key, "gw"):
			parseIPv4(val.bytes(), &netcfg.gw)
		case bytesEq(key, "dns"):
			parseDNSArg(val.bytes())
		case bytesEq(key, "hostname"):
			if val.len > 0 && val.len <= 64 {
				hostname = val
			}
		case bytesEq(key, "tmpsize"):
			tmpSize = parseSize(val.bytes())
		case bytesEq(key, "rw"):
			if nrw < len(rwPaths) {
				rwPaths[nrw] = val
				nrw++
			}
		case bytesEq(key, "tsc_khz"):
			tscKHz = parseUint(val.bytes())
		case bytesEq(key, "trace"):
			traceSyscalls = parseUint(val.bytes()) != 0
		case bytesEq(key, "summary"):
			countSyscalls = parseUint(val.bytes()) != 0
		case bytesEq(key, "crashtest"):
			crashTest = parseUint(val.bytes()) != 0
		}
	}
}

// percentDecode decodes %XX escapes in place and returns the new length.
func percentDecode(b []byte) int {
	n := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '%' && i+2 < len(b) {
			hi, ok1 := unhex(b[i+1])
			lo, ok2 := unhex(b[i+2])
			if ok1 && ok2 {
				c = hi<<4 | lo
				i += 2
			}
		}
		b[n] = c
		n++
	}
	return n
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func parseUint(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		v = v*10 + uint64(c-'0')
	}
	return v
}

// bytesEq compares without converting b to a string, which could allocate.
func bytesEq(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if b[i] != s[i] {
			return false
		}
	}
	return true
}

// defaultHostName is the host name without hostname=; an array, because
// converting a string to a slice would allocate on the trap path.
var defaultHostName = [...]byte{'m', 'o', 't', 'e'}

// hostName is the guest's host name.
func hostName() []byte {
	if hostname.len == 0 {
		return defaultHostName[:]
	}
	return hostname.bytes()
}

// parseIPv4 reads a dotted quad into a; false leaves a alone.
func parseIPv4(b []byte, a *[4]byte) bool {
	var out [4]byte
	part, digits := 0, 0
	v := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || v > 255 || part > 3 {
				return false
			}
			out[part] = byte(v)
			part, digits, v = part+1, 0, 0
			continue
		}
		if b[i] < '0' || b[i] > '9' || digits == 3 {
			return false
		}
		v = v*10 + int(b[i]-'0')
		digits++
	}
	if part != 4 {
		return false
	}
	*a = out
	return true
}

// parseCIDR reads ADDRESS/PREFIX (IPv4); false leaves ip and prefix alone.
func parseCIDR(b []byte, ip *[4]byte, prefix *uint8) bool {
	for i, c := range b {
		if c != '/' {
			continue
		}
		n := parseUint(b[i+1:])
		var a [4]byte
		if i+1 == len(b) || n < 1 || n > 32 || !parseIPv4(b[:i], &a) {
			return false
		}
		*ip, *prefix = a, uint8(n)
		return true
	}
	return false
}

// parseSize reads a byte count with an optional K, M or G suffix (powers
// of 1024).
func parseSize(b []byte) uint64 {
	shift := uint(0)
	if len(b) > 0 {
		switch b[len(b)-1] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		}
		if shift != 0 {
			b = b[:len(b)-1]
		}
	}
	return parseUint(b) << shift
}
