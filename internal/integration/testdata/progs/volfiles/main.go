// Volfiles exercises the file calls on a volume: volfiles RWDIR [RODIR]. It creates, writes,
// syncs, renames over, lists, reads back, truncates and removes files in RWDIR, reads the file
// host.txt the host put there, and, given RODIR, checks that every write there is EROFS. It
// prints "ok NAME" per check and exits 1 at the first failure.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"unsafe"
)

func fail(format string, args ...any) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func check(name string, err error) {
	if err != nil {
		fail("%s: %v", name, err)
	}
	fmt.Println("ok", name)
}

func main() {
	dir := os.Args[1]
	b, err := os.ReadFile(filepath.Join(dir, "host.txt"))
	if err != nil || string(b) != "from the host\n" {
		fail("read host.txt: %q %v", b, err)
	}
	fmt.Println("ok read-host")

	// Write, fsync, rename over an existing file: the pattern of atomic saves.
	p := filepath.Join(dir, "state.json")
	check("write-old", os.WriteFile(p, []byte("old"), 0o644))
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	check("create-excl", err)
	big := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640,000 bytes: many requests
	_, err = f.Write(big)
	check("write-big", err)
	check("fsync", f.Sync())
	check("close", f.Close())
	_, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if !errors.Is(err, os.ErrExist) {
		fail("O_EXCL on an existing file: %v", err)
	}
	check("rename-over", os.Rename(tmp, p))
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, big) {
		fail("read back: %d bytes, %v", len(got), err)
	}
	fmt.Println("ok read-back")
	st, err := os.Stat(p)
	if err != nil || st.Size() != int64(len(big)) || st.Mode().Perm() != 0o600 || !st.Mode().IsRegular() {
		fail("stat: %v %v", st, err)
	}
	fmt.Println("ok stat")

	// pread, pwrite, truncate, seek.
	f, err = os.OpenFile(p, os.O_RDWR, 0)
	check("open-rdwr", err)
	_, err = f.WriteAt([]byte("XY"), 5)
	check("pwrite", err)
	buf := make([]byte, 4)
	if _, err := f.ReadAt(buf, 4); err != nil || string(buf) != "4XY7" {
		fail("pread: %q %v", buf, err)
	}
	fmt.Println("ok pread")
	check("ftruncate", f.Truncate(10))
	if off, err := f.Seek(0, io.SeekEnd); err != nil || off != 10 {
		fail("seek end: %d %v", off, err)
	}
	fmt.Println("ok seek-end")
	check("fdatasync", syscall.Fdatasync(int(f.Fd())))
	// A bad pointer is EFAULT, for a read (of bytes there are) and a write alike.
	for _, nr := range []uintptr{syscall.SYS_PREAD64, syscall.SYS_PWRITE64} {
		if _, _, e := syscall.Syscall6(nr, f.Fd(), 8, 5, 0, 0, 0); e != syscall.EFAULT {
			fail("syscall %d with a bad pointer: %v, want EFAULT", nr, e)
		}
	}
	fmt.Println("ok efault")
	check("close-rdwr", f.Close())
	// The unmapping thread must run while the other waits for the device: with one
	// CPU, that takes a second P.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	unmapDuringWrite(filepath.Join(dir, "unmapped"))

	// Append.
	a := filepath.Join(dir, "log")
	for i := 0; i < 3; i++ {
		f, err := os.OpenFile(a, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		check("open-append", err)
		fmt.Fprintf(f, "line %d\n", i)
		f.Close()
	}
	if b, _ := os.ReadFile(a); string(b) != "line 0\nline 1\nline 2\n" {
		fail("append: %q", b)
	}
	fmt.Println("ok append")

	// Directories, listing, symlinks, removal.
	sub := filepath.Join(dir, "sub", "deeper")
	check("mkdir-all", os.MkdirAll(sub, 0o755))
	for i := 0; i < 300; i++ {
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d", i)), nil, 0o644); err != nil {
			fail("create f%03d: %v", i, err)
		}
	}
	ents, err := os.ReadDir(sub)
	if err != nil || len(ents) != 300 || ents[0].Name() != "f000" || ents[299].Name() != "f299" {
		fail("readdir: %d entries, %v", len(ents), err)
	}
	fmt.Println("ok readdir")
	check("symlink", os.Symlink("state.json", filepath.Join(dir, "link")))
	if t, err := os.Readlink(filepath.Join(dir, "link")); err != nil || t != "state.json" {
		fail("readlink: %q %v", t, err)
	}
	fmt.Println("ok readlink")
	// Links are followed by the guest: last, in the middle, absolute, looping.
	if st, err := os.Stat(filepath.Join(dir, "link")); err != nil || st.Size() != 10 || !st.Mode().IsRegular() {
		fail("stat through a link: %v %v", st, err)
	}
	if st, err := os.Lstat(filepath.Join(dir, "link")); err != nil || st.Mode()&os.ModeSymlink == 0 {
		fail("lstat of a link: %v %v", st, err)
	}
	check("mkdir-real", os.Mkdir(filepath.Join(dir, "real"), 0o755))
	check("symlink-dir", os.Symlink("real", filepath.Join(dir, "dlink")))
	check("write-through-link", os.WriteFile(filepath.Join(dir, "dlink", "f"), []byte("via link"), 0o644))
	if b, err := os.ReadFile(filepath.Join(dir, "real", "f")); err != nil || string(b) != "via link" {
		fail("read what was written through a link: %q %v", b, err)
	}
	check("symlink-abs", os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "alink")))
	if b, err := os.ReadFile(filepath.Join(dir, "alink", "f")); err != nil || string(b) != "via link" {
		fail("read through an absolute link: %q %v", b, err)
	}
	if p, err := filepath.EvalSymlinks(filepath.Join(dir, "alink", "f")); err != nil || p != filepath.Join(dir, "real", "f") {
		fail("EvalSymlinks: %q %v", p, err)
	}
	check("symlink-loop", os.Symlink("loop", filepath.Join(dir, "loop")))
	if _, err := os.Stat(filepath.Join(dir, "loop")); !errors.Is(err, syscall.ELOOP) {
		fail("stat of a looping link: %v, want ELOOP", err)
	}
	check("symlink-dangling", os.Symlink("nowhere", filepath.Join(dir, "dangling")))
	if _, err := os.Stat(filepath.Join(dir, "dangling")); !errors.Is(err, os.ErrNotExist) {
		fail("stat of a dangling link: %v", err)
	}
	for _, l := range []string{"dlink", "alink", "loop", "dangling"} {
		os.Remove(filepath.Join(dir, l))
	}
	check("remove-real", os.RemoveAll(filepath.Join(dir, "real")))
	if _, err := os.Stat(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		fail("stat missing: %v", err)
	}
	fmt.Println("ok enoent")
	if err := os.Rename(p, "/tmp/x"); !errors.Is(err, syscall.EXDEV) {
		fail("rename across mounts: %v, want EXDEV", err)
	}
	fmt.Println("ok exdev")
	if err := os.Remove(filepath.Join(dir, "sub")); !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
		fail("rmdir non-empty: %v", err)
	}
	check("remove-all", os.RemoveAll(filepath.Join(dir, "sub")))
	// A working directory inside the volume: chdir, relative paths, getcwd, fchdir.
	check("mkdir-wd", os.MkdirAll(filepath.Join(dir, "wd", "inner"), 0o755))
	check("chdir", os.Chdir(filepath.Join(dir, "wd")))
	check("write-relative", os.WriteFile("rel.txt", []byte("relative"), 0o644))
	if b, err := os.ReadFile(filepath.Join(dir, "wd", "rel.txt")); err != nil || string(b) != "relative" {
		fail("read what a relative path wrote: %q %v", b, err)
	}
	if wd, err := os.Getwd(); err != nil || wd != filepath.Join(dir, "wd") {
		fail("getwd: %q %v", wd, err)
	}
	check("chdir-relative", os.Chdir("inner"))
	if wd, _ := os.Getwd(); wd != filepath.Join(dir, "wd", "inner") {
		fail("getwd after a relative chdir: %q", wd)
	}
	if b, err := os.ReadFile("../rel.txt"); err != nil || string(b) != "relative" {
		fail("read ../rel.txt: %q %v", b, err)
	}
	d, err := os.Open(filepath.Join(dir, "wd"))
	check("open-dir", err)
	check("fchdir", d.Chdir())
	d.Close()
	if wd, _ := os.Getwd(); wd != filepath.Join(dir, "wd") {
		fail("getwd after fchdir: %q", wd)
	}
	check("chdir-out", os.Chdir("/tmp"))
	if wd, _ := os.Getwd(); wd != "/tmp" {
		fail("getwd after leaving the volume: %q", wd)
	}
	check("remove-wd", os.RemoveAll(filepath.Join(dir, "wd")))

	var sfs syscall.Statfs_t
	check("statfs", syscall.Statfs(dir, &sfs))
	names, _ := os.ReadDir(dir)
	var list []string
	for _, e := range names {
		list = append(list, e.Name())
	}
	slices.Sort(list)
	fmt.Println("list", list)

	// Several threads at once, each with requests in flight.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("par%d", g)))
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			for i := 0; i < 40; i++ {
				if _, err := fmt.Fprintf(f, "%d %d\n", g, i); err != nil {
					errs <- err
					return
				}
				if err := f.Sync(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fail("parallel: %v", err)
	}
	for g := 0; g < 8; g++ {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("par%d", g)))
		want := ""
		for i := 0; i < 40; i++ {
			want += fmt.Sprintf("%d %d\n", g, i)
		}
		if err != nil || string(b) != want {
			fail("parallel file %d: %d bytes, %v", g, len(b), err)
		}
		os.Remove(filepath.Join(dir, fmt.Sprintf("par%d", g)))
	}
	fmt.Println("ok parallel")

	if len(os.Args) > 2 {
		ro := os.Args[2]
		if b, err := os.ReadFile(filepath.Join(ro, "host.txt")); err != nil || string(b) != "from the host\n" {
			fail("read ro host.txt: %q %v", b, err)
		}
		for name, err := range map[string]error{
			"create": os.WriteFile(filepath.Join(ro, "new"), nil, 0o644),
			"append": func() error {
				_, err := os.OpenFile(filepath.Join(ro, "host.txt"), os.O_WRONLY|os.O_APPEND, 0)
				return err
			}(),
			"mkdir":  os.Mkdir(filepath.Join(ro, "d"), 0o755),
			"remove": os.Remove(filepath.Join(ro, "host.txt")),
			"rename": os.Rename(filepath.Join(ro, "host.txt"), filepath.Join(ro, "moved")),
			"chmod":  os.Chmod(filepath.Join(ro, "host.txt"), 0o600),
		} {
			if !errors.Is(err, syscall.EROFS) {
				fail("ro %s: %v, want EROFS", name, err)
			}
		}
		fmt.Println("ok erofs")
	}
	// A shared mapping stored into and never synced: its stores reach the host
	// when the program exits, as Linux's page cache outlives a process (the
	// test checks the file on the host).
	mf, err := os.Create(filepath.Join(dir, "mapped"))
	check("create-mapped", err)
	check("truncate-mapped", mf.Truncate(4096))
	mem, err := syscall.Mmap(int(mf.Fd()), 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	check("mmap", err)
	copy(mem, "stored through a mapping")
	fmt.Println("done")
}

