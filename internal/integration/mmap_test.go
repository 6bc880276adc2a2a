package integration

import (
	"strings"
	"testing"
)

// TestMmapFile runs the mmapfile program, which checks shared and private
// file mappings against read, pwrite and each other (the same program
// passes on Linux).
func TestMmapFile(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "run", prog(t, "mmapfile"))
	if r.code != 0 || !strings.HasSuffix(r.stdout, "all ok\n") || strings.Contains(r.stdout, "FAIL") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stdout, "\nok "); n < 30 {
		t.Errorf("%d checks passed, want at least 30:\n%s", n, r.stdout)
	}
	// Linux's tmpfs does not do this, mote's does (and ext4).
	if !strings.Contains(r.stdout, "\nok mtime after msync\n") {
		t.Error("a store through a shared mapping did not change the file's mtime by msync")
	}
	if strings.Contains(r.stderr, "unimplemented syscall") {
		t.Errorf("a system call the kernel lacks:\n%s", r.stderr)
	}
}
