package symbolize

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"hi\") }\n"), 0o644)
	bin := filepath.Join(dir, "prog")
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	syms, _ := f.Symbols()
	f.Close()
	var mainPC uint64
	for _, s := range syms {
		if s.Name == "main.main" {
			mainPC = s.Value
		}
	}
	if mainPC == 0 {
		t.Fatal("no main.main symbol")
	}
	tab, err := Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	got := tab.Describe(mainPC + 4)
	if !strings.HasPrefix(got, "main.main+0x4 ") || !strings.Contains(got, "main.go:3") {
		t.Errorf("Describe(main.main+4) = %q", got)
	}
	if got := tab.DescribeReturn(mainPC + 4); !strings.HasPrefix(got, "main.main+0x4 ") || !strings.Contains(got, "main.go:3") {
		t.Errorf("DescribeReturn(main.main+4) = %q", got)
	}
	if got := tab.Describe(1); got != "?" {
		t.Errorf("Describe(1) = %q, want ?", got)
	}
	if _, err := Open(src); err == nil {
		t.Error("Open of a non-ELF file succeeded")
	}
}

func TestFrame(t *testing.T) {
	if pc, ret, ok := Frame("ret 0x00000000002a8587"); !ok || !ret || pc != 0x2a8587 {
		t.Errorf("Frame(ret) = %#x, %v, %v", pc, ret, ok)
	}
	if pc, ret, ok := Frame("pc 0x00000000002a8587"); !ok || ret || pc != 0x2a8587 {
		t.Errorf("Frame(pc) = %#x, %v, %v", pc, ret, ok)
	}
	if _, _, ok := Frame("mote: kernel fault"); ok {
		t.Error("Frame accepted a non-pc record")
	}
}
