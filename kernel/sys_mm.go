package kernel

import (
	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/mm"
)

// Memory system calls. Mappings are anonymous and demand-paged: mmap only
// records an area; pages appear, zeroed, on first touch. No page is ever
// both writable and executable: such requests get EACCES.

func pageAligned(v uint64) bool { return v&(pageSize-1) == 0 }

func roundUp(n uint64) (uint64, bool) {
	r := (n + pageSize - 1) &^ (pageSize - 1)
	return r, r >= n
}

func protOK(prot uint64) bool {
	return prot&^(linux.PROT_READ|linux.PROT_WRITE|linux.PROT_EXEC) == 0 &&
		prot&(linux.PROT_WRITE|linux.PROT_EXEC) != linux.PROT_WRITE|linux.PROT_EXEC
}

// userRange reports whether [addr, addr+n) may hold user mappings.
func userRange(addr, n uint64) bool {
	return addr >= userLow && addr+n >= addr && addr+n <= userHigh
}

// sysMmap implements mmap(2) for anonymous memory.
func sysMmap(t *thread, f *Frame) int64 {
	addr, length, prot, flags := f.RDI, f.RSI, f.RDX, f.R10
	fixedFlags := flags&(linux.MAP_FIXED|linux.MAP_FIXED_NOREPLACE) != 0
	if length == 0 || fixedFlags && !pageAligned(addr) {
		return errno(linux.EINVAL)
	}
	if !pageAligned(addr) {
		addr = 0 // only a hint: Linux drops a misaligned one
	}
	n, ok := roundUp(length)
	if !ok {
		return errno(linux.ENOMEM)
	}
	if flags&(linux.MAP_PRIVATE|linux.MAP_SHARED) == 0 {
		return errno(linux.EINVAL)
	}
	if prot&^(linux.PROT_READ|linux.PROT_WRITE|linux.PROT_EXEC) != 0 {
		return errno(linux.EINVAL)
	}
	if !protOK(prot) {
		return errno(linux.EACCES)
	}
	if flags&linux.MAP_ANONYMOUS == 0 {
		return errno(linux.ENODEV) // no mappable files yet
	}
	fixed := flags&(linux.MAP_FIXED|linux.MAP_FIXED_NOREPLACE) != 0
	switch {
	case fixed:
		if !userRange(addr, n) || vmas.HasFixed(uintptr(addr), uintptr(addr+n)) {
			return errno(linux.EINVAL)
		}
		if flags&linux.MAP_FIXED_NOREPLACE != 0 && vmas.Overlaps(uintptr(addr), uintptr(addr+n)) {
			return errno(linux.EEXIST)
		}
	case addr != 0 && userRange(addr, n) && !vmas.Overlaps(uintptr(addr), uintptr(addr+n)):
		// The hint is free: take it, as Linux does.
	default:
		a, ok := vmas.FindGap(uintptr(n), userLow, userHigh)
		if !ok {
			return errno(linux.ENOMEM)
		}
		addr = uint64(a)
	}
	if !vmas.Insert(uintptr(addr), uintptr(addr+n), uint32(prot), 0) {
		return errno(linux.ENOMEM)
	}
	if fixed {
		releasePages(uintptr(addr), uintptr(addr+n))
	}
	return int64(addr)
}

// sysMunmap implements munmap(2).
func sysMunmap(t *thread, f *Frame) int64 {
	addr, length := f.RDI, f.RSI
	n, ok := roundUp(length)
	if length == 0 || !ok || !pageAligned(addr) || !userRange(addr, n) {
		return errno(linux.EINVAL)
	}
	if vmas.HasFixed(uintptr(addr), uintptr(addr+n)) {
		return errno(linux.EINVAL)
	}
	if !vmas.Remove(uintptr(addr), uintptr(addr+n)) {
		return errno(linux.ENOMEM)
	}
	releasePages(uintptr(addr), uintptr(addr+n))
	return 0
}

// sysMprotect implements mprotect(2).
func sysMprotect(t *thread, f *Frame) int64 {
	addr, length, prot := f.RDI, f.RSI, f.RDX
	n, ok := roundUp(length)
	if !ok || !pageAligned(addr) || prot&^(linux.PROT_READ|linux.PROT_WRITE|linux.PROT_EXEC) != 0 {
		return errno(linux.EINVAL)
	}
	if !protOK(prot) {
		return errno(linux.EACCES)
	}
	if n == 0 {
		return 0
	}
	if vmas.HasFixed(uintptr(addr), uintptr(addr+n)) {
		return errno(linux.EACCES)
	}
	if !vmas.Protect(uintptr(addr), uintptr(addr+n), uint32(prot)) {
		return errno(linux.ENOMEM)
	}
	reprotectPages(uintptr(addr), uintptr(addr+n), uint32(prot))
	return 0
}

// sysMadvise implements madvise(2). MADV_DONTNEED and MADV_FREE give the
// pages back (they read as zero afterwards, as anonymous memory does on
// Linux); every other advice is a hint Linux may also ignore, and is.
func sysMadvise(t *thread, f *Frame) int64 {
	addr, length, advice := f.RDI, f.RSI, f.RDX
	n, ok := roundUp(length)
	if !ok || !pageAligned(addr) {
		return errno(linux.EINVAL)
	}
	switch advice {
	case linux.MADV_DONTNEED, linux.MADV_FREE:
		if !vmas.Covered(uintptr(addr), uintptr(addr+n), 0) {
			return errno(linux.ENOMEM)
		}
		if vmas.HasFixed(uintptr(addr), uintptr(addr+n)) {
			return errno(linux.EINVAL)
		}
		releasePages(uintptr(addr), uintptr(addr+n))
	}
	return 0
}

// sysBrk implements brk(2) with an empty heap that cannot grow: it returns
// the current break, 0, which tells the caller to use mmap, as Go does.
func sysBrk(t *thread, f *Frame) int64 { return 0 }

var _ = mm.PageSize
