package image

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// PVH boot: QEMU, Firecracker and Cloud Hypervisor start a 64-bit ELF in 32-bit protected mode
// at the address named by a XEN_ELFNOTE_PHYS32_ENTRY note inside a PT_NOTE program header.
// Go's linker writes no such note, but with -B 0x0000000000000000 it writes a GNU build-id note
// whose 8-byte descriptor is exactly the room the PVH note needs, right after the Go build-id
// note that its PT_NOTE header covers. PatchPVH rewrites that note in place and widens the
// PT_NOTE header over it.
const (
	ntGNUBuildID       = 3  // NT_GNU_BUILD_ID
	xenElfnotePhys32   = 18 // XEN_ELFNOTE_PHYS32_ENTRY, xen/include/public/elfnote.h
	noteHeaderSize     = 12 // namesz, descsz, type: three 4-byte words
	pvhDescSize        = 8
	elf64HeaderSize    = 64
	elf64ProgHdrSize   = 56
	maxPhysEntryAddr   = math.MaxUint32 // PVH enters in 32-bit mode: the entry is a 32-bit physical address
	noteNameSizeGNUXen = 4              // "GNU\0" and "Xen\0"
)

var (
	nameGNU = []byte("GNU\x00")
	nameXen = []byte("Xen\x00")
)

// ErrNotELF says the bytes are not a 64-bit little-endian x86-64 ELF executable.
var ErrNotELF = errors.New("not a 64-bit x86-64 ELF executable")

// PatchPVH makes the ELF executable in b bootable through PVH, in place. It is idempotent: an
// image that already carries the PVH note is checked and left as it is.
func PatchPVH(b []byte) error {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotELF, err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC {
		return fmt.Errorf("%w: class %v, data %v, machine %v, type %v", ErrNotELF, f.Class, f.Data, f.Machine, f.Type)
	}
	phdrs, err := readProgHeaders(b)
	if err != nil {
		return err
	}
	entry, err := physEntry(f.Entry, phdrs)
	if err != nil {
		return err
	}

	// Find the note: an 8-byte GNU build-id (to patch), or a PVH note (already patched).
	var note noteRef
	found := false
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOTE {
			continue
		}
		start, end, ok := span(s.Offset, s.Size, uint64(len(b)))
		if !ok {
			return fmt.Errorf("note section %s lies outside the file", s.Name)
		}
		notes, err := parseNotes(b, start, end)
		if err != nil {
			return fmt.Errorf("note section %s: %w", s.Name, err)
		}
		for _, n := range notes {
			if n.isGNUBuildID8(b) || n.isPVH(b) {
				note, found = n, true
				break
			}
		}
		if found {
			break
		}
	}
	if !found {
		return errors.New("no 8-byte GNU build-id note to turn into the PVH note (link with -B 0x0000000000000000)")
	}

	// Rewrite it: name "Xen\0", type 18, desc = 8-byte little-endian entry address.
	copy(b[note.off+noteHeaderSize:], nameXen)
	binary.LittleEndian.PutUint32(b[note.off+8:], xenElfnotePhys32)
	binary.LittleEndian.PutUint64(b[note.descOff:], entry)

	return coverNote(b, phdrs, note)
}

// noteRef is one ELF note: off is its header's file offset, end the offset just past its
// (4-byte padded) descriptor.
type noteRef struct {
	off, descOff, end  uint64
	namesz, descsz, ty uint32
}

func (n noteRef) name(b []byte) []byte {
	return b[n.off+noteHeaderSize : n.off+noteHeaderSize+uint64(n.namesz)]
}

func (n noteRef) isGNUBuildID8(b []byte) bool {
	return n.ty == ntGNUBuildID && n.descsz == pvhDescSize && bytes.Equal(n.name(b), nameGNU)
}

func (n noteRef) isPVH(b []byte) bool {
	return n.ty == xenElfnotePhys32 && n.descsz == pvhDescSize && bytes.Equal(n.name(b), nameXen)
}

