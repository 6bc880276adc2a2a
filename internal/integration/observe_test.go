package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestObserve boots a server in the background and watches it from the host, as an operator
// would: mote metrics parses with Prometheus' own parser and its counters grow under load,
// --metrics-addr serves the same labelled by instance, mote stats shows it, and the profiles
// mote pprof fetches open with go tool pprof; gdb attaches to it and lets it go.
func TestObserve(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	ctx := timeout(t)
	m := &moteCmd{t: t, bin: buildMote(t), stateDir: t.TempDir()}
	port, mport := freePort(t, "tcp"), freePort(t, "tcp")
	const name = "obs"
	if r := m.run(ctx, "run", "-d", "--name", name, "-p", fmt.Sprintf("127.0.0.1:%d:8080", port),
		"--metrics-addr", fmt.Sprintf("127.0.0.1:%d", mport), prog(t, "observe")); r.code != 0 {
		t.Fatalf("run -d: exit %d\n%s", r.code, r.stderr)
	}
	defer m.run(context.Background(), "rm", "-f", name)

	client := &http.Client{Timeout: time.Minute}
	get := func(url string) (string, error) {
		resp, err := client.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s: %s: %s", url, resp.Status, b)
		}
		return string(b), err
	}
	app := fmt.Sprintf("http://127.0.0.1:%d/", port)
	waitFor(t, 5*time.Minute, "the server to answer", func() bool { _, err := get(app); return err == nil })

	scrape := func() map[string]*dto.MetricFamily {
		t.Helper()
		r := m.run(ctx, "metrics", name)
		if r.code != 0 {
			t.Fatalf("mote metrics: exit %d\n%s", r.code, r.stderr)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(r.stdout))
		if err != nil {
			t.Fatalf("expfmt cannot parse mote metrics: %v\n%s", err, r.stdout)
		}
		return fams
	}
	before := scrape()

	load := func(n int) {
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				for range n / 4 {
					if _, err := get(app); err != nil {
						t.Errorf("request %d: %v", i, err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	load(100)
	after := scrape()

	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"mote_syscalls_total", nil},
		{"mote_syscalls_total", []string{"name", "write"}},
		{"mote_syscall_errors_total", nil}, // EAGAIN from non-blocking sockets, at least
		{"mote_cpu_seconds_total", []string{"mode", "busy"}},
		{"mote_page_faults_total", nil},
		{"mote_network_receive_bytes_total", nil},
		{"mote_network_receive_packets_total", nil},
		{"mote_network_transmit_bytes_total", nil},
		{"go_heap_allocs_bytes_total", nil},
		{"mote_uptime_seconds", nil},
	} {
		b, a := value(t, before, c.name, c.labels), value(t, after, c.name, c.labels)
		if !(a > b) {
			t.Errorf("%s%v did not grow under load: %v then %v", c.name, c.labels, b, a)
		}
	}
	for _, g := range []string{"mote_threads", "mote_memory_total_bytes", "mote_memory_free_bytes", "go_heap_objects_bytes", "go_goroutines"} {
		if v := value(t, after, g, nil); v <= 0 {
			t.Errorf("%s = %v", g, v)
		}
	}
	if free, total := value(t, after, "mote_memory_free_bytes", nil), value(t, after, "mote_memory_total_bytes", nil); free >= total {
		t.Errorf("free memory %v not below the total %v", free, total)
	}

	// The Prometheus endpoint: the same metrics, labelled by instance.
	body, err := get(fmt.Sprintf("http://127.0.0.1:%d/metrics", mport))
	if err != nil {
		t.Fatalf("--metrics-addr: %v", err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	served, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("expfmt cannot parse --metrics-addr's answer: %v\n%s", err, body)
	}
	if v := value(t, served, "mote_syscalls_total", []string{"instance", name}); v < value(t, after, "mote_syscalls_total", nil) {
		t.Errorf("served mote_syscalls_total{instance=%q} = %v, below the earlier scrape's", name, v)
	}

	if r := m.run(ctx, "stats", "--no-stream"); r.code != 0 || !regexp.MustCompile(`(?m)^`+name+`\s+\d+\.\d+%\s+\S+ / \S+`).MatchString(r.stdout) {
		t.Errorf("mote stats --no-stream: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	dir := t.TempDir()
	heap := filepath.Join(dir, "heap.pb.gz")
	if r := m.run(ctx, "pprof", "--heap", "-o", heap, name); r.code != 0 {
		t.Fatalf("mote pprof --heap: exit %d\n%s", r.code, r.stderr)
	}
	// The handler keeps 64 KiB buffers: they are live heap, allocated in main.retain.
	if top := pprofTop(t, heap); !strings.Contains(top, "main.retain") {
		t.Errorf("the heap profile lacks main.retain:\n%s", top)
	}

	// A CPU profile while the server works: SIGPROF from the kernel's ITIMER_PROF.
	cpu := filepath.Join(dir, "cpu.pb.gz")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				get(app)
			}
		}
	})
	r := m.run(ctx, "pprof", "--cpu", "5", "-o", cpu, name)
	close(stop)
	wg.Wait()
	if r.code != 0 {
		t.Fatalf("mote pprof --cpu: exit %d\n%s", r.code, r.stderr)
	}
	top := pprofTop(t, cpu)
	if regexp.MustCompile(`Total samples = 0\b`).MatchString(top) || !strings.Contains(top, "sha256") {
		t.Errorf("the CPU profile has no samples of the handler's hashing:\n%s", top)
	}

	// gdb attached to the running instance sees its goroutines; after it detaches the
	// server goes on.
	if _, err := exec.LookPath("gdb"); err == nil {
		r := m.run(ctx, "debug", "--batch", "--ex", "info goroutines", "--ex", "goroutine 1 bt", name)
		if r.code != 0 || len(regexp.MustCompile(`(?m)^\*?\s+\d+ (waiting|runnable|running|syscall)\s`).FindAllString(r.stdout, -1)) < 3 ||
			!strings.Contains(r.stdout, "main.main") {
			t.Errorf("mote debug %s: exit %d\n%s\n%s", name, r.code, r.stdout, r.stderr)
		}
		if _, err := get(app); err != nil {
			t.Errorf("the server does not answer after gdb detached: %v", err)
		}
	}
}

// value is the sum of a family's samples that have the given labels.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels []string) float64 {
	t.Helper()
	mf := fams[name]
	if mf == nil {
		t.Fatalf("no metric %s", name)
	}
	sum, found := 0.0, false
	for _, m := range mf.Metric {
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			has := false
			for _, l := range m.Label {
				has = has || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
			}
			ok = ok && has
		}
		if !ok {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		}
	}
	if !found {
		t.Fatalf("no metric %s%v", name, labels)
	}
	return sum
}

// pprofTop runs go tool pprof -top on a profile.
func pprofTop(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command("go", "tool", "pprof", "-top", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		st, _ := os.Stat(path)
		t.Fatalf("go tool pprof -top %s: %v (file %v)\n%s", path, err, st, out.String())
	}
	return out.String()
}
