package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
	"mote.dev/mote/kernel/mm"
)

// /proc: a read-only mount whose files are made when they are opened, as
// Linux's seq files are: open takes a snapshot into an unnamed inode, and
// reads see that snapshot however the system changes meanwhile. Their
// names in the tree have size 0, as on Linux.
//
// /proc/self/fd is a directory of symbolic links, one per open descriptor,
// brought up to date whenever a lookup or getdents enters it.

// What a generated inode holds (inode.gen).
const (
	genNone = iota
	genMeminfo
	genCpuinfo
	genStatus
	genMaps
	genCmdline
	genEnviron
	genFdDir
)

// procInit makes /proc and mounts it read-only. It runs once the rest of
// the tree is made.
func procInit() {
	proc := mkdirAll([]byte("/proc"))
	if proc < 0 {
		return
	}
	// The process is /proc/1, its pid, and /proc/self links to it, as on
	// Linux.
	self := mkdirAll([]byte("/proc/1"))
	if ino, e := newInode(proc, []byte("self"), sIFLNK|0o777); e == 0 {
		writeAt(&inodes[ino], []byte("1"), 0)
	}
	// The host name, where programs look for it: os.Hostname reads
	// /proc/sys/kernel/hostname before uname.
	if k := mkdirAll([]byte("/proc/sys/kernel")); k >= 0 {
		if ino, e := newInode(k, []byte("hostname"), sIFREG|0o444); e == 0 {
			writeAt(&inodes[ino], hostName(), 0)
			writeAt(&inodes[ino], []byte("\n"), inodes[ino].size)
		}
	}
	// /proc/self/exe names the program, as os.Executable reads it. The image
	// holds no file of the program itself: exec of it fails, as exec does.
	if nargv > 0 {
		if ino, e := newInode(self, []byte("exe"), sIFLNK|0o777); e == 0 {
			writeAt(&inodes[ino], argv[0].bytes(), 0)
		}
	}
	for _, g := range [...]struct {
		dir  int32
		name string
		gen  uint8
	}{
		{proc, "meminfo", genMeminfo},
		{proc, "cpuinfo", genCpuinfo},
		{self, "status", genStatus},
		{self, "maps", genMaps},
		{self, "cmdline", genCmdline},
		{self, "environ", genEnviron},
	} {
		if ino, e := newInode(g.dir, []byte(g.name), sIFREG|0o444); e == 0 {
			inodes[ino].gen = g.gen
		}
	}
	if ino, e := newInode(self, []byte("fd"), sIFDIR|0o500); e == 0 {
		inodes[self].nlink++
		inodes[ino].gen = genFdDir
		procFdDir = ino
	}
	for i := range fdLinks {
		fdLinks[i] = -1
	}
	addMount(proc, mkProc, true, 0)
}

// procText is where a snapshot is formatted before it goes into pages. One
// CPU and no preemption in the kernel make one buffer enough.
var procText textBuf

type textBuf struct {
	b [64 << 10]byte
	n int
}

func (w *textBuf) reset() { w.n = 0 }

func (w *textBuf) bytes(p []byte) *textBuf {
	w.n += copy(w.b[w.n:], p)
	return w
}

func (w *textBuf) s(p string) *textBuf {
	w.n += copy(w.b[w.n:], p)
	return w
}

func (w *textBuf) c(ch byte) *textBuf {
	if w.n < len(w.b) {
		w.b[w.n] = ch
		w.n++
	}
	return w
}

// dec writes v in decimal, right-aligned in width columns.
func (w *textBuf) dec(v uint64, width int) *textBuf {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	for k := len(d) - i; k < width; k++ {
		w.c(' ')
	}
	return w.bytes(d[i:])
}

// hex writes v in lower-case hexadecimal with at least digits digits.
func (w *textBuf) hex(v uint64, digits int) *textBuf {
	var d [16]byte
	i := len(d)
	for v != 0 || len(d)-i < digits {
		i--
		d[i] = "0123456789abcdef"[v&15]
		v >>= 4
		if i == 0 {
			break
		}
	}
	return w.bytes(d[i:])
}

