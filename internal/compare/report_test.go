package compare_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mote.dev/mote/internal/compare"
	"mote.dev/mote/internal/compare/comparetest"
)

func shell(script string) *compare.Process {
	return &compare.Process{Binary: "/bin/sh", Args: []string{"-c", script}}
}

// TestServe measures examples/http as a process and checks that the table, the JSON and the
// HTML say the same.
func TestServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds examples/http")
	}
	bin := filepath.Join(t.TempDir(), "http")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = "../../examples/http"
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	port, err := compare.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	o := compare.Options{Port: port, Concurrency: []int{1, 4}, Duration: 300 * time.Millisecond, Rate: 200, ReadyTimeout: 30 * time.Second}
	p := &compare.Process{Binary: bin, Args: []string{"-addr", fmt.Sprintf("127.0.0.1:%d", port)}, Port: port}
	rows := compare.Run(context.Background(), []compare.Way{p, shell("exit 1")}, o)
	r := rows[0]
	if r.Error != "" || r.Ready == 0 || r.RSSReady == 0 || r.RSSPeak < r.RSSReady || len(r.Load) != 2 || r.Open == nil {
		t.Fatalf("row %+v", r)
	}
	for _, l := range append(r.Load, *r.Open) {
		if l.RPS == 0 || l.Errors != 0 || l.P50 == 0 || l.P999 < l.P50 {
			t.Errorf("load %+v", l)
		}
	}
	rep := compare.NewReport(rows, o, "mote compare ./examples/http", "setup")
	checkReport(t, rep)
}

// checkReport checks that the JSON, the table and the HTML of rep agree.
func checkReport(t *testing.T, rep *compare.Report) {
	var js, table, page bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	var back compare.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	comparetest.CheckAgree(t, &back, table.String(), page.String())
}

func TestCheckAgreeCatchesDisagreement(t *testing.T) {
	v := 12.5
	rep := &compare.Report{Rows: []compare.Row{{Name: "a"}}, Metrics: []compare.Metric{{Key: "k", Title: "size", Unit: "MiB", Values: []*float64{&v}}}}
	var table, page bytes.Buffer
	rep.WriteTable(&table)
	rep.WriteHTML(&page)
	ft := &fakeT{}
	w := 13.0
	rep.Metrics[0].Values[0] = &w
	comparetest.CheckAgree(ft, rep, table.String(), page.String())
	if !ft.failed {
		t.Error("a table saying 12.5 agreed with JSON saying 13")
	}
	ft = &fakeT{}
	comparetest.CheckAgree(ft, rep, table.String(), strings.Replace(page.String(), "<svg", "<div", 1))
	if !ft.failed {
		t.Error("a page without its chart passed")
	}
}

type fakeT struct{ failed bool }

func (f *fakeT) Helper()                        {}
func (f *fakeT) Errorf(format string, a ...any) { f.failed = true }
