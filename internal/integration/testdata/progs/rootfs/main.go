// Command rootfs checks the guest's file system from inside: a read-only root (EROFS), /tmp
// filling up to its limit (ENOSPC) and recovering when a file goes, the generated /proc files,
// /etc, and flock and fcntl locks between descriptors. Each check prints one line; the last
// line says how many failed. Run it with /tmp limited to 4 MiB (--tmpfs-size 4M).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

var failed int

func check(name string, ok bool, detail ...any) {
	if ok {
		fmt.Printf("ok %s\n", name)
		return
	}
	failed++
	fmt.Printf("FAIL %s: %s\n", name, fmt.Sprint(detail...))
}

func isErrno(err error, want syscall.Errno) bool { return errors.Is(err, want) }

func main() {
	readOnlyRoot()
	tmpLimit()
	procFiles()
	etcFiles()
	locks()
	fmt.Printf("%d failed\n", failed)
	if failed > 0 {
		os.Exit(1)
	}
}

func readOnlyRoot() {
	err := os.WriteFile("/newfile", []byte("x"), 0o644)
	check("create under / is EROFS", isErrno(err, syscall.EROFS), err)
	err = os.Mkdir("/newdir", 0o755)
	check("mkdir under / is EROFS", isErrno(err, syscall.EROFS), err)
	err = os.Mkdir("/etc", 0o755)
	check("mkdir of an existing directory is EEXIST", isErrno(err, syscall.EEXIST), err)
	_, err = os.OpenFile("/etc/passwd", os.O_RDWR, 0)
	check("open for writing of /etc/passwd is EROFS", isErrno(err, syscall.EROFS), err)
	_, err = os.OpenFile("/etc/passwd", os.O_RDONLY|os.O_TRUNC, 0)
	check("O_TRUNC of /etc/passwd is EROFS", isErrno(err, syscall.EROFS), err)
	err = os.Remove("/etc/passwd")
	check("unlink of /etc/passwd is EROFS", isErrno(err, syscall.EROFS), err)
	err = os.Remove("/no-such-file")
	check("unlink of a missing name on / is EROFS, as Linux", isErrno(err, syscall.EROFS), err)
	err = os.Rename("/etc/hosts", "/etc/hosts2")
	check("rename on / is EROFS", isErrno(err, syscall.EROFS), err)
	err = os.Chmod("/etc/passwd", 0o600)
	check("chmod on / is EROFS", isErrno(err, syscall.EROFS), err)
	err = os.Chtimes("/etc/passwd", time.Now(), time.Now())
	check("utimensat on / is EROFS", isErrno(err, syscall.EROFS), err)
	err = os.Truncate("/etc/passwd", 0)
	check("truncate on / is EROFS", isErrno(err, syscall.EROFS), err)
	err = os.Symlink("/tmp", "/link")
	check("symlink on / is EROFS", isErrno(err, syscall.EROFS), err)
	err = syscall.Access("/etc/passwd", 2) // W_OK
	check("access(W_OK) on / is EROFS", isErrno(err, syscall.EROFS), err)
	b, err := os.ReadFile("/etc/passwd")
	check("reading /etc/passwd works", err == nil && bytes.HasPrefix(b, []byte("root:x:0:0:")), err, string(b))
	f, err := os.OpenFile("/dev/null", os.O_WRONLY, 0)
	if err == nil {
		_, err = f.Write([]byte("gone"))
		f.Close()
	}
	check("/dev/null stays writable", err == nil, err)
	os.WriteFile("/tmp/moving", []byte("x"), 0o644)
	err = os.Rename("/tmp/moving", "/etc/moving")
	check("rename from /tmp to / is EXDEV", isErrno(err, syscall.EXDEV), err)
	var st syscall.Statfs_t
	err = syscall.Statfs("/", &st)
	check("statfs of / says read-only", err == nil && st.Flags&1 != 0, err, st.Flags)
}

