package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/instance"
	"mote.dev/mote/internal/metrics"
)

type metricsOptions struct {
	addr string
}

func newMetricsCommand(c *CLI) *cobra.Command {
	var opts metricsOptions
	cmd := &cobra.Command{
		Use:   "metrics [flags] NAME | --metrics-addr [HOST:]PORT",
		Short: "Print a background instance's metrics, or serve every instance's to Prometheus",
		Long: `Metrics prints one scrape of a running background instance's metrics in Prometheus' text
format: the kernel's counters (CPU time, threads, page faults, memory, system calls by name and
their errors, the network device's bytes, packets and drops) and the Go runtime's (heap,
goroutines, GC cycles). They come from inside the guest, from mote's agent, without any change
to the app. docs/ARCHITECTURE.md lists them.

With --metrics-addr, metrics serves every running instance's metrics on
http://HOST:PORT/metrics for Prometheus to scrape, each labelled instance="NAME", with
mote_up{instance="NAME"} 1 for those that answered and 0 for those that did not. It runs
until interrupted. mote run --metrics-addr serves one guest's.`,
		Example: `  mote metrics web
  mote metrics web | grep mote_syscalls_total
  mote metrics --metrics-addr 127.0.0.1:9464`,
		Args: func(cmd *cobra.Command, args []string) error {
			if opts.addr != "" && len(args) == 0 || opts.addr == "" && len(args) == 1 {
				return nil
			}
			return &StatusError{Code: 2, Msg: "mote metrics takes one instance name (mote metrics NAME), or --metrics-addr without a name to serve them all"}
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.addr != "" {
				return serveAllMetrics(cmd.Context(), c, opts.addr)
			}
			text, err := c.askAgent(cmd.Context(), "metrics", args[0], "metrics")
			if err != nil {
				return err
			}
			if _, err := metrics.Parse(text); err != nil {
				return err
			}
			_, err = c.Out.Write(text)
			return err
		},
	}
	cmd.Flags().StringVar(&opts.addr, "metrics-addr", "", "serve every running instance's metrics on `[HOST:]PORT` (/metrics) until interrupted")
	return cmd
}

// scrapeTimeout bounds one instance's answer to a scrape.
const scrapeTimeout = 20 * time.Second

// listenMetrics listens on addr ([HOST:]PORT, host default 127.0.0.1).
func listenMetrics(addr string) (net.Listener, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort("127.0.0.1", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &StatusError{Code: exitFailure, Msg: fmt.Sprintf("--metrics-addr: %v (give a free [HOST:]PORT, e.g. 127.0.0.1:9464)", err)}
	}
	return ln, nil
}

// serveMetrics serves /metrics with what scrape returns until ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, scrape func(ctx context.Context) (metrics.Families, error)) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		fams, err := scrape(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		var b bytes.Buffer
		if err := fams.Write(&b); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", metrics.ContentType)
		w.Write(b.Bytes())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// scrapeGuest asks one guest's agent for its metrics, labelled with its name.
func scrapeGuest(ctx context.Context, name string, ask func(ctx context.Context) ([]byte, error)) (metrics.Families, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	text, err := ask(ctx)
	if err != nil {
		return nil, err
	}
	fams, err := metrics.Parse(text)
	if err != nil {
		return nil, err
	}
	fams.Label("instance", name)
	return fams, nil
}

func serveAllMetrics(ctx context.Context, c *CLI, addr string) error {
	ln, err := listenMetrics(addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Err, "mote: serving every running instance's metrics on http://%s/metrics\n", ln.Addr())
	err = serveMetrics(ctx, ln, func(ctx context.Context) (metrics.Families, error) {
		names, err := c.runningInstances()
		if err != nil {
			return nil, err
		}
		all := metrics.Families{}
		up := map[string]bool{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, name := range names {
			wg.Go(func() {
				fams, err := scrapeGuest(ctx, name, func(ctx context.Context) ([]byte, error) {
					return c.askAgent(ctx, "metrics", name, "metrics")
				})
				mu.Lock()
				defer mu.Unlock()
				up[name] = err == nil
				if err == nil {
					all.Merge(fams)
				}
			})
		}
		wg.Wait()
		all.Merge(upFamily(up))
		return all, nil
	})
	if ctx.Err() != nil {
		return interrupted(ctx)
	}
	return err
}

// upFamily is mote_up: 1 for each instance that answered the scrape, 0 for the others.
func upFamily(up map[string]bool) metrics.Families {
	if len(up) == 0 {
		return metrics.Families{} // a family without samples is not valid text
	}
	var b bytes.Buffer
	b.WriteString("# HELP mote_up Whether the instance's agent answered the scrape.\n# TYPE mote_up gauge\n")
	names := make([]string, 0, len(up))
	for n := range up {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := 0
		if up[n] {
			v = 1
		}
		fmt.Fprintf(&b, "mote_up{instance=%q} %d\n", n, v)
	}
	f, err := metrics.Parse(b.Bytes())
	if err != nil {
		return metrics.Families{} // instance names are plain: cannot happen
	}
	return f
}

// runningInstances names the background instances that run now.
func (c *CLI) runningInstances() ([]string, error) {
	store, err := c.store()
	if err != nil {
		return nil, err
	}
	list, err := store.List()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var names []string
	for _, in := range list {
		st, err := in.Load()
		if err != nil {
			continue
		}
		if instance.Live(st, now).Status == instance.Running {
			names = append(names, in.Name)
		}
	}
	return names, nil
}
