package strace

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Count is the kernel's tally of one system call ("sum" records, sent at exit).
type Count struct {
	Nr     int
	Calls  int64
	Errors int64
	Time   time.Duration // from entry to result, summed
}

// ParseCount parses the text of a "sum" record: NR CALLS ERRORS NS.
func ParseCount(text string) (Count, error) {
	f := strings.Fields(text)
	if len(f) != 4 {
		return Count{}, fmt.Errorf("sum record %q: want NR CALLS ERRORS NS", text)
	}
	var n [4]int64
	for i, s := range f {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return Count{}, fmt.Errorf("sum record %q: %q is not a count", text, s)
		}
		n[i] = v
	}
	return Count{Nr: int(n[0]), Calls: n[1], Errors: n[2], Time: time.Duration(n[3])}, nil
}

// WriteSummary prints counts as strace -c does: time share, seconds, microseconds per call,
// calls and errors for each system call, the most time first, and a total.
func WriteSummary(w io.Writer, counts []Count) error {
	counts = slices.Clone(counts)
	slices.SortFunc(counts, func(a, b Count) int {
		if c := cmp.Compare(b.Time, a.Time); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Calls, a.Calls); c != 0 {
			return c
		}
		return cmp.Compare(Name(a.Nr), Name(b.Nr))
	})
	var total Count
	for _, c := range counts {
		total.Calls += c.Calls
		total.Errors += c.Errors
		total.Time += c.Time
	}
	const rule = "------ ----------- ----------- --------- --------- ----------------\n"
	var b strings.Builder
	b.WriteString("% time     seconds  usecs/call     calls    errors syscall\n")
	b.WriteString(rule)
	line := func(c Count, name string, perCall bool) {
		share := 0.0
		if total.Time > 0 {
			share = 100 * float64(c.Time) / float64(total.Time)
		}
		usecs := ""
		if perCall && c.Calls > 0 {
			usecs = strconv.FormatInt(c.Time.Microseconds()/c.Calls, 10)
		}
		errs := ""
		if c.Errors > 0 {
			errs = strconv.FormatInt(c.Errors, 10)
		}
		fmt.Fprintf(&b, "%6.2f %11.6f %11s %9d %9s %s\n", share, c.Time.Seconds(), usecs, c.Calls, errs, name)
	}
	for _, c := range counts {
		line(c, Name(c.Nr), true)
	}
	b.WriteString(rule)
	line(total, "total", false)
	_, err := io.WriteString(w, b.String())
	return err
}