func tmpLimit() {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/tmp", &st); err != nil {
		check("statfs /tmp", false, err)
		return
	}
	const limit = 4 << 20
	check("statfs /tmp reports the 4 MiB limit", st.Type == 0x01021994 && uint64(st.Blocks)*uint64(st.Bsize) == limit,
		"type ", st.Type, " blocks ", st.Blocks, " bsize ", st.Bsize)
	chunk := bytes.Repeat([]byte("m"), 256<<10)
	f, err := os.Create("/tmp/fill")
	if err != nil {
		check("create /tmp/fill", false, err)
		return
	}
	total := 0
	for total < 2*limit {
		n, err := f.Write(chunk)
		total += n
		if err != nil {
			check("writing past the limit is ENOSPC", isErrno(err, syscall.ENOSPC), err)
			break
		}
	}
	f.Close()
	check("/tmp took about its limit", total > limit*3/4 && total <= limit, total)
	syscall.Statfs("/tmp", &st)
	check("statfs /tmp reports it full", st.Bfree < 16, st.Bfree)
	err = os.WriteFile("/tmp/more", []byte("y"), 0o644)
	check("a new file in a full /tmp is ENOSPC", isErrno(err, syscall.ENOSPC), err)
	os.Remove("/tmp/more")
	check("removing the big file works", os.Remove("/tmp/fill") == nil)
	err = os.WriteFile("/tmp/again", bytes.Repeat([]byte("z"), 2<<20), 0o644)
	check("after removing it, 2 MiB fit again", err == nil, err)
	syscall.Statfs("/tmp", &st)
	check("statfs /tmp counts them", uint64(st.Blocks-st.Bfree)*uint64(st.Bsize) >= 2<<20, st.Blocks, " ", st.Bfree)
	os.Remove("/tmp/again")
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

func procFiles() {
	mem := readFile("/proc/meminfo")
	check("/proc/meminfo has MemTotal and MemAvailable", strings.HasPrefix(mem, "MemTotal:") && strings.Contains(mem, "\nMemAvailable:"), mem)
	cpu := readFile("/proc/cpuinfo")
	check("/proc/cpuinfo has a model name, flags and MHz", strings.Contains(cpu, "model name\t: ") &&
		strings.Contains(cpu, "\nflags\t\t: fpu") && strings.Contains(cpu, "\ncpu MHz\t\t: "), cpu)
	status := readFile("/proc/self/status")
	check("/proc/self/status names the program and counts threads", strings.HasPrefix(status, "Name:\trootfs\n") &&
		strings.Contains(status, "\nPid:\t1\n") && !strings.Contains(status, "\nThreads:\t0\n") && strings.Contains(status, "\nVmRSS:\t"), status)
	maps := readFile("/proc/self/maps")
	check("/proc/self/maps has the text and the stack", strings.Contains(maps, " r-xp ") && strings.Contains(maps, "[stack]"), maps)
	cmdline := readFile("/proc/self/cmdline")
	check("/proc/self/cmdline is argv", cmdline == strings.Join(os.Args, "\x00")+"\x00", cmdline)
	environ := readFile("/proc/self/environ")
	check("/proc/self/environ is the environment", environ == strings.Join(os.Environ(), "\x00")+"\x00" || environ == "" && len(os.Environ()) == 0, environ)
	self, err := os.Readlink("/proc/self")
	check("/proc/self links to /proc/1", self == "1", self, err)
	exe, err := os.Readlink("/proc/self/exe")
	check("/proc/self/exe is a link", err == nil && exe != "", err)

	f, err := os.Create("/tmp/opened")
	if err != nil {
		check("create /tmp/opened", false, err)
		return
	}
	defer f.Close()
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	fds, _ := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	names, err := os.ReadDir("/proc/self/fd")
	listed := map[string]bool{}
	for _, n := range names {
		listed[n.Name()] = true
	}
	fd := fmt.Sprint(f.Fd())
	check("/proc/self/fd lists open descriptors", err == nil && listed["0"] && listed[fd] && listed[fmt.Sprint(r.Fd())], err, listed)
	link, err := os.Readlink("/proc/self/fd/" + fd)
	check("/proc/self/fd/N of a file is its path", link == "/tmp/opened", link, err)
	link, _ = os.Readlink(filepath.Join("/proc/self/fd", fmt.Sprint(r.Fd())))
	check("/proc/self/fd/N of a pipe is pipe:[N]", strings.HasPrefix(link, "pipe:["), link)
	link, _ = os.Readlink(filepath.Join("/proc/self/fd", fmt.Sprint(fds[0])))
	check("/proc/self/fd/N of a socket is socket:[N]", strings.HasPrefix(link, "socket:["), link)
	f.WriteString("through the link")
	check("opening /proc/self/fd/N opens the file", readFile("/proc/self/fd/"+fd) == "through the link")
	err = os.WriteFile("/proc/meminfo", nil, 0)
	check("/proc is read-only", err != nil, err)
}

