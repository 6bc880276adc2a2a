package image

import (
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// Large zero-filled variables cost guest memory only when touched. A PVH loader gives every
// byte of a PT_LOAD segment's p_memsz a frame of guest RAM, and Go programs carry big ones:
// anything that imports crypto links a 32 MiB scratch buffer for the FIPS entropy source
// (crypto/internal/fips140/drbg.memory) that most programs never use. The linker places the
// data symbols of a section in order of size, so such variables end the image. LazyBSS lowers
// the last segment's p_memsz so that the loader stops before them; the kernel finds the rest
// of the image (up to runtime.end) missing from the segment and maps it page by page on first
// touch, as it does the heap.
const (
	lazyMinSize = 1 << 20 // smaller variables are not worth a page-table walk
	lazyPage    = 4096
)

// LazyBSS trims, in place, the tail of large zero-filled variables off the loaded image and
// reports how many bytes the loader no longer places. Variables of the kernel and the Go
// runtime are never trimmed: ring 0 and the runtime's own start-up code touch them before any
// page fault can be served. An image without such a tail is left as it is; trimming twice
// trims nothing more.
func LazyBSS(b []byte) (uint64, error) {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNotELF, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return 0, nil // no symbol table (a stripped image): nothing to go by
	}
	phdrs, err := readProgHeaders(b)
	if err != nil {
		return 0, err
	}
	last := -1
	for i, p := range phdrs {
		if p.typ == elf.PT_LOAD && (last < 0 || p.vaddr > phdrs[last].vaddr) {
			last = i
		}
	}
	if last < 0 {
		return 0, fmt.Errorf("%w: no loadable segment", ErrNotELF)
	}
	seg := phdrs[last]
	segEnd := seg.vaddr + seg.memsz

	// The symbols in the zero-filled part of the last segment, highest first.
	var zero []elf.Symbol
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_OBJECT && s.Value >= seg.vaddr+seg.filesz && s.Value < segEnd {
			zero = append(zero, s)
		}
	}
	slices.SortFunc(zero, func(a, b elf.Symbol) int { return cmp.Compare(b.Value, a.Value) })

	lo := segEnd
	for _, s := range zero {
		if s.Size == 0 {
			continue // a marker such as runtime.end
		}
		if s.Size < lazyMinSize || ownedByKernel(s.Name) {
			break
		}
		lo = s.Value
	}
	lo = (lo + lazyPage - 1) &^ (lazyPage - 1)
	if lo >= segEnd {
		return 0, nil
	}
	binary.LittleEndian.PutUint64(b[seg.at+40:], lo-seg.vaddr)
	return segEnd - lo, nil
}

// ownedByKernel reports whether a symbol belongs to code that runs before, or without, the
// page-fault handler: the kernel, and the Go runtime it starts.
func ownedByKernel(name string) bool {
	return strings.HasPrefix(name, "mote.dev/mote/kernel") || strings.HasPrefix(name, "runtime.") ||
		strings.HasPrefix(name, "internal/runtime/")
}
