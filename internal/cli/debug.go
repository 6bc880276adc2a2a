package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/gdb"
	"mote.dev/mote/internal/image"
	"mote.dev/mote/internal/instance"
	"mote.dev/mote/internal/qemu"
)

type debugOptions struct {
	runOptions
	gdbPort  string
	batch    bool
	commands []string
}

func newDebugCommand(c *CLI) *cobra.Command {
	var opts debugOptions
	cmd := &cobra.Command{
		Use:   "debug [flags] PKG|IMAGE|NAME [-- ARGS...]",
		Short: "Debug a guest with gdb",
		Long: `Debug boots a program with QEMU's gdb stub, holds it before its first instruction and
opens gdb with the image's symbols and Go's runtime support loaded, so that breakpoints in the
app's code (and the kernel's), bt and info goroutines work. Quitting gdb stops the guest; mote
debug exits with gdb's exit status. The program's output goes to the terminal; gdb has its
input.

Given the NAME of a running background instance (mote run -d), debug attaches gdb to it
instead: the guest stops while gdb holds it and runs on after gdb detaches or quits.

With --gdb-port, mote starts the stub on that TCP port and prints how to connect a debugger of
your own (gdb, or an IDE such as VS Code; see docs/DEBUGGING.md) instead of launching gdb; the
guest waits for it. --ex runs gdb commands after connecting; with --batch gdb exits after them.`,
		Example: `  mote debug ./cmd/server
  mote debug --ex 'break main.main' --ex continue ./examples/hello -- world
  mote debug --batch --ex 'break main.handle' --ex continue --ex bt --ex 'info goroutines' ./cmd/server
  mote debug --gdb-port 1234 ./cmd/server
  mote debug web`,
		Args: func(cmd *cobra.Command, args []string) error {
			n := cmd.ArgsLenAtDash()
			if n < 0 {
				n = len(args)
			}
			if n != 1 {
				return &StatusError{Code: 2, Msg: "mote debug takes one package, image or instance name; put the program's arguments after --, e.g. mote debug ./cmd/app -- -flag value"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.target = args[0]
			opts.args = args[1:]
			opts.hasArg = cmd.ArgsLenAtDash() >= 0
			return runDebug(cmd.Context(), c, &opts)
		},
	}
	opts.bind(cmd, defaultMemory, "v")
	f := cmd.Flags()
	f.StringArrayVarP(&opts.env, "env", "e", nil, "set environment variable `KEY=VALUE` in the guest (KEY alone passes the host's value)")
	f.StringVar(&opts.gdbPort, "gdb-port", "", "start the gdb stub on `[HOST:]PORT` (host default 127.0.0.1) and print how to connect, instead of launching gdb")
	f.BoolVar(&opts.batch, "batch", false, "run gdb in batch mode: exit after the --ex commands")
	f.StringArrayVar(&opts.commands, "ex", nil, "run gdb `COMMAND` after connecting (repeatable, in order)")
	return cmd
}

func runDebug(ctx context.Context, c *CLI, opts *debugOptions) error {
	if opts.batch && opts.gdbPort != "" {
		return &StatusError{Code: 2, Msg: "--batch and --ex are for the gdb mote launches; with --gdb-port you connect your own"}
	}
	if name, ok := c.instanceTarget(opts.target); ok {
		return attachDebug(ctx, c, opts, name)
	}
	gdbPath := ""
	var stubAddr string
	if opts.gdbPort != "" {
		addr, err := stubAddress(opts.gdbPort)
		if err != nil {
			return err
		}
		stubAddr = addr
	} else if !opts.dryRun {
		p, err := gdb.Find()
		if err != nil {
			return &StatusError{Code: exitFailure, Msg: err.Error()}
		}
		gdbPath = p
	}
	sources := c.debugSources(ctx, opts.target)
	binary, guest, _, err := c.resolveRun(ctx, &opts.runOptions)
	var ue *image.UserError
	if errors.As(err, &ue) && !strings.ContainsAny(opts.target, "/.") {
		return &StatusError{Code: exitFailure, Msg: ue.Msg + "; nor is it a background instance (mote ps lists them)"}
	}
	if err != nil {
		return err
	}
	goroot, modcache := gdb.GoEnv(ctx)
	guest.hold = true

	if opts.gdbPort != "" || opts.dryRun {
		guest.gdb = qemu.GDBTCP(stubAddr)
		if opts.dryRun && stubAddr == "" {
			guest.gdb = qemu.GDBUnix(filepath.Join(os.TempDir(), "mote-run-XXXXXX", "gdb.sock"))
		}
		if !opts.dryRun {
			s := &gdb.Session{Image: guest.image, Remote: stubAddr, GOROOT: goroot, ModCache: modcache, Sources: sources}
			guest.started = func(*qemu.Guest) { fmt.Fprint(c.Err, connectHelp(s)) }
		}
		return c.boot(ctx, binary, &opts.vmOptions, guest)
	}

	dir, err := qemu.TempRunDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "gdb.sock")
	guest.gdb = qemu.GDBUnix(sock)
	// gdb owns the terminal; the program's output still goes there.
	guest.noStdin = true
	bootCtx, stopGuest := context.WithCancel(ctx)
	defer stopGuest()
	booted := make(chan error, 1)
	go func() { booted <- c.boot(bootCtx, binary, &opts.vmOptions, guest) }()
	if err := waitSocket(sock, booted); err != nil {
		return err
	}
	s := &gdb.Session{
		Image: guest.image, Remote: sock, GOROOT: goroot, ModCache: modcache,
		Sources: sources, Commands: opts.commands, Batch: opts.batch,
	}
	code, err := c.runGDB(gdbPath, s)
	stopGuest()
	<-booted // what the guest did no longer matters: gdb was the session
	if err != nil {
		return err
	}
	if code != 0 {
		return &StatusError{Code: code}
	}
	return nil
}

// attachDebug attaches gdb to a running background instance through the stub its QEMU
// always has.
func attachDebug(ctx context.Context, c *CLI, opts *debugOptions, name string) error {
	in, st, err := c.lookup("debug", name)
	if err != nil {
		return err
	}
	if st.Status != instance.Running {
		return &StatusError{Code: exitFailure, Msg: fmt.Sprintf("debug %s: the instance is %s, not running; start a new guest under the debugger with: mote debug %s", name, st.Status, qemu.ShellQuote([]string{in.Path(instance.ImageFile)}))}
	}
	if st.GDB == "" {
		return &StatusError{Code: exitFailure, Msg: fmt.Sprintf("debug %s: the instance has no gdb stub (it was started by an older mote); restart it with mote run -d", name)}
	}
	if opts.gdbPort != "" {
		return &StatusError{Code: 2, Msg: fmt.Sprintf("debug %s: --gdb-port starts a new guest; a debugger of your own reaches this one at its stub's unix socket: target remote %s", name, st.GDB)}
	}
	gdbPath, err := gdb.Find()
	if err != nil {
		return &StatusError{Code: exitFailure, Msg: err.Error()}
	}
	goroot, modcache := gdb.GoEnv(ctx)
	s := &gdb.Session{
		Image: in.Path(instance.ImageFile), Remote: st.GDB, GOROOT: goroot, ModCache: modcache,
		Sources: c.debugSources(ctx, in.Path(instance.ImageFile)), Commands: opts.commands, Batch: opts.batch,
	}
	code, err := c.runGDB(gdbPath, s)
	if err != nil {
		return err
	}
	if code != 0 {
		return &StatusError{Code: code}
	}
	return nil
}

// instanceTarget reports whether target names an instance rather than a file or package: a
// path that exists is never an instance.
func (c *CLI) instanceTarget(target string) (string, bool) {
	if _, err := os.Stat(target); err == nil || instance.ValidName(target) != nil {
		return "", false
	}
	s, err := c.store()
	if err != nil {
		return "", false
	}
	if _, err := s.Get(target); err != nil {
		return "", false
	}
	return target, true
}

// debugSources maps the module paths an image built from target records (it is built with
// -trimpath) to the directories that hold those sources: the app's module and the kernel's.
// Best effort: without them gdb still debugs, only without listings.
func (c *CLI) debugSources(ctx context.Context, target string) map[string]string {
	src := map[string]string{}
	if kdir, err := c.kernelDir(); err == nil {
		src[image.KernelModule] = kdir
	}
	if st, err := os.Stat(target); err == nil && st.Mode().IsRegular() {
		return src // an image: its app's sources are wherever the user keeps them
	}
	_, p, tmp, err := c.load(ctx, target)
	if tmp != "" {
		defer os.RemoveAll(tmp)
	}
	if err == nil && p.Module != nil && p.Module.Version == "" && p.Module.Dir != "" {
		src[p.Module.Path] = p.Module.Dir
	}
	return src
}

// runGDB runs gdb on the terminal and returns its exit status. Ctrl-C belongs to gdb
// meanwhile: it stops the guest, not mote.
func (c *CLI) runGDB(path string, s *gdb.Session) (int, error) {
	cmd := exec.Command(path, s.Args()...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.In, c.Out, c.Err
	if c.In == nil {
		cmd.Stdin = eofReader{}
	}
	old := c.setOnInt(func() {})
	defer c.setOnInt(old)
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, &StatusError{Code: exitFailure, Msg: "running gdb: " + err.Error()}
	}
	return 0, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// stubStart bounds the wait for QEMU to open its gdb stub.
const stubStart = time.Minute

// waitSocket waits for QEMU to create the stub's socket, or for the guest to end first.
func waitSocket(path string, booted <-chan error) error {
	deadline := time.Now().Add(stubStart)
	for {
		if st, err := os.Stat(path); err == nil && st.Mode()&os.ModeSocket != 0 {
			return nil
		}
		select {
		case err := <-booted:
			if err == nil {
				err = errors.New("the guest ended before its gdb stub opened")
			}
			return err
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return &StatusError{Code: exitMote, Msg: fmt.Sprintf("QEMU did not open its gdb stub within %v", stubStart)}
		}
	}
}

// stubAddress turns --gdb-port's [HOST:]PORT into an address, and checks it is free so that
// a port in use is reported before the build.
func stubAddress(s string) (string, error) {
	host, port := "127.0.0.1", s
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", &StatusError{Code: 2, Msg: fmt.Sprintf("--gdb-port %q: want PORT or HOST:PORT, e.g. --gdb-port 1234", s)}
	}
	addr := net.JoinHostPort(host, port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", &StatusError{Code: exitMote, Msg: fmt.Sprintf("--gdb-port %s: %v; pick another port", s, err)}
	}
	ln.Close()
	return addr, nil
}

// connectHelp says how to connect a debugger of one's own to the stub.
func connectHelp(s *gdb.Session) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mote: gdb stub listening on %s; the guest waits before its first instruction. Connect with:\n\n", s.Remote)
	fmt.Fprintf(&b, "  gdb %s\n\n", qemu.ShellQuote(s.Args()))
	fmt.Fprintf(&b, "or from an IDE: a gdb remote target %s, symbols from %s", s.Remote, s.Image)
	if s.GOROOT != "" {
		fmt.Fprintf(&b, ", and the setup command: source %s", filepath.Join(s.GOROOT, "src", "runtime", "runtime-gdb.py"))
	}
	b.WriteString(" (see docs/DEBUGGING.md)\n")
	return b.String()
}
