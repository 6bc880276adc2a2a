package integration

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// stdPackages reads conformance/std.txt: the standard-library packages known to pass.
func stdPackages(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(repo(t, "conformance/std.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var pkgs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			pkgs = append(pkgs, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// TestConformance runs the tests of every package in conformance/std.txt inside mote. The
// list only grows: a package that stops passing is a regression.
func TestConformance(t *testing.T) {
	needQEMU(t)
	pkgs := stdPackages(t)
	if len(pkgs) == 0 {
		t.Fatal("conformance/std.txt lists no packages")
	}
	// Compiling a test binary takes both cores; two at a time keeps the machine busy
	// without starving the other integration tests.
	sem := make(chan struct{}, 2)
	for _, pkg := range pkgs {
		t.Run(strings.ReplaceAll(pkg, "/", "_"), func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := mote(timeout(t), t, "", "test", pkg, "--", "-short")
			if r.code != 0 || !strings.Contains(r.stdout, "ok  \t"+pkg+"\t") {
				t.Errorf("mote test %s: exit %d\nstdout (tail):\n%s\nstderr:\n%s", pkg, r.code, tail(r.stdout, 40), r.stderr)
			}
		})
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
