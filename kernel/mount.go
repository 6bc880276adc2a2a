package kernel

import "mote.dev/mote/kernel/abi/linux"

// The mount table: which parts of the tree are writable, how big they may
// grow, and which device number their files show. A mount covers a
// directory of the tree and everything below it; each inode records the
// mount it belongs to (inode.mnt), inherited from its parent when it is
// made, so an unlinked file that is still open keeps its mount.
//
// Mount 0 is the root: the image's files, read-only as a container's root
// is. The others are made at boot: /dev (devices, writable as devices
// are), /proc (generated, read-only), /tmp (a tmpfs with a size limit) and
// any rw= path of the command line. A file system served elsewhere (a 9P
// volume) adds a kind of its own and takes over path resolution below its
// mount's root.

type mountKind uint8

const (
	mkRoot   mountKind = iota // the image's tree
	mkTmpfs                   // pages in memory, counted against limit
	mkDev                     // device nodes
	mkProc                    // generated files
	mkVolume                  // a 9P volume (volume.go): resolution leaves the tree at root
)

type mount struct {
	used     bool
	kind     mountKind
	readOnly bool
	root     int32  // the directory inode the mount covers
	dev      uint64 // st_dev of its files
	magic    uint64 // statfs f_type
	vol      int8   // mkVolume: the volume (volMounts)
	limit    int64  // pages a tmpfs may hold; 0 for no limit but memory
	pages    int64  // pages its files hold now
}

const maxMounts = 16

var mounts [maxMounts]mount

// Magic numbers of statfs(2)'s f_type, as Linux's <linux/magic.h>.
const (
	ramfsMagic = 0x858458f6
	procMagic  = 0x9fa0
)

// addMount makes a mount of kind covering directory dir and every inode
// below it. dir is the mount's root, and its own inode joins the mount (as
// a mounted file system's root directory is its own).
func addMount(dir int32, kind mountKind, readOnly bool, limitPages int64) (int, linux.Errno) {
	if dir < 0 || !inodes[dir].isDir() {
		return -1, linux.ENOTDIR
	}
	for i := 1; i < maxMounts; i++ {
		m := &mounts[i]
		if m.used {
			continue
		}
		*m = mount{used: true, kind: kind, readOnly: readOnly, root: dir, dev: uint64(i) + 1, limit: limitPages}
		switch kind {
		case mkTmpfs:
			m.magic = tmpfsMagic
		case mkProc:
			m.magic = procMagic
		case mkVolume:
			m.magic = v9fsMagic
		default:
			m.magic = ramfsMagic
		}
		retag(dir, uint8(i))
		return i, 0
	}
	return -1, linux.ENOMEM
}

// retag moves dir and the inodes below it to mount idx.
func retag(dir int32, idx uint8) {
	old := inodes[dir].mnt
	inodes[dir].mnt = idx
	for i := range inodes {
		n := &inodes[i]
		if n.used && n.parent == dir && int32(i) != dir && n.mnt == old {
			if n.isDir() {
				retag(int32(i), idx)
			} else {
				n.mnt = idx
			}
		}
	}
}

// rootMount sets up mount 0, the read-only root.
func rootMount() {
	mounts[0] = mount{used: true, kind: mkRoot, readOnly: true, root: rootIno, dev: 1, magic: ramfsMagic}
	for i := 1; i < maxMounts; i++ {
		mounts[i] = mount{}
	}
}

// mountOf returns the mount inode ino belongs to.
func mountOf(ino int32) *mount {
	return &mounts[inodes[ino].mnt]
}

// writable says whether the contents or the metadata of ino may change:
// EROFS on a read-only mount.
func writable(ino int32) linux.Errno {
	if mountOf(ino).readOnly {
		return linux.EROFS
	}
	return 0
}

// sameMount says whether a rename or link between a and b stays in one
// mount; EXDEV if not, as for two file systems.
func sameMount(a, b int32) linux.Errno {
	if inodes[a].mnt != inodes[b].mnt {
		return linux.EXDEV
	}
	return 0
}

// createIn makes an inode named name in directory dir for a system call:
// EROFS where dir is read-only. Boot code uses newInode directly.
func createIn(dir int32, name []byte, mode uint32) (int32, linux.Errno) {
	if e := writable(dir); e != 0 {
		return -1, e
	}
	return newInode(dir, name, mode)
}

// chargePage accounts one page frame more for a file on m: ENOSPC when the
// mount is at its limit.
func chargePage(m *mount) bool {
	if m.limit > 0 && m.pages >= m.limit {
		return false
	}
	m.pages++
	return true
}

// unchargePage gives a file's page back to its mount.
func unchargePage(m *mount) {
	if m.pages > 0 {
		m.pages--
	}
}

// tmpfsPages is the size limit of a tmpfs in pages: tmpsize= from the
// command line, or a quarter of memory, as a limit that leaves the program
// room to run when /tmp fills. Linux's default is half, but its pages can
// swap.
func tmpfsPages() int64 {
	if tmpSize != 0 {
		return int64((tmpSize + pageSize - 1) / pageSize)
	}
	return int64(usedFrames+freeFrames) / 4
}

// freeInodes counts the free slots of the inode table.
func freeInodes() int {
	k := 0
	for i := range inodes {
		if !inodes[i].used {
			k++
		}
	}
	return k
}
