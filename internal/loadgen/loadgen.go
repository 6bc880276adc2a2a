// Package loadgen drives an HTTP server with GET requests and reports its throughput and
// latency percentiles.
//
// Two modes:
//   - closed loop (Rate 0): Concurrency workers each send a request, wait for the answer and
//     send the next, as wrk does. Throughput is what the server sustains at that concurrency.
//   - open loop (Rate > 0): requests are due at a fixed rate whether or not earlier ones were
//     answered, with at most Concurrency in flight. A request's latency counts from when it
//     was due, not when a worker got to it, so a server that falls behind shows it in the
//     percentiles instead of hiding it by slowing the sender (coordinated omission).
//
// Connections are kept alive, and opened before the clock starts (one unrecorded request
// each): the figures are about serving requests, not about opening connections. That matters
// behind QEMU's user network, where a burst of new connections leaves some waiting seconds for
// a retried SYN.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Options say what load to apply.
type Options struct {
	URL         string
	Concurrency int           // workers (closed loop) or the most requests in flight (open loop)
	Duration    time.Duration // how long to send
	Rate        float64       // requests per second; 0 for a closed loop
	Timeout     time.Duration // per request; default 10s
	// Warmup bounds the opening of the connections; default 30s. A connection that cannot be
	// opened in time is left to the measured run, where its failures count.
	Warmup time.Duration
}

// Result is what one run measured. Latencies are of successful requests only.
type Result struct {
	Concurrency int           `json:"concurrency"`
	Rate        float64       `json:"rate,omitempty"` // the open loop's target rate
	Requests    int           `json:"requests"`       // answered with a status below 500
	Errors      int           `json:"errors"`         // failed or answered 5xx
	FirstError  string        `json:"first_error,omitempty"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	RPS         float64       `json:"rps"` // Requests / Elapsed
	P50         time.Duration `json:"p50_ns"`
	P99         time.Duration `json:"p99_ns"`
	P999        time.Duration `json:"p999_ns"`
	Max         time.Duration `json:"max_ns"`
}

// Run applies the load and returns what it measured. It returns an error only for options
// it cannot use; failed requests are counted in the Result.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Concurrency < 1 {
		return Result{}, fmt.Errorf("loadgen: concurrency %d: want at least 1", o.Concurrency)
	}
	if o.Duration <= 0 {
		return Result{}, fmt.Errorf("loadgen: duration %v: want more than 0", o.Duration)
	}
	if o.Rate < 0 {
		return Result{}, fmt.Errorf("loadgen: rate %v: want 0 (closed loop) or more", o.Rate)
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Warmup == 0 {
		o.Warmup = 30 * time.Second
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: %w", err)
	}
	tr := &http.Transport{
		MaxIdleConns:        o.Concurrency,
		MaxIdleConnsPerHost: o.Concurrency,
		MaxConnsPerHost:     o.Concurrency,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: o.Timeout}

	var rec recorder
	get := func(due time.Time) {
		resp, err := client.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode >= 500 {
				err = errors.New(resp.Status)
			}
		}
		rec.add(time.Since(due), err)
	}

	warm(ctx, client, req, o.Concurrency, o.Warmup)

	start := time.Now()
	end := start.Add(o.Duration)
	var wg sync.WaitGroup
	if o.Rate == 0 {
		for range o.Concurrency {
			wg.Go(func() {
				for ctx.Err() == nil && time.Now().Before(end) {
					get(time.Now())
				}
			})
		}
	} else {
		slots := make(chan struct{}, o.Concurrency)
		interval := time.Duration(float64(time.Second) / o.Rate)
		for due := start; due.Before(end) && ctx.Err() == nil; due = due.Add(interval) {
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				continue
			}
			wg.Go(func() {
				get(due)
				<-slots
			})
		}
	}
	wg.Wait()
	r := rec.result(time.Since(start))
	r.Concurrency, r.Rate = o.Concurrency, o.Rate
	return r, ctx.Err()
}

// warm opens n connections, each with a request whose answer is held unread until all have
// one, so that the transport cannot serve two of them on one connection.
func warm(ctx context.Context, client *http.Client, req *http.Request, n int, limit time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	req = req.WithContext(ctx)
	resps := make([]*http.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				resp, err := client.Do(req)
				if err == nil {
					resps[i] = resp
					return
				}
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
			}
		})
	}
	wg.Wait()
	for _, resp := range resps {
		if resp != nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}

type recorder struct {
	mu       sync.Mutex
	lat      []time.Duration
	errs     int
	firstErr error
}

func (r *recorder) add(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.errs == 0 {
			r.firstErr = err
		}
		r.errs++
		return
	}
	r.lat = append(r.lat, d)
}

func (r *recorder) result(elapsed time.Duration) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	slices.Sort(r.lat)
	res := Result{
		Requests: len(r.lat),
		Errors:   r.errs,
		Elapsed:  elapsed,
		P50:      Percentile(r.lat, 50),
		P99:      Percentile(r.lat, 99),
		P999:     Percentile(r.lat, 99.9),
	}
	if n := len(r.lat); n > 0 {
		res.Max = r.lat[n-1]
	}
	if elapsed > 0 {
		res.RPS = float64(len(r.lat)) / elapsed.Seconds()
	}
	if r.firstErr != nil {
		res.FirstError = r.firstErr.Error()
	}
	return res
}

// Percentile is the nearest-rank p-th percentile of sorted: the smallest sample that at least
// p percent of the samples do not exceed. Exact, since every sample is kept; 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// Rank ceil(p/100 * n), computed in integers to avoid 99.9*1000 = 99899.99...
	rank := (int64(math.Round(p*1000))*int64(n) + 100_000 - 1) / 100_000
	if rank < 1 {
		rank = 1
	}
	if rank > int64(n) {
		rank = int64(n)
	}
	return sorted[rank-1]
}
