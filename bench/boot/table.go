package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// table renders the results as markdown: one column per side.
func table(o options, sides []side, results []result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "QEMU -M %s -accel %s, -m %d for the timed runs; medians of %d boots (min–max)\n\n", o.machine, o.accel, o.memory, o.runs)
	b.WriteString("| |")
	for _, s := range sides {
		b.WriteString(" " + s.name + " |")
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---|", len(sides)))
	row := func(name string, cell func(i int) string) {
		b.WriteString("\n| " + name + " |")
		for i := range sides {
			b.WriteString(" " + cell(i) + " |")
		}
	}
	row("start → first output", func(i int) string { return spread(results[i].firstOutput) })
	row("start → exit", func(i int) string { return spread(results[i].exit) })
	row("artifact size", func(i int) string {
		if sides[i].artifact == 0 {
			return "?"
		}
		return fmt.Sprintf("%s (%s)", mib(sides[i].artifact), sides[i].note)
	})
	if o.minMem {
		row("smallest -m that boots", func(i int) string {
			if err := results[i].minMemoryErr; err != nil {
				return "— (" + err.Error() + ")"
			}
			return fmt.Sprintf("%d MiB", results[i].minMemory)
		})
	}
	b.WriteString("\n")
	return b.String()
}

// spread is "median (min–max)" in seconds.
func spread(d []time.Duration) string {
	if len(d) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f s (%.2f–%.2f)", median(d).Seconds(), slices.Min(d).Seconds(), slices.Max(d).Seconds())
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
