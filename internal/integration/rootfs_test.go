package integration

import (
	"strings"
	"testing"
)

// TestRootFS boots a program that checks the file system from inside: EROFS under /, /tmp up
// to its limit then ENOSPC and space again after a delete, the /proc and /etc files, flock
// and fcntl locks between descriptors. The guest must keep running through every error.
func TestRootFS(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "run", "--tmpfs-size", "4M", "-e", "ROOTFS=1", prog(t, "rootfs"), "--", "two words")
	if r.code != 0 || !strings.HasSuffix(r.stdout, "\n0 failed\n") || strings.Contains(r.stdout, "FAIL") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stdout, "\nok "); n < 40 {
		t.Errorf("%d checks passed, want at least 40\nstdout:\n%s", n, r.stdout)
	}
}
