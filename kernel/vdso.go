package kernel

import (
	"unsafe"
)

// The vDSO. Go's runtime reads the clock on every scheduling decision and
// timer check; as a system call each read is a trap, the largest single cost
// of a busy server under emulation. Linux hands processes a small ELF image,
// the vDSO, whose __vdso_clock_gettime reads the TSC in user mode, and Go's
// runtime uses it when the auxiliary vector names one (AT_SYSINFO_EHDR). So
// does mote: the function is vdsoClockGettime (vdso_amd64.s), part of the
// kernel's text, and vdsoImage is the smallest ELF image the runtime's
// parser (runtime/vdso_linux.go) accepts that names it: a PT_LOAD whose
// range is the function's code (the runtime treats PCs in it as vDSO code
// when a signal arrives), a PT_DYNAMIC, one symbol, a one-bucket hash table
// and a version definition. Values in the dynamic table are relative to the
// load offset, which is the function's address.

func vdsoClockGettime()
func vdsoClockGettimeAddr() uintptr

// vdsoCodeSize bounds vdsoClockGettime's code, for the PT_LOAD range.
const vdsoCodeSize = 128

// Offsets in vdsoImage.
const (
	vdsoPhdrs   = 64
	vdsoDyn     = vdsoPhdrs + 2*56
	vdsoSymtab  = vdsoDyn + 6*16
	vdsoHash    = vdsoSymtab + 2*24
	vdsoVerdef  = vdsoHash + 5*4
	vdsoStrtab  = vdsoVerdef + 20
	vdsoSymName = 1 // "__vdso_clock_gettime" in the string table
	vdsoEnd     = vdsoStrtab + 1 + len("__vdso_clock_gettime") + 1
)

// The ELF constants the image uses.
const (
	elfDT_HASH   = 4
	elfDT_STRTAB = 5
	elfDT_SYMTAB = 6
	elfDT_VERDEF = 0x6ffffffc
	elfPT_LOAD   = 1
	elfPT_DYN    = 2
)

var vdsoImage struct {
	_ [0]uint64 // aligned for the 64-bit fields
	b [vdsoEnd]byte
}

// vdsoInit builds vdsoImage and returns its address for AT_SYSINFO_EHDR.
func vdsoInit() uintptr {
	b := &vdsoImage.b
	base := uintptr(unsafe.Pointer(b))
	code := vdsoClockGettimeAddr()
	u16 := func(off int, v uint16) { *(*uint16)(unsafe.Pointer(&b[off])) = v }
	u32 := func(off int, v uint32) { *(*uint32)(unsafe.Pointer(&b[off])) = v }
	u64 := func(off int, v uint64) { *(*uint64)(unsafe.Pointer(&b[off])) = v }
	rel := func(off int) uint64 { return uint64(base + uintptr(off) - code) } // from the load offset

	copy(b[:], "\x7fELF\x02\x01\x01") // 64-bit, little-endian, version 1
	u16(16, 3)                        // ET_DYN
	u16(18, 62)                       // EM_X86_64
	u32(20, 1)
	u64(32, vdsoPhdrs) // e_phoff
	u16(52, 64)        // e_ehsize
	u16(54, 56)        // e_phentsize
	u16(56, 2)         // e_phnum

	// PT_LOAD: the load offset (base + p_offset - p_vaddr) is the code's address.
	p := vdsoPhdrs
	u32(p, elfPT_LOAD)
	u32(p+4, 5) // R+X
	u64(p+16, uint64(base-code))
	u64(p+32, vdsoCodeSize)
	u64(p+40, vdsoCodeSize)
	p += 56
	u32(p, elfPT_DYN)
	u32(p+4, 4)
	u64(p+8, vdsoDyn) // p_offset, from base
	u64(p+32, 6*16)
	u64(p+40, 6*16)

	d := vdsoDyn
	for _, e := range [...][2]uint64{
		{elfDT_HASH, rel(vdsoHash)},
		{elfDT_STRTAB, rel(vdsoStrtab)},
		{elfDT_SYMTAB, rel(vdsoSymtab)},
		{elfDT_VERDEF, rel(vdsoVerdef)},
		{0, 0}, // DT_NULL
	} {
		u64(d, e[0])
		u64(d+8, e[1])
		d += 16
	}

	// Symbol 1 (symbol 0 is the null one): a global function at the load offset.
	s := vdsoSymtab + 24
	u32(s, vdsoSymName)
	b[s+4] = 1<<4 | 2 // STB_GLOBAL, STT_FUNC
	u16(s+6, 1)       // any section but SHN_UNDEF
	u64(s+8, 0)
	u64(s+16, vdsoCodeSize)

	// One bucket holding symbol 1, whose chain ends there.
	u32(vdsoHash, 1)    // nbucket
	u32(vdsoHash+4, 2)  // nchain
	u32(vdsoHash+8, 1)  // bucket[0]
	u32(vdsoHash+12, 0) // chain[0]
	u32(vdsoHash+16, 0) // chain[1]

	// The base version definition only: the runtime then matches names
	// without versions (it needs a definition to walk, or it faults).
	u16(vdsoVerdef, 1)   // vd_version
	u16(vdsoVerdef+2, 1) // vd_flags: VER_FLG_BASE
	u16(vdsoVerdef+4, 1) // vd_ndx
	u16(vdsoVerdef+6, 1) // vd_cnt

	copy(b[vdsoStrtab+vdsoSymName:], "__vdso_clock_gettime")
	return base
}