// unmapDuringWrite writes 1 MiB from an anonymous mapping that another thread unmaps while
// the write is in flight, then maps and fills fresh memory, which takes the frames the unmap
// freed. The kernel sends large writes from the app's own pages, so what reaches the file
// must still be what the buffer held when write was called: frames under a request are not
// reused before its reply.
func unmapDuringWrite(p string) {
	const n = 1 << 20
	const rounds = 12
	for round := 0; round < rounds; round++ {
		buf, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		must("mmap-buffer", err)
		for i := range buf {
			buf[i] = byte(i%251) | 1
		}
		f, err := os.Create(p)
		must("create-unmapped", err)
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Unmap while the writer is inside write(2), then reuse the memory; each round
			// waits a little longer, to land inside the request at least once.
			for i := 0; i < round*4; i++ {
				syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
			}
			syscall.Syscall(syscall.SYS_MUNMAP, uintptr(unsafe.Pointer(&buf[0])), n, 0)
			fresh, err := syscall.Mmap(-1, 0, 4*n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
			if err == nil {
				for i := range fresh {
					fresh[i] = 0xee
				}
				syscall.Munmap(fresh)
			}
		}()
		close(start)
		w, _, e := syscall.Syscall(syscall.SYS_WRITE, f.Fd(), uintptr(unsafe.Pointer(&buf[0])), n)
		wg.Wait()
		must("close-unmapped", f.Close())
		switch e {
		case 0:
		case syscall.EFAULT: // unmapped before the call: nothing written
			w = 0
		default:
			fail("write from a buffer being unmapped: %v", e)
		}
		got, err := os.ReadFile(p)
		must("read-unmapped", err)
		if len(got) != int(w) {
			fail("write from a buffer being unmapped: wrote %d, the file has %d", w, len(got))
		}
		for i, c := range got {
			if c != byte(i%251)|1 {
				fail("write from a buffer being unmapped: byte %d is %#x, want %#x", i, c, byte(i%251)|1)
			}
		}
	}
	fmt.Println("ok unmap-during-write")
	unmapDuringRead(p)
	check("rm-unmapped", os.Remove(p))
}

