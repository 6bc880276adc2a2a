package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"mote.dev/mote/internal/metrics"
)

type statsOptions struct {
	noStream bool
	interval time.Duration
}

func newStatsCommand(c *CLI) *cobra.Command {
	var opts statsOptions
	cmd := &cobra.Command{
		Use:   "stats [--no-stream] [NAME...]",
		Short: "Show running instances' resource usage live",
		Long: `Stats shows what running background instances use, refreshed every two seconds, like
docker stats: the guest's CPU (busy time over the last interval; one vCPU is 100%), its memory
in use and the RAM it was given, the memory Go's runtime has mapped, the threads of its kernel
and the bytes its network device received and sent. The numbers come from inside the guest
(mote metrics NAME has them all). Without NAMEs it shows every running instance. --no-stream
prints one table and exits.`,
		Example: `  mote stats
  mote stats --no-stream web db`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStats(cmd.Context(), c, &opts, args)
		},
	}
	cmd.Flags().BoolVar(&opts.noStream, "no-stream", false, "print one table and exit")
	cmd.Flags().DurationVar(&opts.interval, "interval", 2*time.Second, "time between refreshes")
	cmd.Flags().MarkHidden("interval")
	return cmd
}

type statsRow struct {
	name   string
	err    error
	cur    metrics.Sample
	prev   metrics.Sample
	havePr bool
}

func runStats(ctx context.Context, c *CLI, opts *statsOptions, names []string) error {
	if opts.interval < 500*time.Millisecond {
		opts.interval = 500 * time.Millisecond
	}
	for _, n := range names {
		if _, _, err := c.lookup("stats", n); err != nil {
			return err
		}
	}
	prev := map[string]metrics.Sample{}
	clear := isTerminal(c.Out) && !opts.noStream
	for round := 0; ; round++ {
		list := names
		if len(list) == 0 {
			var err error
			if list, err = c.runningInstances(); err != nil {
				return err
			}
		}
		rows := c.sampleAll(ctx, list, prev)
		// --no-stream: a second sample for a CPU share of now, not since boot.
		if opts.noStream && round == 0 {
			for _, r := range rows {
				if r.err == nil {
					prev[r.name] = r.cur
				}
			}
			if !sleepCtx(ctx, time.Second) {
				return interrupted(ctx)
			}
			continue
		}
		if clear {
			io.WriteString(c.Out, "\033[2J\033[H")
		}
		printStats(c.Out, rows)
		if opts.noStream {
			return nil
		}
		for _, r := range rows {
			if r.err == nil {
				prev[r.name] = r.cur
			}
		}
		if !sleepCtx(ctx, opts.interval) {
			return nil // Ctrl-C ends a live view, as for docker stats
		}
	}
}

// sampleAll scrapes the instances concurrently.
func (c *CLI) sampleAll(ctx context.Context, names []string, prev map[string]metrics.Sample) []statsRow {
	rows := make([]statsRow, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		rows[i].name = name
		rows[i].prev, rows[i].havePr = prev[name]
		wg.Go(func() {
			fams, err := scrapeGuest(ctx, name, func(ctx context.Context) ([]byte, error) {
				return c.askAgent(ctx, "stats", name, "metrics")
			})
			if err != nil {
				rows[i].err = err
				return
			}
			rows[i].cur = metrics.Summarize(fams)
		})
	}
	wg.Wait()
	return rows
}

func printStats(w io.Writer, rows []statsRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tGO MEM\tTHREADS\tNET I/O")
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(tw, "%s\t--\t-- / --\t--\t--\t--\t-- (%v)\n", r.name, oneLine(r.err.Error()))
			continue
		}
		s := r.cur
		used := s.MemTotal - s.MemFree
		memPct := 0.0
		if s.MemTotal > 0 {
			memPct = used / s.MemTotal * 100
		}
		var prev metrics.Sample
		if r.havePr {
			prev = r.prev
		}
		fmt.Fprintf(tw, "%s\t%.2f%%\t%s / %s\t%.2f%%\t%s\t%.0f\t%s / %s\n", r.name,
			metrics.CPUPercent(prev, s), humanBytes(int64(used)), humanBytes(int64(s.MemTotal)), memPct,
			humanBytes(int64(s.GoMemory)), s.Threads, humanSI(s.RxBytes), humanSI(s.TxBytes))
	}
	tw.Flush()
}

// humanSI writes a byte count as docker stats does for network I/O: decimal units.
func humanSI(n float64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.3gGB", n/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.3gMB", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.3gkB", n/1e3)
	}
	return fmt.Sprintf("%.0fB", n)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// isTerminal reports whether w is a terminal, where a live view redraws in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
