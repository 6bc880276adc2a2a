// Package cli implements the mote command: one file per subcommand, each with an options
// struct, a newXCommand that binds its flags, and a runX that does the work. Output goes through
// the CLI's writers, never straight to the process's stdout or stderr, so tests run the real
// commands.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"mote.dev/mote"
	"mote.dev/mote/internal/image"
	"mote.dev/mote/internal/kernelsrc"
	"mote.dev/mote/internal/usernet"
)

// CLI is what the commands share: the terminal and a few overrides.
type CLI struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer

	// KernelDir is a directory holding the kernel module; empty means the source embedded in
	// mote, unpacked into the user's cache.
	KernelDir string
	// QEMU is the QEMU binary to run; empty means qemu-system-x86_64 on PATH.
	QEMU string
	// CacheDir is mote's cache; empty means $XDG_CACHE_HOME/mote.
	CacheDir string
	// OnNetwork, if set, is called with each guest's network once it is up, e.g. for a test
	// to feed the guest traffic of its own.
	OnNetwork func(*usernet.Network)
	// StateDir holds detached instances; empty means $MOTE_STATE_DIR, else
	// $XDG_STATE_HOME/mote, else ~/.local/state/mote.
	StateDir string
	// Self is the mote executable that mote run -d starts as the instance's supervisor;
	// empty means this one.
	Self string
	// Signals, if set, delivers the signals mote is asked to stop with (SIGINT, SIGTERM).
	// SIGINT stops the guest at once; SIGTERM is passed on to a running guest's app, which
	// decides how to end.
	Signals <-chan os.Signal

	mu     sync.Mutex
	onTerm func() // what SIGTERM does now; nil: cancel like SIGINT
	onInt  func() // what SIGINT does now; nil: cancel
}

// setOnInt sets what a SIGINT does and returns the previous handler. mote debug leaves the
// terminal's Ctrl-C to gdb, which uses it to stop the guest.
func (c *CLI) setOnInt(f func()) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.onInt
	c.onInt = f
	return old
}

// setOnTerm sets what a SIGTERM does and returns the previous handler.
func (c *CLI) setOnTerm(f func()) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.onTerm
	c.onTerm = f
	return old
}

// watchSignals turns c.Signals into cancellations of the returned context, except a
// SIGTERM that a handler takes.
func (c *CLI) watchSignals(ctx context.Context) (context.Context, context.CancelCauseFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	if c.Signals == nil {
		return ctx, cancel
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-c.Signals:
				sig, _ := s.(syscall.Signal)
				if sig == syscall.SIGINT {
					c.mu.Lock()
					f := c.onInt
					c.mu.Unlock()
					if f != nil {
						f()
						continue
					}
				}
				if sig == syscall.SIGTERM {
					c.mu.Lock()
					f := c.onTerm
					c.mu.Unlock()
					if f != nil {
						f()
						continue
					}
				}
				cancel(Signal{Signal: sig})
			}
		}
	}()
	return ctx, cancel
}

// StatusError ends mote with an exit status; Msg, if any, is printed as "mote: Msg".
type StatusError struct {
	Code int
	Msg  string
}

func (e *StatusError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Msg
}

// Exit codes of mote's own (not the app's) failures.
const (
	exitFailure = 1   // build and usage errors
	exitMote    = 125 // mote run and mote test could not run the guest, or it crashed
)

// Signal is the cause a context is cancelled with when mote is interrupted.
type Signal struct{ syscall.Signal }

func (s Signal) Error() string { return "interrupted by " + s.String() }

// NewRootCommand returns the mote command tree.
func NewRootCommand(c *CLI) *cobra.Command {
	root := &cobra.Command{
		Use:   "mote",
		Short: "Build Go programs into unikernel images and run them under QEMU",
		Long: `mote turns any Go main package into a unikernel: one static Go binary holding the
unmodified program and mote's kernel, booted directly by QEMU. The app imports nothing of
mote and its files are never modified.`,
		Example: `  mote run ./examples/hello -- world
  mote build -o hello.img ./examples/hello
  mote run -e GREETING=hi hello.img -- world
  mote run -d --name web -p 8080:8080 ./examples/http && mote logs -f web
  mote stop web && mote rm web
  mote test sort`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(c.In)
	root.SetOut(c.Out)
	root.SetErr(c.Err)
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &StatusError{Code: 2, Msg: err.Error() + " (see: " + cmd.CommandPath() + " --help)"}
	})
	root.AddCommand(newBuildCommand(c), newRunCommand(c), newTestCommand(c), newInitCommand(c),
		newPsCommand(c), newLogsCommand(c), newStopCommand(c), newKillCommand(c),
		newRmCommand(c), newInspectCommand(c), newSuperviseCommand(c),
		newDebugCommand(c), newMetricsCommand(c), newStatsCommand(c), newPprofCommand(c),
		newCompareCommand(c), newVolumeCommand(c))
	return root
}

// Main runs mote with args and returns its exit status. Errors are printed on c.Err.
func Main(ctx context.Context, c *CLI, args []string) int {
	ctx, cancel := c.watchSignals(ctx)
	defer cancel(nil)
	root := NewRootCommand(c)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var se *StatusError
	var ue *image.UserError
	var sig Signal
	switch {
	case errors.As(err, &se):
		if se.Msg != "" {
			fmt.Fprintf(c.Err, "mote: %s\n", se.Msg)
		}
		return se.Code
	case errors.As(context.Cause(ctx), &sig) && ctx.Err() != nil:
		return 128 + int(sig.Signal)
	case errors.As(err, &ue):
		fmt.Fprintf(c.Err, "mote: %s\n", ue.Msg)
		return exitFailure
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "accepts ") || strings.Contains(msg, "arg(s)") {
		fmt.Fprintf(c.Err, "mote: %s (see: mote --help)\n", msg)
		return 2
	}
	fmt.Fprintf(c.Err, "mote: %s\n", msg)
	return exitFailure
}

// interrupted turns a cancelled context into mote's exit: 128 plus the signal, like a shell.
func interrupted(ctx context.Context) error {
	var sig Signal
	if errors.As(context.Cause(ctx), &sig) {
		return &StatusError{Code: 128 + int(sig.Signal)}
	}
	return &StatusError{Code: 130}
}

func (c *CLI) kernelDir() (string, error) {
	if c.KernelDir != "" {
		return c.KernelDir, nil
	}
	root, err := c.cacheDir()
	if err != nil {
		return "", err
	}
	return kernelsrc.Unpack(mote.KernelSource, root)
}

func (c *CLI) cacheDir() (string, error) {
	if c.CacheDir != "" {
		return c.CacheDir, nil
	}
	return kernelsrc.CacheRoot()
}

func (c *CLI) builder() (*image.Builder, error) {
	kdir, err := c.kernelDir()
	if err != nil {
		return nil, err
	}
	return &image.Builder{KernelDir: kdir, Stderr: c.Err}, nil
}

// load resolves pkg for building: a builder, the package, and a scratch directory that the
// caller removes (it is also returned, empty, when loading fails after making it).
func (c *CLI) load(ctx context.Context, pkg string) (b *image.Builder, p *image.Package, tmp string, err error) {
	if b, err = c.builder(); err != nil {
		return nil, nil, "", err
	}
	if tmp, err = os.MkdirTemp("", "mote-build-"); err != nil {
		return nil, nil, "", err
	}
	if p, err = b.Load(ctx, pkg, tmp); err != nil {
		return nil, nil, tmp, err
	}
	return b, p, tmp, nil
}
