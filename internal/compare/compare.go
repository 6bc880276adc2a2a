// Package compare runs one app several ways on this machine (a host process, a container, a
// Linux VM, a mote unikernel), one at a time, and measures each the same way: artifact size,
// time from start to ready, host memory, throughput and latency under load, and the smallest
// memory it serves in.
//
// Each way is a Way; Run measures them in order and returns a Report, which renders as a
// terminal table, JSON and a self-contained HTML page (report.go, html.go). A way whose
// prerequisites are missing returns a *SkipError from Prepare and its row says why and how to
// install what is missing; a way that fails gets its error in its row. Neither stops the
// others.
package compare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"mote.dev/mote/internal/loadgen"
)

// A Way runs the app one way.
type Way interface {
	Name() string
	// Prepare makes the artifact the way runs and reports it; a *SkipError when a
	// prerequisite is missing.
	Prepare(ctx context.Context) (Artifact, error)
	// Start starts one instance of the app.
	Start(ctx context.Context, s StartOptions) (*Instance, error)
	// Close removes what Prepare made.
	Close() error
}

// A MemoryLimiter is a Way whose Start honours StartOptions.MemoryMiB, so the smallest
// memory the app serves in can be found by bisection between lo and hi MiB; how says what
// is limited, err why nothing can be here.
type MemoryLimiter interface {
	MemoryRange() (lo, hi int, how string, err error)
}

// Artifact is what a way deploys.
type Artifact struct {
	Bytes int64
	Note  string // what it holds
	// KernelBytes is the part of Bytes that is a Linux kernel, for the targets' sums.
	KernelBytes int64
}

// StartOptions say how to start one instance.
type StartOptions struct {
	// HostPort is a free port on 127.0.0.1 to publish the app's port on, if the way
	// publishes (a process listens on the app's own port).
	HostPort int
	// MemoryMiB limits the instance's memory; 0 means the way's default.
	MemoryMiB int
}

// SkipError says that a way cannot run here, and what would let it.
type SkipError struct {
	Reason string
	Fix    string // a command or step that installs what is missing
}

func (e *SkipError) Error() string {
	if e.Fix == "" {
		return "skipped: " + e.Reason
	}
	return "skipped: " + e.Reason + " (" + e.Fix + ")"
}

// Options say what to measure.
type Options struct {
	// Port is the app's TCP port; 0 means it has none and is ready at its first line of
	// output, with no load to apply.
	Port         int
	Concurrency  []int         // closed-loop runs, one per value
	Duration     time.Duration // of each load run
	Rate         float64       // an open-loop run at this rate as well, with up to the largest Concurrency in flight; 0 for none
	ReadyTimeout time.Duration // how long an instance may take to become ready
	Boots        int           // start → ready is the median of this many boots; default 1
	MinMemory    bool          // bisect the smallest memory of ways that can be limited
	Log          io.Writer     // progress; nil for none
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// Run measures each way in order, one at a time, and closes it.
func Run(ctx context.Context, ways []Way, o Options) []Row {
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 2 * time.Minute
	}
	rows := make([]Row, 0, len(ways))
	for _, w := range ways {
		row := measure(ctx, w, o)
		w.Close()
		switch {
		case row.Skipped != "":
			o.logf("%s: %s", row.Name, row.Skipped)
		case row.Error != "":
			o.logf("%s: failed: %s", row.Name, row.Error)
		}
		rows = append(rows, row)
		if ctx.Err() != nil {
			break
		}
	}
	return rows
}

// measure fills one row. Its error, if any, goes into the row: what was measured before it
// stays.
func measure(ctx context.Context, w Way, o Options) Row {
	row := Row{Name: w.Name()}
	o.logf("%s: preparing", row.Name)
	art, err := w.Prepare(ctx)
	var skip *SkipError
	if errors.As(err, &skip) {
		row.Skipped = skip.Error()
		return row
	}
	if err != nil {
		row.Error = err.Error()
		return row
	}
	row.ArtifactBytes, row.ArtifactNote, row.KernelBytes = art.Bytes, art.Note, art.KernelBytes

	if err := serve(ctx, w, o, &row); err != nil {
		row.Error = err.Error()
		return row
	}
	if ml, ok := w.(MemoryLimiter); ok && o.MinMemory {
		lo, hi, how, err := ml.MemoryRange()
		if err != nil {
			row.MinMemoryHow = "not measured: " + err.Error()
			return row
		}
		row.MinMemoryHow = how
		probe := func(mib int) bool {
			err := probeMemory(ctx, w, o, mib)
			o.logf("%s: %d MiB: %s", row.Name, mib, okOr(err))
			return err == nil
		}
		row.MinMemoryMiB, err = Smallest(lo, hi, probe)
		if err != nil {
			row.MinMemoryHow = err.Error()
		}
	}
	return row
}

func okOr(err error) string {
	if err == nil {
		return "serves"
	}
	return "fails: " + firstLine(err.Error())
}

