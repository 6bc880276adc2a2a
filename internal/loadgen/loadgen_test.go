package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// service is the fixed time the test server takes per request, and slack what the
// latencies may exceed it by: a loaded two-core machine delays a goroutine now and then.
const (
	service = 20 * time.Millisecond
	slack   = 30 * time.Millisecond
)

// sleepServer counts the requests it serves and the connections it accepts.
func sleepServer(t *testing.T) (srv *httptest.Server, requests, conns *atomic.Int64) {
	requests, conns = new(atomic.Int64), new(atomic.Int64)
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		time.Sleep(service)
		w.Write([]byte("ok\n"))
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, requests, conns
}

// latencyError says which percentile of r falls outside [service, service+slack].
func latencyError(r Result) error {
	if r.Errors != 0 {
		return fmt.Errorf("%d errors, first: %s", r.Errors, r.FirstError)
	}
	for _, p := range []struct {
		name string
		d    time.Duration
	}{{"p50", r.P50}, {"p99", r.P99}, {"p99.9", r.P999}} {
		if p.d < service || p.d > service+slack {
			return fmt.Errorf("%s = %v, want within [%v, %v]", p.name, p.d, service, service+slack)
		}
	}
	return nil
}

// measure runs o against a fresh test server and checks the latencies.
//
// Other work on a shared machine (a parallel go test ./..., QEMU) can stop this process for
// longer than the slack, and that delay lands in some request's latency. So a watcher notes
// the longest the process was kept from running during the run (how late a 1 ms sleep wakes):
// latencies outside the bounds fail the test only if the process was not held up by more
// than half the slack; otherwise the run proves nothing and is tried again.
func measure(t *testing.T, o Options) (r Result, requests, conns int64) {
	t.Helper()
	const tries = 10
	var stalls []time.Duration
	for range tries {
		srv, served, opened := sleepServer(t)
		o.URL = srv.URL
		stop := make(chan struct{})
		stalled := make(chan time.Duration)
		go func() {
			var worst time.Duration
			for {
				select {
				case <-stop:
					stalled <- worst
					return
				default:
				}
				start := time.Now()
				time.Sleep(time.Millisecond)
				worst = max(worst, time.Since(start)-time.Millisecond)
			}
		}()
		var err error
		r, err = Run(context.Background(), o)
		close(stop)
		stall := <-stalled
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v, longest stall %v", r, stall)
		err = latencyError(r)
		if err == nil {
			return r, served.Load(), opened.Load()
		}
		if stall <= slack/2 {
			t.Fatalf("%v, with no stall of the process longer than %v", err, stall)
		}
		stalls = append(stalls, stall)
	}
	t.Skipf("the machine held this process up in every one of %d runs (longest stalls %v): too busy to judge latencies", tries, stalls)
	return
}

func TestClosedLoop(t *testing.T) {
	r, served, conns := measure(t, Options{Concurrency: 4, Duration: time.Second})
	// Four workers, each at most one request per service time.
	if max := 4 * float64(time.Second) / float64(service); r.RPS > max*1.05 || r.RPS < max/3 {
		t.Errorf("%.0f req/s, want about %.0f", r.RPS, max)
	}
	// One unrecorded request per connection opens it; then the connections are kept.
	if int64(r.Requests)+4 != served || conns != 4 {
		t.Errorf("counted %d requests, server saw %d on %d connections", r.Requests, served, conns)
	}
}

func TestOpenLoop(t *testing.T) {
	r, served, conns := measure(t, Options{Concurrency: 8, Duration: time.Second, Rate: 50})
	if r.Requests != 50 || int64(r.Requests)+8 != served || conns != 8 {
		t.Errorf("%d requests (server saw %d on %d connections), want 50 at 50/s for 1s", r.Requests, served, conns)
	}
}

// TestOpenLoopCountsQueueing: one request in flight at a time against a server that needs
// 20 ms each, asked for 100/s: requests wait for each other, and the latency says so.
func TestOpenLoopCountsQueueing(t *testing.T) {
	srv, _, _ := sleepServer(t)
	r, err := Run(context.Background(), Options{URL: srv.URL, Concurrency: 1, Duration: time.Second, Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	if r.P99 < 10*service {
		t.Errorf("p99 %v: the queue behind a saturated server is not counted", r.P99)
	}
}

func TestErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	r, err := Run(context.Background(), Options{URL: srv.URL, Concurrency: 2, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 0 || r.Errors == 0 || r.FirstError != "503 Service Unavailable" {
		t.Errorf("%+v", r)
	}
	if _, err := Run(context.Background(), Options{URL: srv.URL, Concurrency: 0, Duration: time.Second}); err == nil {
		t.Error("concurrency 0 accepted")
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 1000; i++ {
		s = append(s, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 500}, {99, 990}, {99.9, 999}, {100, 1000}, {0, 1}} {
		if got := Percentile(s, c.p); got != c.want {
			t.Errorf("p%v = %d, want %d", c.p, got, c.want)
		}
	}
	if Percentile(nil, 50) != 0 || Percentile(s[:1], 99.9) != 1 {
		t.Error("edge cases")
	}
}
