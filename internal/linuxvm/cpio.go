package linuxvm

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// A cpioEntry is one member of an initramfs. Names are relative ("init",
// "dev/console"); Mode holds the file type bits as well (sIFREG, ...).
type cpioEntry struct {
	Name      string
	Mode      uint32
	Data      []byte
	RdevMajor uint32 // device nodes only
	RdevMinor uint32
}

// File type bits of cpio's mode field (the st_mode values).
const (
	sIFDIR = 0o040000
	sIFCHR = 0o020000
	sIFREG = 0o100000
)

// writeCPIO writes entries as a "newc" cpio archive, the format Linux unpacks
// an initramfs from (Documentation/driver-api/early-userspace/buffer-format.rst):
// sorted by name, with every missing parent directory added, inode numbers
// counted from 1, owner root and mtime 0, so equal inputs give equal bytes.
func writeCPIO(w io.Writer, entries []cpioEntry) error {
	byName := map[string]cpioEntry{}
	for _, e := range entries {
		name := path.Clean(strings.TrimPrefix(e.Name, "/"))
		if name == "." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("cpio: bad name %q", e.Name)
		}
		if _, dup := byName[name]; dup {
			return fmt.Errorf("cpio: %s added twice", name)
		}
		e.Name = name
		byName[name] = e
	}
	for name := range byName {
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if _, ok := byName[dir]; !ok {
				byName[dir] = cpioEntry{Name: dir, Mode: sIFDIR | 0o755}
			}
		}
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)
	cw := &cpioWriter{w: w}
	for _, name := range names {
		cw.entry(byName[name])
	}
	cw.entry(cpioEntry{Name: "TRAILER!!!"})
	return cw.err
}

type cpioWriter struct {
	w   io.Writer
	n   int64 // bytes written, for padding
	ino uint32
	err error
}

func (cw *cpioWriter) write(b []byte) {
	if cw.err != nil {
		return
	}
	var n int
	n, cw.err = cw.w.Write(b)
	cw.n += int64(n)
}

func (cw *cpioWriter) pad() {
	if r := cw.n % 4; r != 0 {
		cw.write(make([]byte, 4-r))
	}
}

func (cw *cpioWriter) entry(e cpioEntry) {
	nlink := uint32(1)
	if e.Mode&0o170000 == sIFDIR {
		nlink = 2
	}
	ino := uint32(0)
	if e.Name != "TRAILER!!!" {
		cw.ino++
		ino = cw.ino
	}
	// magic, then ino mode uid gid nlink mtime filesize devmajor devminor
	// rdevmajor rdevminor namesize check, each 8 hex digits.
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, e.Mode, 0, 0, nlink, 0, len(e.Data), 0, 0, e.RdevMajor, e.RdevMinor, len(e.Name)+1, 0)
	cw.write([]byte(hdr))
	cw.write([]byte(e.Name + "\x00"))
	cw.pad()
	cw.write(e.Data)
	cw.pad()
}
