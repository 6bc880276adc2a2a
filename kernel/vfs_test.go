package kernel

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
	"unsafe"
)

// The tree and the tar reader run on the host too, as long as no page
// frame is needed: module files are read in place.

func resetFS(t *testing.T) {
	t.Helper()
	inodes = [maxInodes]inode{}
	nameUsed = 0
	nargv = 0
	cwd = span{}
	fsInit()
}

func TestUnpackTarAndResolve(t *testing.T) {
	resetFS(t)
	long := strings.Repeat("d", 120) + "/file.txt"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body string) {
		h.Size = int64(len(body))
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	add(&tar.Header{Name: "testdata/", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "testdata/a.txt", Typeflag: tar.TypeReg, Mode: 0o644}, "hello a")
	add(&tar.Header{Name: "main_test.go", Typeflag: tar.TypeReg, Mode: 0o600}, "package x")
	add(&tar.Header{Name: long, Typeflag: tar.TypeReg, Mode: 0o644}, "deep")
	tw.Close()
	data := buf.Bytes()
	dir := mkdirAll([]byte("/src/pkg"))
	start := uintptr(unsafe.Pointer(&data[0]))
	unpackTar(dir, start, start+uintptr(len(data)))

	read := func(path string) string {
		t.Helper()
		r, e := resolve(rootIno, []byte(path), true)
		if e != 0 || r.ino < 0 {
			t.Fatalf("resolve(%q) = %+v, errno %d", path, r, e)
		}
		n := &inodes[r.ino]
		b := make([]byte, n.size)
		return string(b[:readAt(n, b, 0)])
	}
	if got := read("/src/pkg/testdata/a.txt"); got != "hello a" {
		t.Errorf("a.txt = %q", got)
	}
	if got := read("/src/pkg/./testdata/../main_test.go"); got != "package x" {
		t.Errorf("main_test.go = %q", got)
	}
	if got := read("/src/pkg/" + long); got != "deep" {
		t.Errorf("long name = %q", got)
	}
	r, e := resolve(rootIno, []byte("/src/pkg/missing"), true)
	if e != 0 || r.ino >= 0 || string(r.last) != "missing" || r.dir != dir {
		t.Errorf("missing file: %+v errno %d", r, e)
	}
	if _, e := resolve(rootIno, []byte("/src/pkg/main_test.go/x"), true); e != 20 { // ENOTDIR
		t.Errorf("file as directory: errno %d, want ENOTDIR", e)
	}
	if r, _ := resolve(rootIno, []byte("/dev/null"), true); r.ino < 0 || inodes[r.ino].dev != devNull {
		t.Errorf("/dev/null missing")
	}
	var pb [64]byte
	if p, ok := pathOf(dir, pb[:]); !ok || string(p) != "/src/pkg" {
		t.Errorf("pathOf = %q, %v", p, ok)
	}
}

func TestOctal(t *testing.T) {
	for in, want := range map[string]uint64{"0000644\x00": 0o644, "   12 ": 0o12, "\x00\x00": 0} {
		if got := octal([]byte(in)); got != want {
			t.Errorf("octal(%q) = %o, want %o", in, got, want)
		}
	}
}
