package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"mote.dev/mote/internal/loadgen"
)

// Row is what was measured for one way. Zero values are "not measured".
type Row struct {
	Name          string           `json:"name"`
	Skipped       string           `json:"skipped,omitempty"` // "skipped: why (fix)"
	Error         string           `json:"error,omitempty"`
	ArtifactBytes int64            `json:"artifact_bytes,omitempty"`
	ArtifactNote  string           `json:"artifact_note,omitempty"`
	KernelBytes   int64            `json:"kernel_bytes,omitempty"` // the Linux VM's vmlinuz
	Ready         time.Duration    `json:"ready_ns,omitempty"`     // start to first HTTP response or output line: the median of ReadyRuns
	ReadyRuns     []time.Duration  `json:"ready_runs_ns,omitempty"`
	RSSReady      int64            `json:"rss_ready_bytes,omitempty"`
	RSSPeak       int64            `json:"rss_peak_bytes,omitempty"`
	Load          []loadgen.Result `json:"load,omitempty"`      // closed loop, one per concurrency
	Open          *loadgen.Result  `json:"open_loop,omitempty"` // fixed rate
	MinMemoryMiB  int              `json:"min_memory_mib,omitempty"`
	MinMemoryHow  string           `json:"min_memory_how,omitempty"`
}