// parseNotes splits b[start:end] into notes; the notes must fill it exactly.
func parseNotes(b []byte, start, end uint64) ([]noteRef, error) {
	var notes []noteRef
	for off := start; off < end; {
		if end-off < noteHeaderSize {
			return nil, fmt.Errorf("truncated note header at offset %#x", off)
		}
		n := noteRef{
			off:    off,
			namesz: binary.LittleEndian.Uint32(b[off:]),
			descsz: binary.LittleEndian.Uint32(b[off+4:]),
			ty:     binary.LittleEndian.Uint32(b[off+8:]),
		}
		n.descOff = off + noteHeaderSize + align4(uint64(n.namesz))
		n.end = n.descOff + align4(uint64(n.descsz))
		if n.descOff > end || n.end > end {
			return nil, fmt.Errorf("note at offset %#x runs past the end of its section", off)
		}
		notes = append(notes, n)
		off = n.end
	}
	return notes, nil
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// span returns [off, off+size) if it lies inside a file of the given length.
func span(off, size, fileLen uint64) (start, end uint64, ok bool) {
	end = off + size
	if end < off || end > fileLen {
		return 0, 0, false
	}
	return off, end, true
}

// progHeader is an ELF64 program header and where it sits in the file.
type progHeader struct {
	at                    uint64 // file offset of the header itself
	typ                   elf.ProgType
	off, vaddr, paddr     uint64
	filesz, memsz, palign uint64
}

func readProgHeaders(b []byte) ([]progHeader, error) {
	if len(b) < elf64HeaderSize {
		return nil, fmt.Errorf("%w: file too short", ErrNotELF)
	}
	phoff := binary.LittleEndian.Uint64(b[0x20:])
	phentsize := uint64(binary.LittleEndian.Uint16(b[0x36:]))
	phnum := uint64(binary.LittleEndian.Uint16(b[0x38:]))
	if phentsize != elf64ProgHdrSize {
		return nil, fmt.Errorf("program header entry size is %d, want %d", phentsize, elf64ProgHdrSize)
	}
	if _, _, ok := span(phoff, phnum*phentsize, uint64(len(b))); !ok {
		return nil, errors.New("program headers lie outside the file")
	}
	phdrs := make([]progHeader, phnum)
	for i := range phdrs {
		at := phoff + uint64(i)*phentsize
		h := b[at:]
		phdrs[i] = progHeader{
			at:     at,
			typ:    elf.ProgType(binary.LittleEndian.Uint32(h[0:])),
			off:    binary.LittleEndian.Uint64(h[8:]),
			vaddr:  binary.LittleEndian.Uint64(h[16:]),
			paddr:  binary.LittleEndian.Uint64(h[24:]),
			filesz: binary.LittleEndian.Uint64(h[32:]),
			memsz:  binary.LittleEndian.Uint64(h[40:]),
			palign: binary.LittleEndian.Uint64(h[48:]),
		}
	}
	return phdrs, nil
}

// physEntry turns the ELF entry (a virtual address) into the physical address PVH jumps to,
// through the PT_LOAD segment that holds it.
func physEntry(entry uint64, phdrs []progHeader) (uint64, error) {
	for _, p := range phdrs {
		if p.typ != elf.PT_LOAD || entry < p.vaddr || entry-p.vaddr >= p.filesz {
			continue
		}
		phys := p.paddr + (entry - p.vaddr)
		if phys < p.paddr || phys > maxPhysEntryAddr {
			return 0, fmt.Errorf("entry point %#x is at physical address %#x, above 4 GiB: PVH starts in 32-bit mode (link with -T 0x200000)", entry, phys)
		}
		return phys, nil
	}
	return 0, fmt.Errorf("entry point %#x is in no loadable segment (is the entry symbol linked in?)", entry)
}

// coverNote widens a PT_NOTE program header over the note, which must sit right next to (or
// inside) the notes that header already covers, so the widened range still holds only notes.
func coverNote(b []byte, phdrs []progHeader, n noteRef) error {
	for _, p := range phdrs {
		if p.typ != elf.PT_NOTE {
			continue
		}
		segStart, segEnd, ok := span(p.off, p.filesz, uint64(len(b)))
		if !ok {
			return errors.New("PT_NOTE segment lies outside the file")
		}
		if n.off >= segStart && n.end <= segEnd {
			return nil // already covered
		}
		if n.off > segEnd || n.end < segStart {
			continue // not adjacent to this one
		}
		start, end := min(segStart, n.off), max(segEnd, n.end)
		if _, err := parseNotes(b, start, end); err != nil {
			return fmt.Errorf("cannot widen PT_NOTE over the PVH note: %w", err)
		}
		if p.vaddr < segStart-start || p.paddr < segStart-start {
			return errors.New("cannot widen PT_NOTE over the PVH note: address underflow")
		}
		h := b[p.at:]
		binary.LittleEndian.PutUint64(h[8:], start)
		binary.LittleEndian.PutUint64(h[16:], p.vaddr-(segStart-start))
		binary.LittleEndian.PutUint64(h[24:], p.paddr-(segStart-start))
		binary.LittleEndian.PutUint64(h[32:], end-start)
		binary.LittleEndian.PutUint64(h[40:], end-start)
		return nil
	}
	return errors.New("no PT_NOTE program header next to the build-id note to widen over it")
}

// PVHEntry reports the entry address of the PVH note a PT_NOTE header covers, or an error if
// the image would not boot through PVH. It is the check a loader makes.
func PVHEntry(b []byte) (uint64, error) {
	phdrs, err := readProgHeaders(b)
	if err != nil {
		return 0, err
	}
	for _, p := range phdrs {
		if p.typ != elf.PT_NOTE {
			continue
		}
		start, end, ok := span(p.off, p.filesz, uint64(len(b)))
		if !ok {
			return 0, errors.New("PT_NOTE segment lies outside the file")
		}
		notes, err := parseNotes(b, start, end)
		if err != nil {
			return 0, err
		}
		for _, n := range notes {
			if n.isPVH(b) {
				return binary.LittleEndian.Uint64(b[n.descOff:]), nil
			}
		}
	}
	return 0, errors.New("no PVH ELF note (Xen, type 18) in any PT_NOTE segment")
}
