package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/instance"
	"mote.dev/mote/internal/usernet"
)

type psOptions struct {
	all    bool
	quiet  bool
	format string
}

func newPsCommand(c *CLI) *cobra.Command {
	var opts psOptions
	cmd := &cobra.Command{
		Use:   "ps [flags]",
		Short: "List background instances",
		Long: `Ps lists the instances started with mote run -d: running ones, or all of them with -a.

STATUS says how long a guest has been up, or when and how it exited; an instance whose QEMU or
supervisor is gone shows as exited, whatever it last recorded. MEMORY is the resident memory
of its QEMU process on the host (guest RAM it has touched, plus QEMU's own), not the guest's -m.

--format json prints one JSON object per instance and line, with the fields name, image,
state, status, exitCode, error, started, uptimeSeconds, restarts, ports, memory (the guest's
RAM) and rssBytes.`,
		Example: `  mote ps
  mote ps -a
  mote ps -a --format json
  mote ps -q`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runPs(c, &opts) },
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "show all instances (default: running ones)")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "print names only")
	f.StringVar(&opts.format, "format", "table", "output `FORMAT`: table or json")
	return cmd
}

// psEntry is one instance as ps and inspect report it.
type psEntry struct {
	Name      string   `json:"name"`
	Image     string   `json:"image"`
	State     string   `json:"state"`
	Status    string   `json:"status"`
	ExitCode  *int     `json:"exitCode,omitempty"`
	Error     string   `json:"error,omitempty"`
	Started   string   `json:"started,omitempty"`
	Uptime    float64  `json:"uptimeSeconds"`
	Restarts  int      `json:"restarts"`
	Ports     []string `json:"ports"`
	Memory    string   `json:"memory,omitempty"`
	RSS       int64    `json:"rssBytes"`
	corrupted bool
}

func runPs(c *CLI, opts *psOptions) error {
	if opts.format != "table" && opts.format != "json" {
		return &StatusError{Code: 2, Msg: fmt.Sprintf("--format %s: use table or json", opts.format)}
	}
	store, err := c.store()
	if err != nil {
		return err
	}
	list, err := store.List()
	if err != nil {
		return err
	}
	now := time.Now()
	var rows []psEntry
	for _, in := range list {
		e := describe(in, now)
		if !opts.all && (e.corrupted || e.State == instance.Exited) {
			continue
		}
		rows = append(rows, e)
	}
	switch {
	case opts.quiet:
		for _, e := range rows {
			fmt.Fprintln(c.Out, e.Name)
		}
	case opts.format == "json":
		enc := json.NewEncoder(c.Out)
		for _, e := range rows {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
	default:
		w := tabwriter.NewWriter(c.Out, 0, 4, 3, ' ', 0)
		fmt.Fprintln(w, "NAME\tIMAGE\tSTATUS\tPORTS\tMEMORY")
		for _, e := range rows {
			mem := "-"
			if e.RSS > 0 {
				mem = humanBytes(e.RSS)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.Name, e.Image, e.Status, portsColumn(e.Ports), mem)
		}
		w.Flush()
	}
	return nil
}

// describe reads one instance for ps; an unreadable state file becomes a row that says so.
func describe(in *instance.Instance, now time.Time) psEntry {
	st, err := in.Load()
	if err != nil {
		var ce *instance.CorruptError
		msg := err.Error()
		if errors.As(err, &ce) {
			msg = "state file unreadable"
		}
		return psEntry{Name: in.Name, Image: "?", State: "unknown", Status: msg + "; mote rm " + in.Name + " removes it", Error: err.Error(), Ports: []string{}, corrupted: true}
	}
	v := instance.Live(st, now)
	e := psEntry{Name: v.Name, Image: v.Image, State: v.Status, Error: v.Error, Restarts: v.RestartCount, Ports: v.Ports, Memory: v.Memory}
	if e.Ports == nil {
		e.Ports = []string{}
	}
	if !v.Started.IsZero() {
		e.Started = v.Started.Format(time.RFC3339)
	}
	switch v.Status {
	case instance.Running:
		up := now.Sub(v.Started)
		e.Uptime = up.Seconds()
		e.Status = "Up " + humanDuration(up)
		if rss, err := v.VMM.RSS(); err == nil {
			e.RSS = rss
		}
	case instance.Exited:
		code := v.ExitCode
		e.ExitCode = &code
		e.Status = fmt.Sprintf("Exited (%d)", code)
		if code < 0 {
			e.ExitCode = nil
			e.Status = "Exited (unknown)"
		}
		if !v.Finished.IsZero() {
			e.Status += " " + humanDuration(now.Sub(v.Finished)) + " ago"
		}
	case instance.Restarting:
		e.Status = fmt.Sprintf("Restarting (%d) %s ago", v.ExitCode, humanDuration(now.Sub(v.Finished)))
	default:
		e.Status = "Created"
	}
	return e
}

// portsColumn shows -p specs as docker does: 127.0.0.1:8080->80/tcp.
func portsColumn(specs []string) string {
	var out []string
	for _, s := range specs {
		p, err := usernet.ParsePublish(s)
		if err != nil {
			out = append(out, s)
			continue
		}
		if p.HostIP == "" {
			p.HostIP = "0.0.0.0"
		}
		out = append(out, p.String())
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ", ")
}

func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "less than a second"
	case d < time.Minute:
		return plural(int(d/time.Second), "second")
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/(24*time.Hour)), "day")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.0fKiB", float64(n)/(1<<10))
}
