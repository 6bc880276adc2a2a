package kernel

import "mote.dev/mote/kernel/abi/linux"

// Mounts of volumes. The command line names each volume as
// vol=TAG:/guest/path[:ro], TAG being the mount tag of a virtio-9p device.
// At boot each is attached (Tversion, Tattach) and its guest path made in
// the tree in memory; path resolution (vfs.go) that steps onto that
// directory hands the rest of the path to the volume, which walks it on the
// host with 9P. A volume that cannot be mounted stops the boot: a program
// writing into an empty directory in memory, believing it a volume, would
// lose its data.

const maxVolumes = 8

type volMount struct {
	dev  int
	ino  int32 // the mount point in the tree in memory
	mnt  int   // its entry in the mount table (mount.go)
	ro   bool
	spec span   // TAG:/path[:ro] from the command line
	iou  uint32 // data one copied request carries
	// direct is the data one direct write carries (vol_direct.go): the
	// msize the host agreed to, less the header.
	direct uint32
}

var (
	volMounts  [maxVolumes]volMount
	nvolMounts int
	// volRestBuf holds the part of the last path resolved that lies inside
	// a volume (one CPU, no preemption in the kernel: one buffer).
	volRestBuf [pathMax]byte
)

// volSpec records a vol= parameter; volInit mounts it.
func volSpec(val span) {
	if nvolMounts < maxVolumes {
		volMounts[nvolMounts].spec = val
		volMounts[nvolMounts].ino = -1
		nvolMounts++
	}
}

// volInit attaches the volumes named on the command line.
func volInit() {
	if nvolMounts == 0 {
		return
	}
	if !p9Init() {
		bootFail("volumes are given (vol=) but no virtio-9p device could be set up")
	}
	for i := 0; i < nvolMounts; i++ {
		m := &volMounts[i]
		b := m.spec.bytes()
		colon := -1
		for j, c := range b {
			if c == ':' {
				colon = j
				break
			}
		}
		if colon <= 0 || colon+1 >= len(b) || b[colon+1] != '/' {
			bootFail("vol=: want TAG:/GUEST/PATH[:ro]")
		}
		tag, path := b[:colon], b[colon+1:]
		if len(path) > 3 && bytesEq(path[len(path)-3:], ":ro") {
			path, m.ro = path[:len(path)-3], true
		}
		m.dev = p9DeviceByTag(tag)
		if m.dev < 0 {
			bootFail("vol=: no virtio-9p device with that mount tag")
		}
		if e := volAttach(i); e != 0 {
			kerr.s("mote: volume ").b(tag).s(" at ").b(path).s(": attach failed, errno ").dec(int64(e)).nl()
			bootFail("a volume could not be mounted")
		}
		m.ino = mkdirAll(path)
		if m.ino < 0 || m.ino == rootIno {
			bootFail("vol=: the guest path cannot be made a mount point")
		}
		mnt, e := addMount(m.ino, mkVolume, m.ro, 0)
		if e != 0 {
			bootFail("vol=: the mount table is full")
		}
		m.mnt = mnt
		mounts[mnt].vol = int8(i)
		logRecord().s("volume ").b(tag).s(" mounted at ").b(path).nl()
	}
	volBootCwd()
}

// volAttach opens the 9P session of mount i: version, then its root as fid i.
func volAttach(i int) linux.Errno {
	m := &volMounts[i]
	s := &p9slot0[0]
	msg := s.msg(p9Tversion)
	msg.u32(p9Msize)
	msg.str([]byte("9P2000.L"))
	r := p9Boot(m.dev, &msg)
	if r.err != 0 {
		return r.err
	}
	v := s.rxBuf()[r.off : r.off+r.iounit]
	if !bytesEq(v, "9P2000.L") || r.count < 4096 || r.count > p9Msize {
		return linux.EIO
	}
	m.iou = min(r.count-p9IOHdr, p9MaxIO)
	m.direct = min(r.count-p9IOHdr, p9DirectMax)
	msg = s.msg(p9Tattach)
	msg.u32(uint32(i))
	msg.u32(p9NoFid)
	msg.str([]byte("root"))
	msg.str(nil)
	msg.u32(0)
	r = p9Boot(m.dev, &msg)
	fidDev[i] = int8(m.dev)
	return r.err
}

// volMountAt returns the volume whose mount point is ino, or -1: the mount
// table says where resolution leaves the tree.
func volMountAt(ino int32) int {
	if ino < 0 {
		return -1
	}
	if m := mountOf(ino); m.kind == mkVolume && m.root == ino {
		return int(m.vol)
	}
	return -1
}

// volEnter is what resolution returns on stepping onto mount m: the rest of
// the path, copied to volRestBuf (after what is there already when keep
// is set: the part a symlink led into the volume).
func volEnter(m int, rest []byte, keep int, follow bool) walkResult {
	n := keep
	if n > 0 && len(rest) > 0 {
		if n < len(volRestBuf) {
			volRestBuf[n] = '/'
			n++
		}
	}
	n += copy(volRestBuf[n:], rest)
	return walkResult{ino: -1, name: -1, dir: -1, vol: int8(m + 1), volFid: uint32(m), rest: volRestBuf[:n], volFollow: follow}
}
