package image

import (
	"fmt"
	"strconv"
	"strings"
)

// MinMemory is the least guest memory mote boots with: below it the Go runtime's first heap
// arena and the kernel's own tables do not fit.
const MinMemory = 8 << 20

// ParseMemory parses a memory size the way QEMU's -m does: a number with an optional suffix
// K, M, G or T (binary units; a bare number means MiB). It returns bytes.
func ParseMemory(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty memory size (use e.g. 128M or 1G)")
	}
	shift := 20
	switch t[len(t)-1] {
	case 'k', 'K':
		shift, t = 10, t[:len(t)-1]
	case 'm', 'M':
		shift, t = 20, t[:len(t)-1]
	case 'g', 'G':
		shift, t = 30, t[:len(t)-1]
	case 't', 'T':
		shift, t = 40, t[:len(t)-1]
	case 'b', 'B':
		shift, t = 0, t[:len(t)-1]
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad memory size %q (use e.g. 128M or 1G)", s)
	}
	if n > (1<<63)>>shift {
		return 0, fmt.Errorf("memory size %q is too large", s)
	}
	return n << shift, nil
}

// FormatMemory writes a byte count the way QEMU's -m reads it, in the largest exact unit.
func FormatMemory(n uint64) string {
	switch {
	case n != 0 && n%(1<<30) == 0:
		return strconv.FormatUint(n>>30, 10) + "G"
	case n%(1<<20) == 0:
		return strconv.FormatUint(n>>20, 10) + "M"
	case n%(1<<10) == 0:
		return strconv.FormatUint(n>>10, 10) + "K"
	}
	return strconv.FormatUint(n, 10) + "B"
}
