package strace

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Call is one system call as the kernel's trace record gives it.
type Call struct {
	TID      int
	Nr       int
	Returned bool  // false for a call that never returns (exit_group)
	Result   int64 // RAX: a value, or -errno
	Duration time.Duration
	Args     [6]uint64
	// Mem holds the user memory an argument points at, if the kernel could read it.
	Mem [6]*Mem
}

// Mem is user memory copied by the kernel: a path, or the first bytes of a buffer.
type Mem struct {
	Data     []byte
	Complete bool // false: the kernel sent only the first bytes
}

// ParseCall parses the text of a "trace" record: TID NR RESULT NS A0..A5 [I=DATA|I~DATA]...
func ParseCall(text string) (Call, error) {
	var c Call
	f := strings.Fields(text)
	if len(f) < 10 {
		return c, fmt.Errorf("trace record %q: want TID NR RESULT NS and six arguments", text)
	}
	var err error
	if c.TID, err = strconv.Atoi(f[0]); err != nil {
		return c, fmt.Errorf("trace record %q: thread id: %w", text, err)
	}
	if c.Nr, err = strconv.Atoi(f[1]); err != nil || c.Nr < 0 {
		return c, fmt.Errorf("trace record %q: bad call number", text)
	}
	if f[2] != "?" {
		if c.Result, err = strconv.ParseInt(f[2], 10, 64); err != nil {
			return c, fmt.Errorf("trace record %q: result: %w", text, err)
		}
		c.Returned = true
	}
	ns, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return c, fmt.Errorf("trace record %q: duration: %w", text, err)
	}
	c.Duration = time.Duration(ns)
	for i := range c.Args {
		if c.Args[i], err = strconv.ParseUint(f[4+i], 16, 64); err != nil {
			return c, fmt.Errorf("trace record %q: argument %d: %w", text, i, err)
		}
	}
	for _, m := range f[10:] {
		if len(m) < 2 || m[0] < '0' || m[0] > '5' || m[1] != '=' && m[1] != '~' {
			return c, fmt.Errorf("trace record %q: bad memory field %q", text, m)
		}
		data, err := unescape(m[2:])
		if err != nil {
			return c, fmt.Errorf("trace record %q: %w", text, err)
		}
		c.Mem[m[0]-'0'] = &Mem{Data: data, Complete: m[1] == '='}
	}
	return c, nil
}

// unescape undoes the kernel's percent-encoding.
func unescape(s string) ([]byte, error) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return nil, fmt.Errorf("truncated escape in %q", s)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("bad escape in %q", s)
		}
		b = append(b, byte(v))
		i += 2
	}
	return b, nil
}
