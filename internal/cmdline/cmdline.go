// Package cmdline encodes the kernel command line mote passes to a guest: space-separated
// key=value tokens whose values are percent-encoded, so that any byte string (an argument with
// spaces, an environment value with '=' or '%') survives the trip. docs/ARCHITECTURE.md lists the
// keys; the kernel decodes them.
package cmdline

import (
	"errors"
	"fmt"
	"strings"
)

// Param is one key=value token. Keys may repeat (arg=, env=); order is kept.
type Param struct {
	Key, Value string
}

// Encode returns the command line for params. Keys must be non-empty and made of [a-z0-9_].
func Encode(params []Param) (string, error) {
	var b strings.Builder
	for i, p := range params {
		if !validKey(p.Key) {
			return "", fmt.Errorf("invalid command-line key %q", p.Key)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.Key)
		b.WriteByte('=')
		escape(&b, p.Value)
	}
	return b.String(), nil
}

// Decode parses a command line made by Encode. It is the kernel's side, kept here for tests and
// for tools that read a command line back.
func Decode(s string) ([]Param, error) {
	var params []Param
	for _, tok := range strings.Fields(s) {
		k, v, ok := strings.Cut(tok, "=")
		if !ok || !validKey(k) {
			return nil, fmt.Errorf("malformed command-line token %q", tok)
		}
		val, err := Unescape(v)
		if err != nil {
			return nil, fmt.Errorf("command-line token %q: %w", tok, err)
		}
		params = append(params, Param{k, val})
	}
	return params, nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// plain reports whether c stands for itself in an encoded value. Everything else, including
// space, '%', '=', quotes and any byte outside printable ASCII, is written as %XX.
func plain(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("-._~/:,+@", c) >= 0
}

const hexDigits = "0123456789ABCDEF"

func escape(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
}

// Unescape decodes %XX escapes (either case). A truncated or non-hex escape is an error.
func Unescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out = append(out, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("truncated %-escape")
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("bad %%-escape %q", s[i:i+3])
		}
		out = append(out, byte(hi<<4|lo))
		i += 2
	}
	return string(out), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
