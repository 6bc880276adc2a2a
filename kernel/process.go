package kernel

import (
	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/arch/amd64"
	"mote.dev/mote/kernel/mm"
)

// startProcess lays out the initial stack as Linux's execve does (argc,
// argv, envp, the auxiliary vector, then the strings) and makes the first
// thread, which starts in Go's runtime at _rt0_amd64_linux.
func startProcess() {
	if !vmas.Insert(mm.Area{Start: stackTop - stackSize, End: stackTop, Prot: mm.ProtRead | mm.ProtWrite}) {
		bootFail("cannot map the stack")
	}
	defaultArg0 := [...]byte{'/', 'a', 'p', 'p'}
	sp := uintptr(stackTop)

	// Strings first, at the top.
	push := func(b []byte) uintptr {
		sp -= uintptr(len(b)) + 1
		if !copyOut(sp, b) || !copyOut(sp+uintptr(len(b)), []byte{0}) {
			bootFail("arguments do not fit on the stack")
		}
		return sp
	}
	var argp [maxArgs]uintptr
	var envp [maxArgs]uintptr
	na := nargv
	if na == 0 {
		argp[0] = push(defaultArg0[:])
		na = 1
	}
	for i := nargv - 1; i >= 0; i-- {
		argp[i] = push(argv[i].bytes())
	}
	for i := nenvv - 1; i >= 0; i-- {
		envp[i] = push(envv[i].bytes())
	}
	var rnd [16]byte
	for i := 0; i < 16; i += 8 {
		v := randomU64()
		for j := 0; j < 8; j++ {
			rnd[i+j] = byte(v >> (8 * j))
		}
	}
	sp -= 16
	random := sp
	copyOut(random, rnd[:])

	_, _, _, hwcap := amd64.Cpuid(1, 0)
	auxv := [...]uint64{
		linux.AT_PAGESZ, pageSize,
		linux.AT_CLKTCK, 100,
		linux.AT_HWCAP, uint64(hwcap),
		linux.AT_UID, 0, linux.AT_EUID, 0, linux.AT_GID, 0, linux.AT_EGID, 0,
		linux.AT_SECURE, 0,
		linux.AT_RANDOM, uint64(random),
		linux.AT_EXECFN, uint64(argp[0]),
		linux.AT_SYSINFO_EHDR, uint64(vdsoInit()),
		linux.AT_NULL, 0,
	}
	words := 1 + na + 1 + nenvv + 1 + len(auxv)
	sp = (sp - uintptr(words)*8) &^ 15
	w := sp
	put := func(v uint64) {
		if !writeU64(w, v) {
			bootFail("arguments do not fit on the stack")
		}
		w += 8
	}
	put(uint64(na))
	for i := 0; i < na; i++ {
		put(uint64(argp[i]))
	}
	put(0)
	for i := 0; i < nenvv; i++ {
		put(uint64(envp[i]))
	}
	put(0)
	for _, v := range auxv {
		put(v)
	}

	t := newThread()
	t.frame = Frame{
		RIP:    uint64(rt0Addr()),
		CS:     selUserCode,
		RFLAGS: rflagsIF | 0x2,
		RSP:    uint64(sp),
		SS:     selUserData,
	}
	t.initFX()
	t.state = tsRunning
	cur = t.index()
	sliceEnd = nanotime() + timeSlice
	*userFrame() = t.frame
	curFX = t.fxArea()
	curFS = 0
}
