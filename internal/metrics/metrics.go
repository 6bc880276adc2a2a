// Package metrics reads the Prometheus text a guest's agent answers with (kernel/agent):
// it parses it, labels it with the instance it came from, merges instances for one scrape,
// and sums up the few numbers mote stats shows.
package metrics

import (
	"bytes"
	"fmt"
	"io"
	"sort"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

// ContentType is what a /metrics endpoint answers with: the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Families are parsed metrics by name.
type Families map[string]*dto.MetricFamily

// Parse reads the text exposition format.
func Parse(text []byte) (Families, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("the guest's metrics: %w", err)
	}
	return fams, nil
}

// Label adds the label name=value to every metric, replacing one of that name.
func (f Families) Label(name, value string) {
	for _, mf := range f {
		for _, m := range mf.Metric {
			kept := m.Label[:0]
			for _, l := range m.Label {
				if l.GetName() != name {
					kept = append(kept, l)
				}
			}
			m.Label = append(kept, &dto.LabelPair{Name: proto.String(name), Value: proto.String(value)})
			sort.Slice(m.Label, func(i, j int) bool { return m.Label[i].GetName() < m.Label[j].GetName() })
		}
	}
}

// Merge adds the metrics of o to f; families of one name become one.
func (f Families) Merge(o Families) {
	for name, mf := range o {
		if have, ok := f[name]; ok && have.GetType() == mf.GetType() {
			have.Metric = append(have.Metric, mf.Metric...)
			continue
		}
		f[name] = mf
	}
}

// Write writes f in the text exposition format, families sorted by name.
func (f Families) Write(w io.Writer) error {
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := expfmt.MetricFamilyToText(w, f[n]); err != nil {
			return err
		}
	}
	return nil
}

// Value returns the value of the metric name whose labels include the given pairs (name,
// value, name, value...), or the sum over all its metrics when no labels are given; ok is
// false when there is none.
func (f Families) Value(name string, labels ...string) (v float64, ok bool) {
	mf := f[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.Metric {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			v += m.Counter.GetValue()
		case m.Gauge != nil:
			v += m.Gauge.GetValue()
		case m.Untyped != nil:
			v += m.Untyped.GetValue()
		default:
			continue
		}
		ok = true
	}
	return v, ok
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range m.Label {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Sample is what mote stats shows of one scrape.
type Sample struct {
	Uptime   float64 // seconds since the guest booted (its clock)
	CPUBusy  float64 // seconds the CPU was not idle
	MemTotal float64 // bytes
	MemFree  float64
	GoMemory float64 // bytes mapped by Go's runtime
	Threads  float64
	RxBytes  float64
	TxBytes  float64
}

// Summarize picks the Sample out of a scrape.
func Summarize(f Families) Sample {
	v := func(name string, labels ...string) float64 { x, _ := f.Value(name, labels...); return x }
	return Sample{
		Uptime:   v("mote_uptime_seconds"),
		CPUBusy:  v("mote_cpu_seconds_total", "mode", "busy"),
		MemTotal: v("mote_memory_total_bytes"),
		MemFree:  v("mote_memory_free_bytes"),
		GoMemory: v("go_memory_total_bytes"),
		Threads:  v("mote_threads"),
		RxBytes:  v("mote_network_receive_bytes_total"),
		TxBytes:  v("mote_network_transmit_bytes_total"),
	}
}

// CPUPercent is the share of the guest's CPU busy between two samples, or since boot when
// prev is the zero Sample.
func CPUPercent(prev, cur Sample) float64 {
	dt := cur.Uptime - prev.Uptime
	if dt <= 0 {
		return 0
	}
	p := (cur.CPUBusy - prev.CPUBusy) / dt * 100
	return max(0, min(p, 100))
}