func etcFiles() {
	for _, name := range []string{"/etc/passwd", "/etc/group", "/etc/hosts", "/etc/nsswitch.conf", "/etc/hostname"} {
		b := readFile(name)
		check(name+" exists", !strings.HasPrefix(b, "error") && len(b) > 0, b)
	}
	check("/etc/hosts names localhost", strings.Contains(readFile("/etc/hosts"), "127.0.0.1\tlocalhost\n"))
}

func locks() {
	path := "/tmp/lockfile"
	a, err := os.Create(path)
	if err != nil {
		check("create lock file", false, err)
		return
	}
	defer a.Close()
	b, _ := os.OpenFile(path, os.O_RDWR, 0)
	defer b.Close()
	fa, fb := int(a.Fd()), int(b.Fd())

	check("flock LOCK_EX", syscall.Flock(fa, syscall.LOCK_EX) == nil)
	err = syscall.Flock(fb, syscall.LOCK_EX|syscall.LOCK_NB)
	check("a second description gets EWOULDBLOCK", isErrno(err, syscall.EWOULDBLOCK), err)
	got := make(chan error, 1)
	go func() { got <- syscall.Flock(fb, syscall.LOCK_EX) }()
	select {
	case err := <-got:
		check("a blocking flock waits for the holder", false, "returned early: ", err)
	case <-time.After(300 * time.Millisecond):
		check("a blocking flock waits for the holder", true)
	}
	syscall.Flock(fa, syscall.LOCK_UN)
	select {
	case err := <-got:
		check("unlock wakes the waiter", err == nil, err)
	case <-time.After(30 * time.Second): // generous: a loaded host under TCG
		check("unlock wakes the waiter", false, "still waiting after 30 s")
	}
	syscall.Flock(fb, syscall.LOCK_UN)

	// POSIX record locks belong to the process: two descriptors never conflict. An OFD lock
	// conflicts with them.
	wr := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 0, Len: 10}
	check("F_SETLK write lock", syscall.FcntlFlock(uintptr(fa), syscall.F_SETLK, &wr) == nil)
	wr2 := wr
	check("the process's second F_SETLK does not conflict", syscall.FcntlFlock(uintptr(fb), syscall.F_SETLK, &wr2) == nil)
	const fOFDSetlk, fOFDGetlk = 37, 36
	ofd := syscall.Flock_t{Type: syscall.F_RDLCK, Start: 5, Len: 1}
	err = syscall.FcntlFlock(uintptr(fb), fOFDSetlk, &ofd)
	check("an OFD lock conflicts with the POSIX lock", isErrno(err, syscall.EAGAIN), err)
	q := syscall.Flock_t{Type: syscall.F_WRLCK, Start: 0, Len: 0}
	err = syscall.FcntlFlock(uintptr(fb), fOFDGetlk, &q)
	check("F_OFD_GETLK names the POSIX lock", err == nil && q.Type == syscall.F_WRLCK && q.Start == 0 && q.Len == 10 && q.Pid == 1, err, q)
	// Closing any descriptor of the file releases the process's POSIX locks.
	c, _ := os.Open(path)
	c.Close()
	ofd = syscall.Flock_t{Type: syscall.F_RDLCK, Start: 5, Len: 1}
	err = syscall.FcntlFlock(uintptr(fb), fOFDSetlk, &ofd)
	check("closing another descriptor released the POSIX lock", err == nil, err)
}
