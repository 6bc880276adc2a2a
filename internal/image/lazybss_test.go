package image

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildELF compiles src as a static linux/amd64 program and returns its bytes.
func buildELF(t *testing.T, src string) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module lazy\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", "prog", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "prog"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lastLoad returns the highest PT_LOAD segment of b.
func lastLoad(t *testing.T, b []byte) progHeader {
	t.Helper()
	phdrs, err := readProgHeaders(b)
	if err != nil {
		t.Fatal(err)
	}
	var last progHeader
	for _, p := range phdrs {
		if p.typ == elf.PT_LOAD && p.vaddr >= last.vaddr {
			last = p
		}
	}
	return last
}

func TestLazyBSS(t *testing.T) {
	b := buildELF(t, "package main\n\nvar big [6 << 20]byte\n\nfunc main() { big[len(big)-1] = 1; println(len(big)) }\n")
	before := lastLoad(t, b)
	n, err := LazyBSS(b)
	if err != nil {
		t.Fatal(err)
	}
	after := lastLoad(t, b)
	if n < 6<<20-4096 || n > 6<<20 {
		t.Errorf("trimmed %d bytes, want the 6 MiB variable (less at most part of a page)", n)
	}
	if after.memsz != before.memsz-n || after.memsz < after.filesz || (after.vaddr+after.memsz)%4096 != 0 {
		t.Errorf("memsz %#x → %#x (filesz %#x), trimmed %#x: want a page-aligned end no lower than the file's bytes", before.memsz, after.memsz, after.filesz, n)
	}
	if again, err := LazyBSS(b); again != 0 || err != nil {
		t.Errorf("second trim: %d, %v; want nothing", again, err)
	}
	if _, err := elf.NewFile(bytes.NewReader(b)); err != nil {
		t.Errorf("trimmed image no longer parses: %v", err)
	}

	small := buildELF(t, "package main\n\nvar few [64 << 10]byte\n\nfunc main() { few[1] = 1; println(len(few)) }\n")
	if n, err := LazyBSS(small); n != 0 || err != nil {
		t.Errorf("image without large variables: trimmed %d, %v; want nothing", n, err)
	}
}

func TestOwnedByKernel(t *testing.T) {
	for name, want := range map[string]bool{
		"mote.dev/mote/kernel.inodes":              true,
		"mote.dev/mote/kernel/net.buffers":         true,
		"runtime.mheap_":                           true,
		"internal/runtime/maps.x":                  true,
		"crypto/internal/fips140/drbg.memory":      false,
		"main.big":                                 false,
		"github.com/user/runtimeish.runtime.table": false,
	} {
		if got := ownedByKernel(name); got != want {
			t.Errorf("ownedByKernel(%q) = %v, want %v", name, got, want)
		}
	}
}