// procSnapshot makes the unnamed inode an open of generated file ino reads.
func procSnapshot(ino int32) (int32, linux.Errno) {
	procText.reset()
	switch inodes[ino].gen {
	case genMeminfo:
		genMeminfoText(&procText)
	case genCpuinfo:
		genCpuinfoText(&procText)
	case genStatus:
		genStatusText(&procText)
	case genMaps:
		genMapsText(&procText)
	case genCmdline:
		for i := 0; i < nargv; i++ {
			procText.bytes(argv[i].bytes()).c(0)
		}
	case genEnviron:
		// The environment the program started with, as Linux shows it.
		for i := 0; i < nenvv; i++ {
			procText.bytes(envv[i].bytes()).c(0)
		}
	}
	snap, e := newInode(-1, nil, sIFREG|0o444)
	if e != 0 {
		return -1, e
	}
	n := &inodes[snap]
	n.mnt = inodes[ino].mnt
	n.nlink = 0
	if k, e := writeAt(n, procText.b[:procText.n], 0); e != 0 || k < procText.n {
		n.used = false
		truncatePages(n, 0)
		return -1, linux.ENOMEM
	}
	return snap, 0
}

func kB(w *textBuf, name string, pages uint64) {
	w.s(name).c(':')
	for k := len(name) + 1; k < 16; k++ {
		w.c(' ')
	}
	w.dec(pages*pageSize/1024, 8).s(" kB\n")
}

// genMeminfoText: the guest's memory is the frames the kernel manages; the
// files of /tmp and other memory mounts are its Shmem, as tmpfs is Linux's.
func genMeminfoText(w *textBuf) {
	total := uint64(usedFrames + freeFrames)
	free := uint64(freeFrames)
	var shmem uint64
	for i := range mounts {
		if mounts[i].used {
			shmem += uint64(mounts[i].pages)
		}
	}
	kB(w, "MemTotal", total)
	kB(w, "MemFree", free)
	kB(w, "MemAvailable", free)
	kB(w, "Buffers", 0)
	kB(w, "Cached", shmem)
	kB(w, "SwapCached", 0)
	kB(w, "Shmem", shmem)
	kB(w, "SwapTotal", 0)
	kB(w, "SwapFree", 0)
	kB(w, "CommitLimit", total)
	kB(w, "Committed_AS", uint64(usedFrames))
}

// genStatusText: one process, pid 1, running as root, its threads the
// kernel's threads.
func genStatusText(w *textBuf) {
	w.s("Name:\t").bytes(commName()).c('\n')
	w.s("Umask:\t").c('0').c(byte('0' + umask>>6&7)).c(byte('0' + umask>>3&7)).c(byte('0' + umask&7)).c('\n')
	w.s("State:\tR (running)\n")
	w.s("Tgid:\t").dec(tidBase, 0).s("\nNgid:\t0\nPid:\t").dec(tidBase, 0).s("\nPPid:\t0\nTracerPid:\t0\n")
	w.s("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t").dec(maxFDs, 0).s("\nGroups:\t\n")
	size, rss := vmSizes()
	w.s("VmPeak:\t").dec(size/1024, 8).s(" kB\n")
	w.s("VmSize:\t").dec(size/1024, 8).s(" kB\n")
	w.s("VmHWM:\t").dec(rss/1024, 8).s(" kB\n")
	w.s("VmRSS:\t").dec(rss/1024, 8).s(" kB\n")
	w.s("VmStk:\t").dec(stackSize/1024, 8).s(" kB\n")
	w.s("VmSwap:\t").dec(0, 8).s(" kB\n")
	threadsN := 0
	for i := 0; i < hiThread; i++ {
		if threads[i].state != tsFree {
			threadsN++
		}
	}
	w.s("Threads:\t").dec(uint64(threadsN), 0).c('\n')
	w.s("SigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n")
	var ign, cgt uint64
	for sig := 1; sig < len(sigactions); sig++ {
		switch sigactions[sig].Handler {
		case linux.SIG_IGN:
			ign |= 1 << (sig - 1)
		case linux.SIG_DFL:
		default:
			cgt |= 1 << (sig - 1)
		}
	}
	w.s("SigBlk:\t0000000000000000\nSigIgn:\t").hex(ign, 16).s("\nSigCgt:\t").hex(cgt, 16).c('\n')
	w.s("Cpus_allowed:\t1\nCpus_allowed_list:\t0\n")
}