// serve starts one instance, waits until it is ready, loads it and stops it.
func serve(ctx context.Context, w Way, o Options, row *Row) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	// Every boot but the last is only timed; the last one is loaded.
	var inst *Instance
	for n := range max(o.Boots, 1) {
		if inst != nil {
			inst.Stop()
		}
		o.logf("%s: starting", row.Name)
		start := time.Now()
		if inst, err = w.Start(ctx, StartOptions{HostPort: port}); err != nil {
			return err
		}
		if err := waitReady(ctx, inst, o); err != nil {
			inst.Stop()
			return err
		}
		row.ReadyRuns = append(row.ReadyRuns, time.Since(start))
		o.logf("%s: ready after %v", row.Name, row.ReadyRuns[n].Round(time.Millisecond))
	}
	defer inst.Stop()
	row.Ready = median(row.ReadyRuns)
	row.RSSReady, _ = RSS(inst.waitPID(2 * time.Second))
	if o.Port == 0 {
		row.RSSPeak = peakRSS(inst)
		return nil
	}
	url := "http://" + inst.Addr + "/"
	runs := make([]loadgen.Options, 0, len(o.Concurrency)+1)
	for _, c := range o.Concurrency {
		runs = append(runs, loadgen.Options{URL: url, Concurrency: c, Duration: o.Duration})
	}
	if o.Rate > 0 {
		c := 1
		for _, n := range o.Concurrency {
			c = max(c, n)
		}
		runs = append(runs, loadgen.Options{URL: url, Concurrency: c, Duration: o.Duration, Rate: o.Rate})
	}
	for _, lo := range runs {
		r, err := loadgen.Run(ctx, lo)
		if err != nil {
			return err
		}
		how := fmt.Sprintf("%d connections", r.Concurrency)
		if r.Rate > 0 {
			how = fmt.Sprintf("%g req/s offered", r.Rate)
		}
		o.logf("%s: %s: %.0f req/s, p50 %v, p99 %v, p99.9 %v, %d failed", row.Name, how,
			r.RPS, r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.P999.Round(time.Microsecond), r.Errors)
		select {
		case <-inst.Done():
			return fmt.Errorf("it exited under load (%s); last output:\n%s", inst.ended(), inst.Output.Tail())
		default:
		}
		if lo.Rate > 0 {
			row.Open = &r
		} else {
			row.Load = append(row.Load, r)
		}
		row.RSSPeak = peakRSS(inst)
	}
	return nil
}

func peakRSS(inst *Instance) int64 {
	_, peak := RSS(inst.PID())
	return peak
}

// waitReady waits for the first HTTP response on the instance's address (any status but
// 5xx), or without a port for its first line of output.
//
// A probe that reaches a VM's published port before the guest is up is accepted by the
// network on the host and then held, not refused, until the guest answers or never does. So probes do not wait for
// each other: a new one starts every probeEvery, up to maxProbes at a time, each given
// probeTimeout, and the first answer ends the wait.
func waitReady(ctx context.Context, inst *Instance, o Options) error {
	const (
		probeEvery   = 20 * time.Millisecond
		probeTimeout = time.Second
		maxProbes    = int(probeTimeout / probeEvery)
	)
	ctx, cancel := context.WithTimeout(ctx, o.ReadyTimeout)
	defer cancel()
	ready := make(chan struct{})
	var once sync.Once
	slots := make(chan struct{}, maxProbes)
	client := &http.Client{Timeout: probeTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	url := "http://" + inst.Addr + "/"
	probe := func() {
		defer func() { <-slots }()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 500 {
			once.Do(func() { close(ready) })
		}
	}
	if o.Port == 0 {
		ready = nil // never closed: the first line says it
	}
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ready:
			return nil
		case <-inst.Output.FirstLine():
			if o.Port == 0 {
				return nil
			}
		case <-inst.Done():
			if o.Port == 0 && closed(inst.Output.FirstLine()) {
				return nil // it printed its line and ended: a command, not a server
			}
			return fmt.Errorf("it exited before it was ready (%s); last output:\n%s", inst.ended(), inst.Output.Tail())
		case <-ctx.Done():
			if err := context.Cause(ctx); !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			what := fmt.Sprintf("an HTTP response on port %d", o.Port)
			if o.Port == 0 {
				what = "a line of output"
			}
			return fmt.Errorf("timeout: not ready after %v (waited for %s); last output:\n%s", o.ReadyTimeout, what, inst.Output.Tail())
		case <-tick.C:
			if o.Port != 0 {
				select {
				case slots <- struct{}{}:
					go probe()
				default:
				}
			}
		}
	}
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// probeMemory starts an instance limited to mib MiB and checks that it becomes ready and,
// with a port, answers a second of load at concurrency 8 without an error.
func probeMemory(ctx context.Context, w Way, o Options, mib int) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	inst, err := w.Start(ctx, StartOptions{HostPort: port, MemoryMiB: mib})
	if err != nil {
		return err
	}
	defer inst.Stop()
	po := o
	po.ReadyTimeout = min(o.ReadyTimeout, time.Minute)
	if err := waitReady(ctx, inst, po); err != nil {
		return err
	}
	if o.Port == 0 {
		return nil
	}
	r, err := loadgen.Run(ctx, loadgen.Options{URL: "http://" + inst.Addr + "/", Concurrency: 8, Duration: time.Second})
	if err != nil {
		return err
	}
	if r.Errors > 0 || r.Requests == 0 {
		return fmt.Errorf("%d of %d requests failed (%s)", r.Errors, r.Errors+r.Requests, r.FirstError)
	}
	select {
	case <-inst.Done():
		return fmt.Errorf("it exited under load (%s)", inst.ended())
	default:
	}
	return nil
}

// Smallest bisects [lo, hi] MiB for the smallest memory at which ok holds, assuming it holds
// for every value above that one. bench/boot uses it too.
func Smallest(lo, hi int, ok func(int) bool) (int, error) {
	if lo > hi {
		return 0, fmt.Errorf("empty range %d..%d", lo, hi)
	}
	if !ok(hi) {
		return 0, fmt.Errorf("fails even at %d MiB", hi)
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi, nil
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

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// Host describes this machine for the report.
func Host() string {
	name, _ := os.Hostname()
	return fmt.Sprintf("%s: %s", name, cpuModel())
}
