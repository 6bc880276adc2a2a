package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// Pipes: a 64 KiB ring per pipe, as Linux's default capacity, in page frames
// taken on the first write and given back when the pipe closes.

const (
	pipeSize  = 64 << 10
	pipePages = pipeSize / pageSize
)

type pipe struct {
	fifo             bool  // a named pipe: opens wait for the other end
	inode            int32 // the FIFO's inode
	used             bool
	pages            [pipePages]uintptr
	head, n          int
	readers, writers int
	gen              uint64
}

var pipes [256]pipe

// at returns the byte at ring position i.
func (p *pipe) at(i int) *byte {
	return (*byte)(unsafe.Pointer(p.pages[i/pageSize] + uintptr(i%pageSize)))
}

// ensurePages gives the ring its frames; false when memory is exhausted.
func (p *pipe) ensurePages() bool {
	for i := range p.pages {
		if p.pages[i] == 0 {
			if p.pages[i] = allocFrame(); p.pages[i] == 0 {
				return false
			}
		}
	}
	return true
}

// sysPipe2 implements pipe2(2).
func sysPipe2(t *thread, f *Frame) int64 {
	flags := f.RSI
	if flags&^(linux.O_NONBLOCK|linux.O_CLOEXEC) != 0 {
		return errno(linux.EINVAL)
	}
	if !userOK(uintptr(f.RDI), 8, true) {
		return errno(linux.EFAULT)
	}
	for i := range pipes {
		if pipes[i].used {
			continue
		}
		cloexec := flags&linux.O_CLOEXEC != 0
		r := allocFD(fkPipeRead, int32(i), linux.O_RDONLY|flags&linux.O_NONBLOCK, cloexec)
		if r < 0 {
			return errno(linux.EMFILE)
		}
		w := allocFD(fkPipeWrite, int32(i), linux.O_WRONLY|flags&linux.O_NONBLOCK, cloexec)
		if w < 0 {
			fds[r] = fdEntry{}
			return errno(linux.EMFILE)
		}
		p := &pipes[i]
		p.used, p.fifo, p.head, p.n, p.readers, p.writers, p.gen = true, false, 0, 0, 1, 1, 0
		writeU32(uintptr(f.RDI), uint32(r))
		writeU32(uintptr(f.RDI)+4, uint32(w))
		return 0
	}
	return errno(linux.ENFILE)
}

// sysPipe implements pipe(2).
func sysPipe(t *thread, f *Frame) int64 {
	f2 := *f
	f2.RSI = 0
	return sysPipe2(t, &f2)
}

func pipeRead(t *thread, e *fdEntry, buf []byte) int64 {
	p := &pipes[e.obj]
	if len(buf) == 0 {
		return 0
	}
	if p.n == 0 {
		if p.writers == 0 {
			return 0
		}
		if e.flags&linux.O_NONBLOCK != 0 {
			return errno(linux.EAGAIN)
		}
		block(t, waitPoll, 0, 0)
		return 0
	}
	k := 0
	for k < len(buf) && p.n > 0 {
		buf[k] = *p.at(p.head)
		p.head = (p.head + 1) % pipeSize
		p.n--
		k++
	}
	p.gen++
	wakePollers()
	return int64(k)
}

func pipeWrite(t *thread, e *fdEntry, buf []byte) int64 {
	p := &pipes[e.obj]
	if p.readers == 0 {
		sendSignal(t, linux.SIGPIPE, linux.SI_USER, tidBase)
		return errno(linux.EPIPE)
	}
	if len(buf) == 0 {
		return 0
	}
	// Writes of up to PIPE_BUF bytes are atomic: all or nothing.
	const pipeBuf = 4096
	if p.n == pipeSize || len(buf) <= pipeBuf && pipeSize-p.n < len(buf) {
		if e.flags&linux.O_NONBLOCK != 0 {
			return errno(linux.EAGAIN)
		}
		block(t, waitPoll, 0, 0)
		return 0
	}
	if !p.ensurePages() {
		return errno(linux.ENOMEM)
	}
	k := 0
	for k < len(buf) && p.n < pipeSize {
		*p.at((p.head + p.n) % pipeSize) = buf[k]
		p.n++
		k++
	}
	p.gen++
	wakePollers()
	return int64(k)
}