// commName is what Linux keeps as the task's comm: the program's base
// name, at most 15 bytes.
func commName() []byte {
	if nargv == 0 {
		return defaultHostName[:] // "mote"
	}
	a := argv[0].bytes()
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] == '/' {
			a = a[i+1:]
			break
		}
	}
	if len(a) > 15 {
		a = a[:15]
	}
	return a
}

// vmSizes returns the bytes of address space mapped (the image and every
// area) and the bytes of memory in use: the frames handed out (the pages of
// the image's lazy tail among them) and the image loaded before them.
func vmSizes() (size, rss uint64) {
	for i := 0; i < vmas.Len(); i++ {
		a := vmas.At(i)
		size += uint64(a.End - a.Start)
	}
	return size, uint64(usedFrames)*pageSize + uint64(loadedHi-imageLo)
}

// genMapsText lists every area of the memory map in address order; the
// program's own (the image, kernel and app in one ELF file) carry its name
// and their offsets in the file, from its program headers; a file mapping
// carries its file's path (with " (deleted)" once unlinked, as Linux) and
// offset, and "s" when shared.
func genMapsText(w *textBuf) {
	var exe, file [pathMax]byte
	name := exe[:0]
	if nargv > 0 {
		name = exe[:copy(exe[:], argv[0].bytes())]
	}
	for i := 0; i < vmas.Len(); i++ {
		a := vmas.At(i)
		var label []byte
		var off uint64
		switch {
		case a.Start >= imageLo && a.End <= imageHi:
			label = name
			off = imageOffset(a.Start)
		case a.End == stackTop:
			label = []byte("[stack]")
		case a.Obj != 0:
			label = mappedFileName(a.Obj, file[:])
			off = uint64(a.Off)
		}
		mapsLine(w, a.Start, a.End, a.Prot, a.Flags&mm.Shared != 0, off, label)
	}
}

// mappedFileName writes the path of a mapped file into buf and returns it.
func mappedFileName(obj int32, buf []byte) []byte {
	o := objOf(obj)
	if o.kind == pagerVol {
		return volMappedName(o.id, buf)
	}
	if o.kind != pagerMem {
		return nil
	}
	const deleted = " (deleted)"
	n := &inodes[o.id]
	if n.parent < 0 {
		k := copy(buf, n.nameBytes())
		return buf[:k+copy(buf[k:], deleted)]
	}
	dir, ok := pathOf(n.parent, buf[:len(buf)-nameMax-1])
	if !ok {
		return nil
	}
	k := copy(buf, dir)
	if k > 1 {
		buf[k] = '/'
		k++
	}
	return buf[:k+copy(buf[k:], n.nameBytes())]
}

func mapsLine(w *textBuf, start, end uintptr, prot uint32, shared bool, off uint64, name []byte) {
	w.hex(uint64(start), 8).c('-').hex(uint64(end), 8).c(' ')
	for _, p := range [...]struct {
		bit uint32
		ch  byte
	}{{mm.ProtRead, 'r'}, {mm.ProtWrite, 'w'}, {mm.ProtExec, 'x'}} {
		if prot&p.bit != 0 {
			w.c(p.ch)
		} else {
			w.c('-')
		}
	}
	if shared {
		w.c('s')
	} else {
		w.c('p')
	}
	w.c(' ').hex(off, 8).s(" 00:00 0")
	if len(name) > 0 {
		w.s("                          ").bytes(name)
	}
	w.c('\n')
}