// unmapDuringRead reads 1 MiB into an anonymous mapping that another thread unmaps while the
// read is in flight, then maps and fills fresh memory, which takes the frames the unmap freed.
// The kernel has the device write a large read into the app's own pages: they must not be
// reused before its reply, or the device writes into the fresh memory.
func unmapDuringRead(p string) {
	const n = 1 << 20
	const rounds = 12
	f, err := os.Open(p) // 1 MiB, from unmapDuringWrite
	check("open-unmapped", err)
	defer f.Close()
	for round := 0; round < rounds; round++ {
		buf, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		must("mmap-buffer", err)
		for i := range buf {
			buf[i] = 0
		}
		start, done, bad := make(chan struct{}), make(chan struct{}), make(chan int, 1)
		go func() {
			<-start
			for i := 0; i < round*4; i++ {
				syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
			}
			syscall.Syscall(syscall.SYS_MUNMAP, uintptr(unsafe.Pointer(&buf[0])), n, 0)
			fresh, err := syscall.Mmap(-1, 0, 4*n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
			if err != nil {
				bad <- -1
				return
			}
			for i := range fresh {
				fresh[i] = 0xee
			}
			<-done
			k := -1
			for i, c := range fresh {
				if c != 0xee {
					k = i
					break
				}
			}
			syscall.Munmap(fresh)
			bad <- k
		}()
		close(start)
		_, _, e := syscall.Syscall6(syscall.SYS_PREAD64, f.Fd(), uintptr(unsafe.Pointer(&buf[0])), n, 0, 0, 0)
		close(done)
		if e != 0 && e != syscall.EFAULT {
			fail("read into a buffer being unmapped: %v", e)
		}
		if k := <-bad; k != -1 {
			fail("read into a buffer being unmapped: memory mapped afterwards changed at byte %d", k)
		}
	}
	fmt.Println("ok unmap-during-read")
}

// must is check without the "ok" line, for steps repeated in a loop.
func must(name string, err error) {
	if err != nil {
		fail("%s: %v", name, err)
	}
}
