package cli

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"
)

type pprofOptions struct {
	cpu       int
	heap      bool
	goroutine bool
	allocs    bool
	output    string
}

func newPprofCommand(c *CLI) *cobra.Command {
	var opts pprofOptions
	cmd := &cobra.Command{
		Use:   "pprof [--cpu SECONDS|--heap|--goroutine|--allocs] [-o FILE] NAME",
		Short: "Fetch a pprof profile from inside a background instance",
		Long: `Pprof fetches a profile from a running background instance's Go runtime, taken inside the
guest by mote's agent, with no change to the app, and writes it to a file that go tool pprof
opens (gzipped protocol buffers, as net/http/pprof serves). The default is a heap profile.

--cpu SECONDS profiles the CPU for that long (at most 300): the kernel delivers SIGPROF on the
CPU time the app uses, as Linux's setitimer(ITIMER_PROF) does. --goroutine is every goroutine's
stack; --allocs the allocations since start.

The file is NAME-KIND.pb.gz in the current directory unless -o names another ("-" for stdout);
its name is printed.`,
		Example: `  mote pprof web && go tool pprof -top web-heap.pb.gz
  mote pprof --cpu 10 -o cpu.pb.gz web && go tool pprof -http :8081 cpu.pb.gz
  mote pprof --goroutine -o - web | go tool pprof -traces /dev/stdin`,
		Args: exactArgs(1, "mote pprof takes one instance name, e.g. mote pprof --heap web"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPprof(cmd.Context(), c, cmd, &opts, args[0])
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.cpu, "cpu", 0, "profile the CPU for `SECONDS`")
	f.BoolVar(&opts.heap, "heap", false, "the heap profile: live objects and allocations (the default)")
	f.BoolVar(&opts.goroutine, "goroutine", false, "the stacks of all goroutines")
	f.BoolVar(&opts.allocs, "allocs", false, "all allocations since the program started")
	f.StringVarP(&opts.output, "output", "o", "", "write the profile to `FILE` (- for stdout)")
	return cmd
}

func runPprof(ctx context.Context, c *CLI, cmd *cobra.Command, opts *pprofOptions, name string) error {
	kinds := 0
	kind, req := "heap", "pprof heap"
	if cmd.Flags().Changed("cpu") {
		kinds++
		if opts.cpu < 1 || opts.cpu > 300 {
			return &StatusError{Code: 2, Msg: fmt.Sprintf("--cpu %d: give the profile's duration in seconds, 1 to 300", opts.cpu)}
		}
		kind, req = "cpu", "pprof cpu "+strconv.Itoa(opts.cpu)
	}
	for _, k := range []struct {
		set  bool
		name string
	}{{opts.heap, "heap"}, {opts.goroutine, "goroutine"}, {opts.allocs, "allocs"}} {
		if k.set {
			kinds++
			kind, req = k.name, "pprof "+k.name
		}
	}
	if kinds > 1 {
		return &StatusError{Code: 2, Msg: "give one of --cpu, --heap, --goroutine and --allocs"}
	}
	data, err := c.askAgent(ctx, "pprof", name, req)
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return err
	}
	out := opts.output
	if out == "-" {
		_, err := c.Out.Write(data)
		return err
	}
	if out == "" {
		out = name + "-" + kind + ".pb.gz"
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(c.Out, out)
	return nil
}