func pipePoll(e *fdEntry) (uint32, uint64) {
	p := &pipes[e.obj]
	ev := uint32(0)
	if e.kind == fkPipeRead {
		if p.n > 0 {
			ev |= epollIn
		}
		if p.writers == 0 {
			ev |= epollHup
		}
	} else {
		if p.n < pipeSize {
			ev |= epollOut
		}
		if p.readers == 0 {
			ev |= epollErr
		}
	}
	return ev, p.gen
}

// pipeClosed updates a pipe when its last read or write descriptor goes.
func pipeClosed(kind fileKind, obj int32) {
	p := &pipes[obj]
	if kind == fkPipeRead {
		p.readers = 0
	} else {
		p.writers = 0
	}
	p.gen++
	if p.readers == 0 && p.writers == 0 {
		for i := range p.pages {
			if p.pages[i] != 0 {
				freeFrame(p.pages[i])
				p.pages[i] = 0
			}
		}
		p.used = false
	}
	wakePollers()
}

// openFIFO opens the named pipe at inode ino. Without O_NONBLOCK, an open
// for reading waits for a writer and one for writing waits for a reader, as
// POSIX has it; the waiting thread holds its descriptor already and is
// woken with it.
func openFIFO(t *thread, ino int32, flags uint64) int64 {
	n := &inodes[ino]
	acc := flags & linux.O_ACCMODE
	if acc == linux.O_RDWR {
		return errno(linux.EINVAL) // one descriptor would need both ends
	}
	idx := n.fifo - 1
	if idx < 0 || !pipes[idx].used || !pipes[idx].fifo || pipes[idx].inode != ino {
		idx = -1
		for i := range pipes {
			if !pipes[i].used {
				idx = int32(i)
				break
			}
		}
		if idx < 0 {
			return errno(linux.ENFILE)
		}
		pipes[idx] = pipe{used: true, fifo: true, inode: ino}
		n.fifo = idx + 1
	}
	p := &pipes[idx]
	nonblock := flags&linux.O_NONBLOCK != 0
	kind, other := fkPipeRead, p.writers
	if acc == linux.O_WRONLY {
		kind, other = fkPipeWrite, p.readers
		if other == 0 && nonblock {
			return errno(linux.ENXIO)
		}
	}
	fd := allocFD(kind, idx, acc|flags&linux.O_NONBLOCK, flags&linux.O_CLOEXEC != 0)
	if fd < 0 {
		return errno(linux.EMFILE)
	}
	if kind == fkPipeRead {
		p.readers = 1
	} else {
		p.writers = 1
	}
	p.gen++
	// The other end may be waiting for this one.
	for i := 0; i < hiThread; i++ {
		w := &threads[i]
		if w.state == tsBlocked && w.wait == waitFIFO && w.fifoPipe == idx && w.fifoKind != kind {
			wake(w, uint64(w.fifoFD))
		}
	}
	wakePollers()
	if other == 0 && !nonblock {
		t.fifoPipe, t.fifoKind, t.fifoFD = idx, kind, int32(fd)
		block(t, waitFIFO, 0, 0)
	}
	return fd
}

// sysMknodat implements mknodat(2) for FIFOs and regular files; device
// nodes are not made: EPERM, as for an unprivileged caller.
func sysMknodat(t *thread, f *Frame) int64 { return mknodAt(f.RDI, uintptr(f.RSI), uint32(f.RDX)) }

// sysMknod implements mknod(2).
func sysMknod(t *thread, f *Frame) int64 { return mknodAt(atFDCWD, uintptr(f.RDI), uint32(f.RSI)) }

func mknodAt(dirfd uint64, path uintptr, mode uint32) int64 {
	typ := mode & sIFMT
	switch typ {
	case 0:
		typ = sIFREG
	case sIFREG, sIFIFO:
	case sIFCHR, 0o060000: // block devices
		return errno(linux.EPERM)
	default:
		return errno(linux.EINVAL)
	}
	r, e := lookupAt(dirfd, path, false)
	if e != 0 {
		return errno(e)
	}
	if r.ino >= 0 || r.viaLink {
		return errno(linux.EEXIST)
	}
	if r.dir < 0 || len(r.last) == 0 {
		return errno(linux.ENOENT)
	}
	if _, e := createIn(r.dir, r.last, typ|mode&modeMax&^umask); e != 0 {
		return errno(e)
	}
	return 0
}
