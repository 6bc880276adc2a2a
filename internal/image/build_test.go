package image

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeKernel is a stand-in kernel module whose entry writes a few bytes to the serial ports and
// exits: enough to link, patch and boot an image.
func fakeKernel(t *testing.T) string {
	dir, err := filepath.Abs("../../testdata/fakekernel")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func buildImage(t *testing.T, spec, out string, test bool, copies ...Copy) (*Manifest, error) {
	t.Helper()
	b := &Builder{KernelDir: fakeKernel(t), Stderr: io.Discard}
	tmp := t.TempDir()
	p, err := b.Load(context.Background(), spec, tmp)
	if err != nil {
		return nil, err
	}
	return b.Build(context.Background(), BuildOptions{Package: p, Output: out, Test: test, TmpDir: tmp, Copies: copies})
}

// filesTree makes a small tree to copy into an image, its times and umask unlike another's.
func filesTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{"index.html": "<h1>hi</h1>\n", "css/site.css": "h1{}\n"} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("index.html", filepath.Join(dir, "home.html")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBuildHello(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with the go command")
	}
	t.Parallel()
	dir := t.TempDir()
	out1, out2 := filepath.Join(dir, "a.img"), filepath.Join(dir, "b.img")
	copyOf := func(dir string) Copy {
		c, err := ParseCopy(dir+":/srv/www", "", "--copy")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	m, err := buildImage(t, "../../examples/hello", out1, false, copyOf(filesTree(t)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "hello" {
		t.Errorf("manifest name %q, want hello", m.Name)
	}
	img, err := os.ReadFile(out1)
	if err != nil {
		t.Fatal(err)
	}
	elfBytes, files, m2, err := SplitImage(img)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Name != "hello" || m2.Files == nil || m2.Files.Entries != 5 || int64(len(files)) != m2.Files.Size {
		t.Errorf("trailer manifest %+v, files %+v, %d bytes of files", m2, m2.Files, len(files))
	}
	f, err := elf.NewFile(bytes.NewReader(elfBytes))
	if err != nil {
		t.Fatal(err)
	}
	entry, err := PVHEntry(elfBytes)
	if err != nil {
		t.Fatal(err)
	}
	if entry != f.Entry || entry < 0x200000 || entry > 0xffffffff {
		t.Errorf("PVH entry %#x, ELF entry %#x", entry, f.Entry)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("image has no symbol table: %v", err)
	}
	found := false
	for _, s := range syms {
		// An assembly entry is the ABI0 symbol; a Go wrapper shares the plain name.
		if s.Name == EntrySymbol+".abi0" || s.Name == EntrySymbol {
			found = found || s.Value == f.Entry
		}
	}
	if !found {
		t.Errorf("symbol %s is missing or is not the entry", EntrySymbol)
	}

	// Reproducible: another build, in other temporary directories, of a copy of the files
	// made at another time, gives the same bytes.
	time.Sleep(10 * time.Millisecond)
	if _, err := buildImage(t, "../../examples/hello", out2, false, copyOf(filesTree(t))); err != nil {
		t.Fatal(err)
	}
	img2, err := os.ReadFile(out2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img, img2) {
		t.Error("two builds of examples/hello differ")
	}

	// The app's directory is untouched.
	entries, _ := os.ReadDir("../../examples/hello")
	for _, e := range entries {
		if e.Name() != "main.go" && e.Name() != "go.mod" {
			t.Errorf("build left %s in examples/hello", e.Name())
		}
	}
}

func TestBuildErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	t.Parallel()
	mod := t.TempDir()
	write := func(name, src string) {
		p := filepath.Join(mod, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/bad\n\ngo 1.26\n")
	write("lib/lib.go", "package lib\n")
	write("cgo/main.go", "package main\n\n// int two(void) { return 2; }\nimport \"C\"\n\nfunc main() { println(C.two()) }\n")
	write("nomod/x", "")
	nomod := t.TempDir()
	os.WriteFile(filepath.Join(nomod, "main.go"), []byte("package main\nfunc main(){}\n"), 0o644)
	write("taken/main.go", "package main\nfunc main(){}\n")
	write("taken/zz_mote_kernel.go", "package main\n")

	tests := []struct{ spec, want string }{
		{filepath.Join(mod, "lib"), "is package lib, not a command"},
		{filepath.Join(mod, "cgo"), "uses cgo (main.go imports \"C\")"},
		{filepath.Join(mod, "missing"), "no such directory"},
		{"./does/not/exist", "no such directory"},
		{filepath.Join(mod, "go.mod"), "is a file, not a package directory"},
		{nomod, "is not in a Go module (run go mod init"},
		{filepath.Join(mod, "taken"), "already has a file named zz_mote_kernel.go"},
		{"example.com/x/y@", "a versioned package is written"},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.spec), func(t *testing.T) {
			_, err := buildImage(t, tc.spec, filepath.Join(t.TempDir(), "out.img"), false)
			var ue *UserError
			if !errors.As(err, &ue) {
				t.Fatalf("got %v (%T), want a UserError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestWorkFileAndOverlay(t *testing.T) {
	app := &Package{Name: "main", ImportPath: "example.com/hello", Dir: "/src/hello", Module: &Module{Path: "example.com/hello", Dir: "/src/hello", GoVersion: "1.22"}}
	if got, want := WorkFile(app, "/cache/kernel-x"), "go 1.26\n\nuse (\n\t\"/src/hello\"\n\t\"/cache/kernel-x\"\n)\n"; got != want {
		t.Errorf("WorkFile:\n%s\nwant\n%s", got, want)
	}
	newer := &Package{Module: &Module{Path: "example.com/new", Dir: "/n", GoVersion: "1.27.1"}}
	if got := WorkFile(newer, "/k"); !strings.HasPrefix(got, "go 1.27.1\n") {
		t.Errorf("WorkFile for a go 1.27.1 module:\n%s", got)
	}
	self := &Package{Module: &Module{Path: KernelModule, Dir: "/mote"}}
	if got := WorkFile(self, "/k"); strings.Contains(got, "/k") {
		t.Errorf("WorkFile for mote itself uses the kernel cache:\n%s", got)
	}
	std := &Package{Name: "sort", ImportPath: "sort", Standard: true}
	if got, want := WorkFile(std, "/k"), "go 1.26\n\nuse (\n\t\"/k\"\n)\n"; got != want {
		t.Errorf("WorkFile for std:\n%s", got)
	}

	name, src := OverlayFile(app, false, true)
	if name != "zz_mote_kernel.go" || !strings.Contains(string(src), "package main\n\nimport _ \"mote.dev/mote/kernel\"\n") ||
		!strings.Contains(string(src), "import _ \"mote.dev/mote/kernel/agent\"\n") {
		t.Errorf("main overlay %s:\n%s", name, src)
	}
	if _, src := OverlayFile(app, false, false); strings.Contains(string(src), "agent") {
		t.Errorf("main overlay without the agent:\n%s", src)
	}
	name, src = OverlayFile(std, true, false)
	if name != "zz_mote_test.go" || !strings.Contains(string(src), "package sort_test\n\nimport _ \"mote.dev/mote/kernel\"\n") {
		t.Errorf("test overlay %s:\n%s", name, src)
	}
	js, _ := json.Marshal(Overlay{Replace: map[string]string{"/a": "/b"}})
	if string(js) != `{"Replace":{"/a":"/b"}}` {
		t.Errorf("overlay JSON %s", js)
	}
}

func TestImageName(t *testing.T) {
	for _, tc := range []struct {
		path string
		test bool
		want string
	}{
		{"example.com/hello", false, "hello"},
		{"example.com/tool/v2", false, "tool"},
		{"sort", true, "sort.test"},
		{"v2", false, "v2"},
	} {
		if got := ImageName(&Package{ImportPath: tc.path}, tc.test); got != tc.want {
			t.Errorf("ImageName(%s, %v) = %s, want %s", tc.path, tc.test, got, tc.want)
		}
	}
}