// Report is a whole comparison.
type Report struct {
	Date    time.Time `json:"date"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Setup   string    `json:"setup"` // the virtual machine both VMs run on
	Rows    []Row     `json:"rows"`
	// Metrics are the numbers of the table and the charts, one per line of the table.
	Metrics []Metric `json:"metrics"`
}

// Metric is one line of the table and one chart: a value per row, in Unit.
type Metric struct {
	Key    string     `json:"key"`
	Title  string     `json:"title"`
	Unit   string     `json:"unit"`
	Lower  bool       `json:"lower_is_better"`
	Values []*float64 `json:"values"` // per row, in Rows' order; null where not measured
}

// NewReport assembles a report and derives its metrics from the rows.
func NewReport(rows []Row, o Options, command, setup string) *Report {
	return &Report{
		Date: time.Now().UTC().Truncate(time.Second), Host: Host(), Command: command, Setup: setup,
		Rows: rows, Metrics: metrics(rows, o),
	}
}

func metrics(rows []Row, o Options) []Metric {
	var ms []Metric
	// A value of 0 is "not measured", except for counts (zeroOK).
	addCount := func(key, title, unit string, lower, zeroOK bool, v func(r *Row) (float64, bool)) {
		m := Metric{Key: key, Title: title, Unit: unit, Lower: lower}
		for i := range rows {
			x, ok := v(&rows[i])
			if ok && (x > 0 || zeroOK && x == 0) && !math.IsInf(x, 0) && !math.IsNaN(x) {
				m.Values = append(m.Values, &x)
			} else {
				m.Values = append(m.Values, nil)
			}
		}
		ms = append(ms, m)
	}
	add := func(key, title, unit string, lower bool, v func(r *Row) float64) {
		addCount(key, title, unit, lower, false, func(r *Row) (float64, bool) { return v(r), true })
	}
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	ms2 := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	add("artifact", "artifact size", "MiB", true, func(r *Row) float64 { return mib(r.ArtifactBytes) })
	add("ready", "start → ready", "ms", true, func(r *Row) float64 { return ms2(r.Ready) })
	add("rss_ready", "host memory when ready (RSS)", "MiB", true, func(r *Row) float64 { return mib(r.RSSReady) })
	add("rss_peak", "host memory, peak (RSS)", "MiB", true, func(r *Row) float64 { return mib(r.RSSPeak) })
	loadMetrics := func(key, label string, pick func(r *Row) *loadgen.Result) {
		get := func(f func(*loadgen.Result) float64) func(r *Row) float64 {
			return func(r *Row) float64 {
				if res := pick(r); res != nil {
					return f(res)
				}
				return 0
			}
		}
		add("rps_"+key, "requests/s "+label, "req/s", false, get(func(x *loadgen.Result) float64 { return x.RPS }))
		add("p50_"+key, "p50 latency "+label, "ms", true, get(func(x *loadgen.Result) float64 { return ms2(x.P50) }))
		add("p99_"+key, "p99 latency "+label, "ms", true, get(func(x *loadgen.Result) float64 { return ms2(x.P99) }))
		add("p999_"+key, "p99.9 latency "+label, "ms", true, get(func(x *loadgen.Result) float64 { return ms2(x.P999) }))
		addCount("errors_"+key, "failed requests "+label, "requests", true, true, func(r *Row) (float64, bool) {
			if res := pick(r); res != nil {
				return float64(res.Errors), true
			}
			return 0, false
		})
	}
	if o.Port != 0 {
		for i, c := range o.Concurrency {
			loadMetrics(fmt.Sprintf("c%d", c), fmt.Sprintf("at %d connections", c), func(r *Row) *loadgen.Result {
				if i < len(r.Load) {
					return &r.Load[i]
				}
				return nil
			})
		}
		if o.Rate > 0 {
			loadMetrics("open", fmt.Sprintf("at a fixed %g req/s", o.Rate), func(r *Row) *loadgen.Result { return r.Open })
		}
	}
	if o.MinMemory {
		add("min_memory", "smallest memory that serves", "MiB", true, func(r *Row) float64 { return float64(r.MinMemoryMiB) })
	}
	return ms
}

// Format renders a metric's value as the table shows it.
func Format(v *float64) string {
	switch {
	case v == nil:
		return "—"
	case *v == math.Trunc(*v):
		return fmt.Sprintf("%.0f", *v)
	case *v >= 100:
		return fmt.Sprintf("%.0f", *v)
	case *v >= 10:
		return fmt.Sprintf("%.1f", *v)
	}
	return fmt.Sprintf("%.2f", *v)
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// WriteTable writes the report for a terminal: a line per metric, a column per way, then
// the rows that were skipped or failed, the notes on artifacts and memory, and the targets.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t", row.Name)
	}
	fmt.Fprintln(tw)
	for _, m := range r.Metrics {
		fmt.Fprintf(tw, "%s (%s)\t", m.Title, m.Unit)
		for _, v := range m.Values {
			fmt.Fprintf(tw, "%s\t", Format(v))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, n := range r.Notes() {
		fmt.Fprintln(w, n)
	}
	return nil
}

// Notes are the table's footnotes: why a row has no numbers, what each artifact holds, how
// memory was measured, and the targets.
func (r *Report) Notes() []string {
	var notes []string
	for _, row := range r.Rows {
		switch {
		case row.Skipped != "":
			notes = append(notes, row.Name+": "+row.Skipped)
		case row.Error != "":
			notes = append(notes, row.Name+": failed: "+indent(row.Error))
		}
	}
	for _, row := range r.Rows {
		if row.ArtifactNote != "" {
			notes = append(notes, fmt.Sprintf("%s artifact: %s", row.Name, row.ArtifactNote))
		}
	}
	for _, row := range r.Rows {
		if row.MinMemoryHow != "" {
			notes = append(notes, fmt.Sprintf("%s smallest memory: %s", row.Name, row.MinMemoryHow))
		}
	}
	for _, row := range r.Rows {
		if len(row.ReadyRuns) > 1 {
			notes = append(notes, fmt.Sprintf("%s start → ready: median of %d boots, %s", row.Name, len(row.ReadyRuns), spread(row.ReadyRuns)))
		}
	}
	notes = append(notes, "host memory: RSS of the app's process (process, container) or of QEMU (VMs); the guests report none of their own yet")
	return append(notes, r.Targets()...)
}

// spread lists durations in milliseconds, in the order measured.
func spread(d []time.Duration) string {
	parts := make([]string, len(d))
	for i, x := range d {
		parts[i] = fmt.Sprintf("%.0f", float64(x)/float64(time.Millisecond))
	}
	return strings.Join(parts, ", ") + " ms"
}

func indent(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ") }

func (r *Report) row(name string) (int, *Row) {
	for i := range r.Rows {
		if r.Rows[i].Name == name {
			return i, &r.Rows[i]
		}
	}
	return -1, nil
}

// Targets compares mote with the Linux VM and the container as the project's goals state
// them; they are shown, not enforced.
func (r *Report) Targets() []string {
	mi, mote := r.row("mote")
	li, linux := r.row("Linux VM")
	if mote == nil || linux == nil || mote.Ready == 0 || linux.Ready == 0 {
		return []string{"targets: need both the mote and the Linux VM rows"}
	}
	var ahead, level, behind []string
	for _, m := range r.Metrics {
		a, b := m.Values[mi], m.Values[li]
		switch {
		case a == nil || b == nil:
		case Format(a) == Format(b):
			level = append(level, m.Title)
		case (m.Lower && *a < *b) || (!m.Lower && *a > *b):
			ahead = append(ahead, m.Title)
		default:
			behind = append(behind, m.Title)
		}
	}
	t := []string{fmt.Sprintf("target, mote ahead of the Linux VM on every metric: ahead on %d of %d", len(ahead), len(ahead)+len(level)+len(behind))}
	if len(level) > 0 {
		t[0] += "; level on: " + strings.Join(level, ", ")
	}
	if len(behind) > 0 {
		t[0] += "; behind on: " + strings.Join(behind, ", ")
	}
	ratio := float64(linux.Ready) / float64(mote.Ready)
	verdict := "met"
	if ratio < 10 {
		verdict = "not met"
	}
	t = append(t, fmt.Sprintf("target, start → ready at most 1/10 of the Linux VM's: 1/%.1f (%s)", ratio, verdict))
	if _, ctr := r.row("container"); ctr != nil && ctr.ArtifactBytes > 0 && linux.KernelBytes > 0 {
		sum := ctr.ArtifactBytes + linux.KernelBytes
		verdict = "met"
		if mote.ArtifactBytes >= sum {
			verdict = "not met"
		}
		t = append(t, fmt.Sprintf("target, mote image smaller than the container bundle plus the kernel it needs in a VM: %.1f MiB against %.1f + %.1f MiB (%s)",
			float64(mote.ArtifactBytes)/(1<<20), float64(ctr.ArtifactBytes)/(1<<20), float64(linux.KernelBytes)/(1<<20), verdict))
	}
	return t
}
