package kernel

import (
	"testing"

	"mote.dev/mote/kernel/abi/linux"
)

func TestMounts(t *testing.T) {
	resetFS(t)
	ino := func(path string) int32 {
		t.Helper()
		r, e := resolve(rootIno, []byte(path), true)
		if e != 0 || r.ino < 0 {
			t.Fatalf("resolve(%q): %+v, %d", path, r, e)
		}
		return r.ino
	}
	for path, want := range map[string]linux.Errno{
		"/": linux.EROFS, "/etc": linux.EROFS, "/etc/passwd": linux.EROFS,
		"/tmp": 0, "/dev": 0, "/dev/null": 0, "/proc": linux.EROFS, "/proc/meminfo": linux.EROFS,
	} {
		if got := writable(ino(path)); got != want {
			t.Errorf("writable(%s) = %d, want %d", path, got, want)
		}
	}
	if _, e := createIn(ino("/etc"), []byte("new"), sIFREG|0o644); e != linux.EROFS {
		t.Errorf("create in /etc: %d, want EROFS", e)
	}
	f, e := createIn(ino("/tmp"), []byte("new"), sIFREG|0o644)
	if e != 0 {
		t.Fatalf("create in /tmp: %d", e)
	}
	if mountOf(f) != mountOf(ino("/tmp")) || mountOf(f).kind != mkTmpfs {
		t.Errorf("a file made in /tmp is not on its tmpfs")
	}
	if sameMount(f, ino("/etc")) != linux.EXDEV || sameMount(f, ino("/tmp")) != 0 {
		t.Errorf("sameMount: rename from /tmp to /etc must be EXDEV, within /tmp fine")
	}
	if a, b := mountOf(ino("/tmp")).dev, mountOf(rootIno).dev; a == b {
		t.Errorf("/tmp and / share st_dev %d", a)
	}

	// A directory made writable later takes its subtree along.
	d := mkdirAll([]byte("/src/pkg/sub"))
	if _, e := addMount(ino("/src/pkg"), mkTmpfs, false, 2); e != 0 {
		t.Fatal(e)
	}
	if writable(d) != 0 || writable(ino("/src")) != linux.EROFS {
		t.Errorf("rw mount of /src/pkg: /src/pkg/sub writable %d, /src %d", writable(d), writable(ino("/src")))
	}
	m := mountOf(d)
	if !chargePage(m) || !chargePage(m) || chargePage(m) {
		t.Errorf("a mount of 2 pages took %d", m.pages)
	}
	unchargePage(m)
	if !chargePage(m) {
		t.Errorf("a freed page was not given back")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"4096": 4096, "16M": 16 << 20, "1g": 1 << 30, "64k": 64 << 10, "x": 0} {
		if got := parseSize([]byte(in)); got != want {
			t.Errorf("parseSize(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestProcText(t *testing.T) {
	resetFS(t)
	procText.reset()
	genMeminfoText(&procText)
	got := string(procText.b[:procText.n])
	for _, want := range []string{"MemTotal:       ", " kB\n", "MemAvailable:", "Shmem:"} {
		if !contains(got, want) {
			t.Errorf("meminfo lacks %q:\n%s", want, got)
		}
	}
	procText.reset()
	genStatusText(&procText)
	got = string(procText.b[:procText.n])
	for _, want := range []string{"Name:\tmote\n", "State:\tR (running)\n", "Pid:\t1\n", "PPid:\t0\n", "Uid:\t0\t0\t0\t0\n", "VmRSS:\t", "Threads:\t"} {
		if !contains(got, want) {
			t.Errorf("status lacks %q:\n%s", want, got)
		}
	}
	var w textBuf
	w.hex(0x1f, 8).c(' ').dec(42, 5).c(' ').dec3(7)
	if s := string(w.b[:w.n]); s != "0000001f    42 007" {
		t.Errorf("textBuf = %q", s)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
