package integration

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// listFile reads the lines of a conformance list, without comments and blank lines.
func listFile(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(repo(t, "conformance/"+name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// skips reads conformance/skip.txt into a -test.skip pattern per package. Every entry must
// give a reason.
func skips(t *testing.T) map[string]string {
	t.Helper()
	names := map[string][]string{}
	for _, line := range listFile(t, "skip.txt") {
		f := strings.Fields(line)
		if len(f) < 3 {
			t.Fatalf("conformance/skip.txt: %q: want PACKAGE TEST REASON", line)
		}
		names[f[0]] = append(names[f[0]], f[1])
	}
	pats := map[string]string{}
	for pkg, tests := range names {
		pats[pkg] = "^(" + strings.Join(tests, "|") + ")$"
	}
	return pats
}

// TestConformance runs the tests of every package in conformance/std.txt inside mote. The
// list only grows: a package that stops passing is a regression.
func TestConformance(t *testing.T) {
	needQEMU(t)
	pkgs := listFile(t, "std.txt")
	skip := skips(t)
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
			args := []string{"test", pkg, "--", "-short"}
			if pat := skip[pkg]; pat != "" {
				args = append(args, "-skip", pat)
			}
			r := mote(timeout(t), t, "", args...)
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
