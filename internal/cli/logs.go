package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/instance"
)

type logsOptions struct {
	follow     bool
	since      string
	timestamps bool
	tail       string
	kernel     bool
}

func newLogsCommand(c *CLI) *cobra.Command {
	var opts logsOptions
	cmd := &cobra.Command{
		Use:   "logs [flags] NAME",
		Short: "Show the output of a background instance",
		Long: `Logs prints what a background instance's program wrote: its stdout on stdout and its stderr
on stderr, with the supervisor's own notes (exit statuses, restarts) on stderr as "mote: ..."
lines. The log spans every boot of the instance.

--kernel adds the kernel channel's records ("log ...", "exit N") on stderr as "kernel: ..."
lines. --since keeps entries received after a time: a duration back from now (10m, 1h30m) or an
RFC 3339 timestamp (2026-01-02T15:04:05Z).`,
		Example: `  mote logs web
  mote logs -f web
  mote logs --since 10m -t web
  mote logs -n 20 --kernel web`,
		Args: exactlyOne("logs"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogs(cmd.Context(), c, args[0], &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.follow, "follow", "f", false, "keep printing new output until the instance exits")
	f.StringVar(&opts.since, "since", "", "show entries since a `TIME`: a duration such as 10m, or an RFC 3339 timestamp")
	f.BoolVarP(&opts.timestamps, "timestamps", "t", false, "show when each line arrived")
	f.StringVarP(&opts.tail, "tail", "n", "all", "show the last `N` lines only")
	f.BoolVar(&opts.kernel, "kernel", false, "include the kernel channel's records")
	return cmd
}

// exactlyOne is cobra.ExactArgs(1) with a message that names the command.
func exactlyOne(cmd string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return &StatusError{Code: 2, Msg: fmt.Sprintf("%s takes one instance name (mote ps -a lists them)", cmd)}
		}
		return nil
	}
}

// followPoll is how often logs -f looks for new entries.
const followPoll = 200 * time.Millisecond

func runLogs(ctx context.Context, c *CLI, name string, opts *logsOptions) error {
	var since time.Time
	if opts.since != "" {
		if d, err := time.ParseDuration(opts.since); err == nil {
			since = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339Nano, opts.since); err == nil {
			since = t
		} else {
			return &StatusError{Code: 2, Msg: fmt.Sprintf("--since %s: use a duration (10m, 2h) or an RFC 3339 time (2026-01-02T15:04:05Z)", opts.since)}
		}
	}
	tail := -1
	if opts.tail != "all" {
		n, err := strconv.Atoi(opts.tail)
		if err != nil || n < 0 {
			return &StatusError{Code: 2, Msg: fmt.Sprintf("--tail %s: want a number of lines, or all", opts.tail)}
		}
		tail = n
	}
	in, _, err := c.lookup("logs", name)
	var ce *instance.CorruptError
	switch {
	case in != nil && errors.As(err, &ce):
		// The log may well be intact: show it, but nothing tells when it ends.
		fmt.Fprintf(c.Err, "mote: %v; showing its log as it is\n", err)
		opts.follow = false
	case err != nil:
		return &StatusError{Code: exitFailure, Msg: err.Error()}
	}
	r := instance.OpenLogReader(in.Path(instance.LogFile))
	defer r.Close()
	keep := func(e instance.Entry) bool {
		if e.Time.Before(since) {
			return false
		}
		return e.Stream == instance.Stdout || e.Stream == instance.Stderr || opts.kernel && e.Stream == instance.Kernel
	}
	// What is there now, cut to the tail.
	var backlog []instance.Entry
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if !keep(e) {
			continue
		}
		backlog = append(backlog, e)
		if tail >= 0 && len(backlog) > tail {
			backlog = backlog[1:]
		}
	}
	for _, e := range backlog {
		c.printEntry(e, opts.timestamps)
	}
	if !opts.follow {
		return nil
	}
	for {
		// Checked before reading, so that what was written before the exit is printed.
		st, lerr := in.Load()
		done := lerr != nil || instance.Settled(st, time.Now())
		for {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if keep(e) {
				c.printEntry(e, opts.timestamps)
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return interrupted(ctx)
		case <-time.After(followPoll):
		}
	}
}

func (c *CLI) printEntry(e instance.Entry, timestamps bool) {
	w := c.Out
	prefix := ""
	switch e.Stream {
	case instance.Stderr:
		w = c.Err
	case instance.Kernel:
		w, prefix = c.Err, "kernel: "
	}
	b := make([]byte, 0, len(e.Text)+48)
	if timestamps {
		b = append(b, e.Time.Format(time.RFC3339Nano)...)
		b = append(b, ' ')
	}
	b = append(b, prefix...)
	b = append(b, e.Text...)
	if !e.Partial {
		b = append(b, '\n')
	}
	w.Write(b)
}
