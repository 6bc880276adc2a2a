package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/mm"
)

// User memory. The app's memory is mapped in the same page tables the
// kernel runs on, so once a range is checked against the address-space map
// and its pages are present, the kernel reads and writes it directly. Every
// pointer a system call receives goes through here: a bad one gives EFAULT,
// never a kernel fault.

// userOK checks that [addr, addr+n) is user memory allowing access (read, or
// write when write is set) and makes its pages present.
func userOK(addr, n uintptr, write bool) bool {
	if n == 0 {
		return true
	}
	end := addr + n
	if end < addr || addr < pageSize || end > userHigh {
		return false
	}
	prot := uint32(mm.ProtRead)
	if write {
		prot = mm.ProtWrite
	}
	lo := addr &^ (pageSize - 1)
	hi := (end + pageSize - 1) &^ (pageSize - 1)
	if !vmas.Covered(lo, hi, prot) {
		return false
	}
	for p := lo; p < hi; p += pageSize {
		a, _ := vmas.Find(p)
		if sig, _ := faultIn(p, a, write); sig != 0 {
			return false
		}
	}
	return true
}

// userBytes returns the user range as a slice after checking it; nil, false
// when it is not accessible.
func userBytes(addr, n uintptr, write bool) ([]byte, bool) {
	if !userOK(addr, n, write) {
		return nil, false
	}
	if n == 0 {
		return nil, true
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(addr)), n), true
}

func readU64(addr uintptr) (uint64, bool) {
	if addr&7 != 0 || !userOK(addr, 8, false) {
		return 0, false
	}
	return *(*uint64)(unsafe.Pointer(addr)), true
}

func writeU64(addr uintptr, v uint64) bool {
	if addr&7 != 0 || !userOK(addr, 8, true) {
		return false
	}
	*(*uint64)(unsafe.Pointer(addr)) = v
	return true
}

func readU32(addr uintptr) (uint32, bool) {
	if addr&3 != 0 || !userOK(addr, 4, false) {
		return 0, false
	}
	return *(*uint32)(unsafe.Pointer(addr)), true
}

func writeU32(addr uintptr, v uint32) bool {
	if addr&3 != 0 || !userOK(addr, 4, true) {
		return false
	}
	*(*uint32)(unsafe.Pointer(addr)) = v
	return true
}

// copyOut writes src to user memory at addr.
func copyOut(addr uintptr, src []byte) bool {
	dst, ok := userBytes(addr, uintptr(len(src)), true)
	if !ok {
		return false
	}
	copy(dst, src)
	return true
}

// copyIn reads len(dst) bytes of user memory at addr.
func copyIn(dst []byte, addr uintptr) bool {
	src, ok := userBytes(addr, uintptr(len(dst)), false)
	if !ok {
		return false
	}
	copy(dst, src)
	return true
}

// userString reads a NUL-terminated string of at most len(buf) bytes into
// buf. It fails on a bad pointer or a string too long.
func userString(addr uintptr, buf []byte) ([]byte, bool) {
	for i := 0; i < len(buf); i++ {
		p := addr + uintptr(i)
		if i == 0 || p&(pageSize-1) == 0 {
			if !userOK(p, 1, false) {
				return nil, false
			}
		}
		c := *(*byte)(unsafe.Pointer(p))
		if c == 0 {
			return buf[:i], true
		}
		buf[i] = c
	}
	return nil, false
}

// timespec is struct timespec.
type timespec struct{ Sec, Nsec int64 }

// readTimespec reads a timespec and returns it in nanoseconds.
func readTimespec(addr uintptr) (int64, bool) {
	var ts timespec
	if !copyIn((*[16]byte)(unsafe.Pointer(&ts))[:], addr) {
		return 0, false
	}
	if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= 1e9 {
		return -1, true
	}
	if ts.Sec > (1<<63-1)/1_000_000_000-1 {
		return 1<<63 - 1, true
	}
	return ts.Sec*1e9 + ts.Nsec, true
}

func writeTimespec(addr uintptr, ns int64) bool {
	ts := timespec{ns / 1e9, ns % 1e9}
	return copyOut(addr, (*[16]byte)(unsafe.Pointer(&ts))[:])
}
