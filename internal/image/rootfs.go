package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The limits of an image's files. The kernel keeps every file of the guest in one table of
// 8,192 inodes (its own /dev, /etc and /proc take a few dozen, the program's /tmp the rest),
// and the files sit in guest memory from boot to exit; a tree past these limits wants a volume.
const (
	MaxRootEntries = 4096
	MaxRootBytes   = 512 << 20
	// maxLinkTarget is what a tar header holds of a symlink's target; the kernel reads no
	// PAX linkpath records.
	maxLinkTarget = 100
)

// reservedDirs are the guest directories the kernel makes itself at boot; files copied
// there would be hidden or replaced.
var reservedDirs = []string{"/proc", "/dev", "/sys", "/tmp"}

// reservedFiles are the files the kernel writes at boot; a copy could not replace them.
var reservedFiles = []string{"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf"}

// kernelDirs are the directories the kernel makes at boot besides the reserved ones: a copy
// may add files to them, but not put a file or symlink in their place.
var kernelDirs = []string{"/etc", "/usr", "/usr/bin", "/usr/lib", "/var", "/var/tmp", "/home", "/root"}

// A Copy puts a host file or directory into the image: mote build --copy SRC:DEST.
type Copy struct {
	Src  string // host path, absolute once parsed
	Dest string // guest path, absolute and clean
	// IntoDir: DEST ended with a slash, so a file goes into that directory under its own name.
	IntoDir bool
	// From and Spec say where and how the entry was given, for messages: "--copy" or
	// "mote.yaml:12", and "static:/srv/www".
	From, Spec string
}

func (c Copy) String() string { return c.From + " " + c.Spec }

// ParseCopy reads SRC:DEST. A relative SRC is taken from base. The split is at the first
// colon followed by a slash, so a SRC may hold colons but not ":/".
func ParseCopy(spec, base, from string) (Copy, error) {
	i := strings.Index(spec, ":/")
	if i <= 0 {
		return Copy{}, fmt.Errorf("%s %q: want SRC:DEST, a host path and an absolute guest path, e.g. static:/srv/www", from, spec)
	}
	src, dest := spec[:i], spec[i+1:]
	if err := CheckDest(dest); err != nil {
		return Copy{}, fmt.Errorf("%s %q: %v", from, spec, err)
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(base, src)
	}
	return Copy{Src: filepath.Clean(src), Dest: path.Clean(dest), IntoDir: strings.HasSuffix(dest, "/"), From: from, Spec: spec}, nil
}

// CheckDest checks a guest path that files or a working directory go to.
func CheckDest(dest string) error {
	if !path.IsAbs(dest) {
		return fmt.Errorf("the guest path %q is not absolute (start it with /)", dest)
	}
	d := path.Clean(dest)
	for _, r := range reservedDirs {
		if d == r || strings.HasPrefix(d, r+"/") {
			return fmt.Errorf("%s is under %s, which the kernel makes at boot; put files elsewhere (e.g. /srv or /etc/APP)", d, r)
		}
	}
	if slices.Contains(reservedFiles, d) {
		return fmt.Errorf("%s is written by the kernel at boot and cannot be replaced", d)
	}
	return nil
}

// RootInfo describes the files of an image.
type RootInfo struct {
	Size    int64  `json:"size"`    // bytes of the tar archive in the image
	Entries int    `json:"entries"` // files, directories and symlinks
	Bytes   int64  `json:"bytes"`   // bytes of file contents
	SHA256  string `json:"sha256"`  // of the archive, checked before boot
}

// rootEntry is one file, directory or symlink of the image.
type rootEntry struct {
	src  string // host path; "" for a directory made for the tree's shape
	mode fs.FileMode
	size int64
	link string
	from Copy
}

