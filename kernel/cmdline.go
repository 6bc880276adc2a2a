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

	tscKHz uint64
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
