package kernelsrc

import (
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"

	"mote.dev/mote"
)

func TestUnpack(t *testing.T) {
	fsys := fstest.MapFS{
		"go.mod":         {Data: []byte("module mote.dev/mote\n\ngo 1.26\n")},
		"go.sum":         {Data: nil},
		"kernel/doc.go":  {Data: []byte("package kernel\n")},
		"kernel/a/a.go":  {Data: []byte("package a\n")},
		"kernel/a/.keep": {Data: []byte("")},
	}
	root := t.TempDir()
	var wg sync.WaitGroup
	dirs := make([]string, 4)
	errs := make([]error, 4)
	for i := range dirs {
		wg.Go(func() { dirs[i], errs[i] = Unpack(fsys, root) })
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if dirs[i] != dirs[0] {
			t.Fatalf("concurrent unpacks gave %s and %s", dirs[0], dirs[i])
		}
	}
	got, err := os.ReadFile(filepath.Join(dirs[0], "kernel/a/a.go"))
	if err != nil || string(got) != "package a\n" {
		t.Fatalf("unpacked file: %q, %v", got, err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("cache root holds %d entries, want 1 (leftover temporary directories?)", len(entries))
	}

	fsys["kernel/doc.go"] = &fstest.MapFile{Data: []byte("package kernel // changed\n")}
	other, err := Unpack(fsys, root)
	if err != nil {
		t.Fatal(err)
	}
	if other == dirs[0] {
		t.Error("changed source unpacked into the same directory")
	}
}

func TestEmbeddedSource(t *testing.T) {
	for _, name := range []string{"go.mod", "go.sum", "kernel"} {
		if _, err := fs.Stat(mote.KernelSource, name); err != nil {
			t.Errorf("embedded kernel source lacks %s: %v", name, err)
		}
	}
}
