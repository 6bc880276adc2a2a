package cli

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/instance"
)

type stopOptions struct {
	timeout int
}

func newStopCommand(c *CLI) *cobra.Command {
	var opts stopOptions
	cmd := &cobra.Command{
		Use:   "stop [flags] NAME...",
		Short: "Stop background instances gracefully",
		Long: `Stop sends SIGTERM to the program inside each guest, as a host sends it to a process: a
program that handles it (signal.Notify) can finish its work and exit; one that does not dies of
it (exit status 143). If the guest still runs after the timeout, its QEMU is killed (exit
status 137). A stopped instance is not restarted, whatever its --restart policy. Stop prints
each name once the instance has exited.`,
		Example: `  mote stop web
  mote stop -t 30 web worker`,
		Args: minOne("stop"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStop(cmd.Context(), c, args, &opts)
		},
	}
	cmd.Flags().IntVarP(&opts.timeout, "time", "t", int(defaultStopTimeout/time.Second), "`SECONDS` to wait for the program to exit before killing the guest")
	return cmd
}

func minOne(cmd string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return &StatusError{Code: 2, Msg: fmt.Sprintf("%s takes one or more instance names (mote ps -a lists them)", cmd)}
		}
		return nil
	}
}

// exitGrace is how long stop and kill wait, beyond the stop timeout, for the supervisor to
// record the exit: QEMU's teardown under a loaded host.
const exitGrace = 30 * time.Second

func runStop(ctx context.Context, c *CLI, names []string, opts *stopOptions) error {
	if opts.timeout < 0 {
		return &StatusError{Code: 2, Msg: "-t: the timeout is a number of seconds, 0 or more"}
	}
	timeout := time.Duration(opts.timeout) * time.Second
	var errs []error
	for _, name := range names {
		if err := c.end(ctx, "stop", name, fmt.Sprintf("stop %d", opts.timeout), timeout+exitGrace); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(c.Out, name)
	}
	return joinErrors(errs)
}

type killOptions struct {
	signal string
}

func newKillCommand(c *CLI) *cobra.Command {
	var opts killOptions
	cmd := &cobra.Command{
		Use:   "kill [flags] NAME...",
		Short: "Kill background instances, or send their program a signal",
		Long: `Kill ends each guest at once by killing its QEMU (exit status 137): the program gets no
chance to clean up, and the instance is not restarted. With -s and any other signal than KILL,
the signal is delivered to the program inside the guest instead, which handles it or dies of
it as a process would.`,
		Example: `  mote kill web
  mote kill -s HUP web`,
		Args: minOne("kill"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKill(cmd.Context(), c, args, &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.signal, "signal", "s", "KILL", "`SIGNAL` to send: a name (TERM, INT, HUP, USR1, KILL) or a number")
	return cmd
}

func runKill(ctx context.Context, c *CLI, names []string, opts *killOptions) error {
	sig, err := parseSignal(opts.signal)
	if err != nil {
		return &StatusError{Code: 2, Msg: "-s: " + err.Error()}
	}
	var errs []error
	for _, name := range names {
		if sig == syscall.SIGKILL {
			err = c.kill(ctx, name)
		} else {
			err = c.signal(name, sig)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(c.Out, name)
	}
	return joinErrors(errs)
}

// end asks an instance's supervisor to end the guest (req is "stop N" or "kill") and waits up
// to wait for it to exit. An instance that has already exited is left as it is.
func (c *CLI) end(ctx context.Context, cmd, name, req string, wait time.Duration) error {
	in, st, err := c.lookup(cmd, name)
	if err != nil {
		return err
	}
	if !st.Active() {
		return nil
	}
	if st.Status == instance.Created {
		// Its supervisor has not opened the control socket yet.
		if st, err = waitStarted(ctx, in); err != nil {
			return fmt.Errorf("%s %s: %v", cmd, name, err)
		}
		if !st.Active() {
			return nil
		}
	}
	if !st.Supervisor.Alive() {
		// Nobody holds the guest any more: end QEMU directly, if it runs at all.
		killVMM(st)
		return nil
	}
	if err := control(st, req); err != nil {
		// The guest may have exited on its own meanwhile.
		if now, lerr := in.Load(); lerr == nil && instance.Settled(now, time.Now()) {
			return nil
		}
		return fmt.Errorf("%s %s: %v", cmd, name, err)
	}
	if _, err := waitExited(ctx, in, wait); err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		killVMM(st)
		return fmt.Errorf("%s %s: %v; its QEMU was killed", cmd, name, err)
	}
	return nil
}

// kill ends a guest at once; unlike stop, it is an error if there is none, as for docker kill.
func (c *CLI) kill(ctx context.Context, name string) error {
	_, st, err := c.lookup("kill", name)
	if err != nil {
		return err
	}
	if !st.Active() {
		return fmt.Errorf("kill %s: the instance is not running (it has exited; mote rm %s removes it)", name, name)
	}
	return c.end(ctx, "kill", name, "kill", exitGrace)
}

// waitStarted waits for a created instance's supervisor to take over.
func waitStarted(ctx context.Context, in *instance.Instance) (*instance.State, error) {
	deadline := time.Now().Add(startWait)
	for {
		st, err := in.Load()
		if err != nil {
			return nil, err
		}
		v := instance.Live(st, time.Now())
		if v.Status != instance.Created || v.Control != "" {
			return v, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("its supervisor has not started after %v", startWait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// signal delivers sig to the program in a running guest.
func (c *CLI) signal(name string, sig syscall.Signal) error {
	_, st, err := c.lookup("kill", name)
	if err != nil {
		return err
	}
	if st.Status != instance.Running {
		return fmt.Errorf("kill %s: the instance is %s, not running", name, st.Status)
	}
	if err := control(st, fmt.Sprintf("signal %d", int(sig))); err != nil {
		return fmt.Errorf("kill %s: %v", name, err)
	}
	return nil
}