// PackRoot packs the copies into a tar archive of absolute guest paths, as the kernel unpacks
// it at boot. Directories are copied recursively with symlinks kept as symlinks and permission
// bits kept; the top SRC itself is followed if it is a symlink. A later copy replaces what an
// earlier one put at the same path. The archive is reproducible: sorted names, zero times and
// owners. workdir, if set, must not be, or lie under, a file or symlink of the copies. It
// returns nil when there are no copies.
func PackRoot(copies []Copy, workdir string) ([]byte, *RootInfo, error) {
	if len(copies) == 0 {
		return nil, nil, nil
	}
	tree := map[string]*rootEntry{}
	var bytesTotal int64
	add := func(dest string, e *rootEntry) error {
		if !e.mode.IsDir() && slices.Contains(kernelDirs, dest) {
			return fmt.Errorf("%s: %s is a directory the kernel makes at boot; copy files into it (DEST %s/)", e.from, dest, dest)
		}
		if old, ok := tree[dest]; ok {
			if old.mode.IsDir() && e.mode.IsDir() {
				return nil
			}
			if old.mode.IsDir() != e.mode.IsDir() {
				return fmt.Errorf("%s: %s is a directory in one copy and a file in another (%s)", e.from.From, dest, old.from)
			}
			bytesTotal -= old.size
		}
		tree[dest] = e
		bytesTotal += e.size
		if len(tree) > MaxRootEntries {
			return fmt.Errorf("%s: more than %d files and directories (%s so far); an image holds at most %d: copy only what the program reads, or mount the tree as a volume", e.from, MaxRootEntries, HumanSize(bytesTotal), MaxRootEntries)
		}
		if bytesTotal > MaxRootBytes {
			return fmt.Errorf("%s: more than %s of files (%d entries so far); an image holds at most %s: copy only what the program reads, or mount the tree as a volume", e.from, HumanSize(MaxRootBytes), len(tree), HumanSize(MaxRootBytes))
		}
		return nil
	}
	for _, c := range copies {
		st, err := os.Stat(c.Src)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil, fmt.Errorf("%s: %s does not exist on the host", c, c.Src)
			}
			return nil, nil, fmt.Errorf("%s: %v", c, err)
		}
		if !st.IsDir() {
			if !st.Mode().IsRegular() {
				return nil, nil, fmt.Errorf("%s: %s is a %s; an image holds regular files, directories and symlinks", c, c.Src, kindOf(st.Mode()))
			}
			dest := c.Dest
			if c.IntoDir || dest == "/" {
				dest = path.Join(dest, filepath.Base(c.Src))
			}
			if err := add(dest, &rootEntry{src: c.Src, mode: st.Mode(), size: st.Size(), from: c}); err != nil {
				return nil, nil, err
			}
			continue
		}
		// The top SRC is followed if it is a symlink; links inside it are kept as links.
		root, err := filepath.EvalSymlinks(c.Src)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", c, err)
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("%s: %v", c, err)
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			dest := path.Join(c.Dest, filepath.ToSlash(rel))
			if dest == "/" {
				return nil // the root exists; its mode is the kernel's
			}
			if err := CheckDest(dest); err != nil {
				return fmt.Errorf("%s: %s: %v", c, p, err)
			}
			info, err := d.Info()
			if err != nil {
				return fmt.Errorf("%s: %v", c, err)
			}
			e := &rootEntry{src: p, mode: info.Mode(), from: c}
			switch {
			case info.IsDir():
			case info.Mode().IsRegular():
				e.size = info.Size()
			case info.Mode()&fs.ModeSymlink != 0:
				if e.link, err = os.Readlink(p); err != nil {
					return fmt.Errorf("%s: %v", c, err)
				}
				if len(e.link) > maxLinkTarget {
					return fmt.Errorf("%s: the symlink %s points at a path of %d bytes; the image's archive holds at most %d", c, p, len(e.link), maxLinkTarget)
				}
			default:
				return fmt.Errorf("%s: %s is a %s; an image holds regular files, directories and symlinks", c, p, kindOf(info.Mode()))
			}
			return add(dest, e)
		})
		if err != nil {
			return nil, nil, err
		}
	}
	names := make([]string, 0, len(tree))
	for n := range tree {
		names = append(names, n)
	}
	slices.Sort(names)
	// A file's parent must not be a file of another copy. In order, so the first is named.
	for _, dest := range names {
		e := tree[dest]
		for dir := path.Dir(dest); dir != "/"; dir = path.Dir(dir) {
			if p, ok := tree[dir]; ok && !p.mode.IsDir() {
				return nil, nil, fmt.Errorf("%s: %s needs %s to be a directory, but %s puts a file there", e.from, dest, dir, p.from)
			}
		}
	}

	for dir := path.Clean(workdir); workdir != "" && dir != "/"; dir = path.Dir(dir) {
		if e, ok := tree[dir]; ok && !e.mode.IsDir() {
			return nil, nil, fmt.Errorf("%s: the working directory %s needs %s to be a directory, but it is a file or symlink", e.from, workdir, dir)
		}
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	info := &RootInfo{Entries: len(names), Bytes: bytesTotal}
	for _, name := range names {
		e := tree[name]
		hdr := &tar.Header{Name: name, ModTime: time.Unix(0, 0), Format: tar.FormatPAX, Mode: int64(unixPerm(e.mode))}
		switch {
		case e.mode.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		case e.mode&fs.ModeSymlink != 0:
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.link, 0o777
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, e.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, nil, fmt.Errorf("%s: %s: %v", e.from, name, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		data, err := os.ReadFile(e.src)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", e.from, err)
		}
		if int64(len(data)) != e.size {
			return nil, nil, fmt.Errorf("%s: %s changed size while it was copied; try again", e.from, e.src)
		}
		if _, err := tw.Write(data); err != nil {
			return nil, nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(buf.Bytes())
	info.Size, info.SHA256 = int64(buf.Len()), hex.EncodeToString(sum[:])
	return buf.Bytes(), info, nil
}

// unixPerm is the permission bits of m with setuid, setgid and sticky as Unix numbers them.
func unixPerm(m fs.FileMode) uint32 {
	p := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		p |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		p |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	return p
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// HumanSize writes a byte count for people: 512 B, 12.3 KiB, 4.0 MiB.
func HumanSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if f < 1024 {
			break
		}
		f, unit = f/1024, u
	}
	return fmt.Sprintf("%.1f %s", f, unit)
}
