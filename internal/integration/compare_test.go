package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mote.dev/mote/internal/compare"
	"mote.dev/mote/internal/compare/comparetest"
)

// TestCompare runs the whole comparison on examples/http: all four rows must have numbers,
// and the table, the JSON and the HTML must agree. A row skipped for a missing prerequisite
// (runc, root, a Debian kernel) skips the test here and fails it in CI.
func TestCompare(t *testing.T) {
	needQEMU(t)
	if testing.Short() {
		t.Skip("boots two VMs and loads each for 6 s; skipped with -short")
	}
	t.Parallel()
	dir := t.TempDir()
	jsonFile, htmlFile := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	r := mote(timeout(t), t, "", "compare", repo(t, "examples/http"), "--duration", "3s", "--json", jsonFile, "--html", htmlFile)
	t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	var rep compare.Report
	data, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatalf("exit %d, no JSON: %v", r.code, err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, row := range rep.Rows {
		names = append(names, row.Name)
		if row.Skipped != "" {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s: %s", row.Name, row.Skipped)
			}
			t.Skipf("%s: %s", row.Name, row.Skipped)
		}
		if row.Error != "" {
			t.Errorf("%s failed: %s", row.Name, row.Error)
			continue
		}
		if row.ArtifactBytes == 0 || row.Ready == 0 || row.RSSReady == 0 || row.RSSPeak == 0 || len(row.Load) != 2 {
			t.Errorf("%s: missing numbers: %+v", row.Name, row)
		}
		for _, l := range row.Load {
			if l.Requests == 0 || l.RPS == 0 || l.P50 == 0 || l.P99 < l.P50 || l.P999 < l.P99 {
				t.Errorf("%s at %d connections: %+v", row.Name, l.Concurrency, l)
			}
		}
	}
	if strings.Join(names, ",") != "process,container,Linux VM,mote" {
		t.Errorf("rows %q", names)
	}
	if r.code != 0 {
		t.Errorf("exit %d", r.code)
	}
	page, err := os.ReadFile(htmlFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Metrics) < 12 {
		t.Errorf("%d metrics", len(rep.Metrics))
	}
	comparetest.CheckAgree(t, &rep, r.stdout, string(page))
	if strings.Contains(string(page), "http://") || strings.Contains(string(page), "https://") {
		t.Error("the HTML report refers to the network")
	}
}

// TestCompareNeverReady: a guest that never answers gets a timeout with its last output in
// its row, and the command ends.
func TestCompareNeverReady(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	r := mote(timeout(t), t, "", "compare", "--ways", "mote", "-p", "8080", "--ready-timeout", "20s", prog(t, "neverready"))
	if r.code != 1 || !strings.Contains(r.stdout, "mote: failed: timeout: not ready after 20s (waited for an HTTP response on port 8080); last output:") ||
		!strings.Contains(r.stdout, "warming up the cache") || !strings.Contains(r.stderr, "mote: mote failed") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
