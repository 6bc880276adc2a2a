// Package comparetest checks that the outputs of a comparison agree with each other.
package comparetest

import (
	"fmt"
	"strings"

	"mote.dev/mote/internal/compare"
)

// TB is the part of testing.TB that CheckAgree uses.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

// CheckAgree reports, through t, every way in which a table and an HTML page fail to show
// rep's numbers (the report's JSON): each metric's line must hold its values as Format renders them, in the
// rows' order, and the page must have exactly one chart per metric.
func CheckAgree(t TB, rep *compare.Report, table, page string) {
	t.Helper()
	lines := strings.Split(table, "\n")
	for _, m := range rep.Metrics {
		label := fmt.Sprintf("%s (%s)", m.Title, m.Unit)
		var line string
		for _, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), label) {
				line = strings.TrimSpace(l)
			}
		}
		if line == "" {
			t.Errorf("the table has no line %q", label)
			continue
		}
		cells := strings.Fields(strings.TrimPrefix(line, label))
		want := make([]string, len(m.Values))
		for i, v := range m.Values {
			want[i] = compare.Format(v)
		}
		if strings.Join(cells, " ") != strings.Join(want, " ") {
			t.Errorf("table line %q: cells %q, JSON %q", label, cells, want)
		}
		if n := strings.Count(page, fmt.Sprintf(`data-metric="%s"`, m.Key)); n != 1 {
			t.Errorf("the page has %d charts of %s, want 1", n, m.Key)
		}
	}
	if n := strings.Count(page, "<svg"); n != len(rep.Metrics) {
		t.Errorf("the page has %d charts for %d metrics", n, len(rep.Metrics))
	}
}
