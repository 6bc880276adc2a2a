// Package symbolize turns program counters from a guest's crash report into
// function names, files and lines, from the image's own symbol tables.
package symbolize

import (
	"debug/elf"
	"debug/gosym"
	"fmt"
	"strconv"
	"strings"
)

// Table resolves addresses in one image.
type Table struct {
	tab *gosym.Table
}

// Open reads the Go line table of the ELF image at path (a mote image is an
// ELF with a trailer, which debug/elf ignores).
func Open(path string) (*Table, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pcln := f.Section(".gopclntab")
	text := f.Section(".text")
	if pcln == nil || text == nil {
		return nil, fmt.Errorf("%s has no Go line table", path)
	}
	data, err := pcln.Data()
	if err != nil {
		return nil, err
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		return nil, err
	}
	return &Table{tab: tab}, nil
}

// Describe names the code at pc: "function+0xoffset file:line", or "?".
func (t *Table) Describe(pc uint64) string {
	file, line, fn := t.tab.PCToLine(pc)
	if fn == nil {
		return "?"
	}
	return fmt.Sprintf("%s+%#x %s:%d", fn.Name, pc-fn.Entry, file, line)
}

// DescribeReturn names the call that returns to pc: a return address points after the call
// instruction, which may be the first instruction of the next line, so the line is that of
// pc-1. The offset stays that of pc, as Go's tracebacks show it.
func (t *Table) DescribeReturn(pc uint64) string {
	file, line, fn := t.tab.PCToLine(pc - 1)
	if fn == nil {
		return "?"
	}
	return fmt.Sprintf("%s+%#x %s:%d", fn.Name, pc-fn.Entry, file, line)
}

// Frame parses a kernel "pc 0x..." record (where a thread stopped) or "ret 0x..." record (a
// return address); ok is false for other records.
func Frame(record string) (pc uint64, ret, ok bool) {
	hex, found := strings.CutPrefix(record, "pc 0x")
	if !found {
		if hex, found = strings.CutPrefix(record, "ret 0x"); !found {
			return 0, false, false
		}
		ret = true
	}
	pc, err := strconv.ParseUint(hex, 16, 64)
	return pc, ret, err == nil
}