// imageOffset returns the file offset of the image's page at addr, from
// the PT_LOAD program headers of the ELF header loaded in the page below
// the text; 0 when no segment holds it.
func imageOffset(addr uintptr) uint64 {
	h := (*[64]byte)(unsafe.Pointer(imageLo))
	if h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F' || h[4] != 2 {
		return 0
	}
	phoff := *(*uint64)(unsafe.Pointer(&h[32]))
	phentsize := uint64(*(*uint16)(unsafe.Pointer(&h[54])))
	phnum := uint64(*(*uint16)(unsafe.Pointer(&h[56])))
	if phentsize < 56 || phoff+phnum*phentsize > pageSize {
		return 0
	}
	for i := uint64(0); i < phnum; i++ {
		ph := imageLo + uintptr(phoff+i*phentsize)
		if *(*uint32)(unsafe.Pointer(ph)) != 1 { // PT_LOAD
			continue
		}
		off := *(*uint64)(unsafe.Pointer(ph + 8))
		vaddr := uintptr(*(*uint64)(unsafe.Pointer(ph + 16)))
		memsz := uintptr(*(*uint64)(unsafe.Pointer(ph + 40)))
		if addr >= vaddr&^(pageSize-1) && addr < vaddr+memsz {
			return off&^(pageSize-1) + uint64(addr-vaddr&^(pageSize-1))
		}
	}
	return 0
}

// /proc/self/fd.

var (
	procFdDir int32 = -1
	// fdLinks[fd] is the symlink inode standing for descriptor fd, kept
	// (hidden while fd is closed) so that its name is interned once.
	fdLinks [maxFDs]int32
)

// refreshFdDir makes /proc/self/fd list exactly the open descriptors, each
// a link to what it names: a path, or "pipe:[N]", "socket:[N]" and
// "anon_inode:[...]" as Linux shows objects without one.
func refreshFdDir() {
	if procFdDir < 0 {
		return
	}
	for fd := range fds {
		ino := fdLinks[fd]
		if fds[fd].kind == fkNone {
			if ino >= 0 {
				inodes[ino].parent = -1
			}
			continue
		}
		if ino < 0 {
			var nb [8]byte
			k := formatDec(uint64(fd), nb[:])
			n, e := newInode(procFdDir, nb[:k], sIFLNK|0o700)
			if e != 0 {
				return
			}
			inodes[n].nlink = 1
			fdLinks[fd] = n
			ino = n
		}
		n := &inodes[ino]
		n.parent = procFdDir
		var tb [pathMax]byte
		target := fdTarget(uint64(fd), tb[:])
		var cur [pathMax]byte
		if n.size != int64(len(target)) || !bytesEqual(linkTarget(ino, cur[:]), target) {
			truncatePages(n, 0)
			writeAt(n, target, 0)
		}
	}
}

// formatDec writes v in decimal into b and returns the length.
func formatDec(v uint64, b []byte) int {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return copy(b, d[i:])
}

// fdTarget writes what /proc/self/fd/FD links to into buf.
func fdTarget(fd uint64, buf []byte) []byte {
	e := getFD(fd)
	switch e.kind {
	case fkFile:
		ino := openFiles[e.obj].ino
		if p, ok := pathOf(ino, buf); ok {
			// pathOf fills from the end; move it to the front.
			n := copy(buf, p)
			return buf[:n]
		}
		// An unlinked file: its last name, as Linux shows it.
		n := copy(buf, "/")
		n += copy(buf[n:], inodes[ino].nameBytes())
		n += copy(buf[n:], " (deleted)")
		return buf[:n]
	case fkConsole:
		return buf[:copy(buf, "/dev/console")]
	case fkPipeRead, fkPipeWrite:
		return anonName(buf, "pipe:[", pipeInoBase+uint64(e.obj))
	case fkSocket, fkUnix, fkNetlink:
		return anonName(buf, "socket:[", socketInoBase+uint64(e.kind)<<16+uint64(e.obj))
	case fkEventfd:
		return buf[:copy(buf, "anon_inode:[eventfd]")]
	case fkEpoll:
		return buf[:copy(buf, "anon_inode:[eventpoll]")]
	}
	return buf[:copy(buf, "anon_inode:[unknown]")]
}

func anonName(buf []byte, prefix string, id uint64) []byte {
	n := copy(buf, prefix)
	n += formatDec(id, buf[n:])
	n += copy(buf[n:], "]")
	return buf[:n]
}

// Inode numbers of pipes and sockets as /proc/self/fd names them: apart
// from files' numbers and from each other's.
const (
	pipeInoBase   = 1 << 20
	socketInoBase = 1 << 21
)
