package image

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPackTestDir(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"a_test.go":          "package a\n",
		"a.go":               "package a\n",
		"testdata/x.txt":     "x",
		"testdata/sub/y.txt": "yy",
		"sub/ignored.go":     "package sub\n",
	} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(data), 0o600)
	}
	b, ok, err := PackTestDir(dir)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.ModTime.Unix() != 0 || h.Uid != 0 {
			t.Errorf("%s: mtime %v uid %d", h.Name, h.ModTime, h.Uid)
		}
		names = append(names, h.Name)
	}
	want := []string{"a.go", "a_test.go", "sub/", "testdata/", "testdata/sub/", "testdata/sub/y.txt", "testdata/x.txt"}
	if !slices.Equal(names, want) {
		t.Errorf("entries %q, want %q", names, want)
	}
	b2, _, _ := PackTestDir(dir)
	if !bytes.Equal(b, b2) {
		t.Error("packing twice gave different bytes")
	}
	if _, ok, err := PackTestDir(t.TempDir()); ok || err != nil {
		t.Errorf("empty dir: %v %v", ok, err)
	}
}

func TestPackTestDirExtras(t *testing.T) {
	dir := t.TempDir()
	extra := filepath.Join(t.TempDir(), "zoneinfo.zip")
	os.WriteFile(extra, []byte("zip"), 0o644)
	b, ok, err := PackTestDir(dir, extra, filepath.Join(dir, "missing"))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	h, err := tr.Next()
	if err != nil || h.Name != filepath.ToSlash(extra) || h.Size != 3 {
		t.Fatalf("first entry %+v, %v; want %s", h, err, extra)
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("a missing extra was packed: %v", err)
	}
}
