package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/instance"
	"mote.dev/mote/internal/qemu"
	"mote.dev/mote/internal/usernet"
	"mote.dev/mote/internal/volume"
)

// A background instance (mote run -d) is held by a supervisor: mote itself, started again as
// the hidden command "mote supervise NAME" in a session of its own, as a container runtime's
// shim holds a container. The supervisor boots the guest with the same code as a foreground
// mote run, writes its output to the instance's log, records its state, serves stop and kill
// requests on a unix socket, and applies the restart policy. QEMU dies with it (Pdeathsig),
// so a guest is never left running unwatched.

// bootConfig is what mote run -d resolved, for the supervisor to boot (and boot again).
type bootConfig struct {
	QEMU    string   `json:"qemu"`
	Argv    []string `json:"argv"`
	Env     []string `json:"env,omitempty"`
	Cwd     string   `json:"cwd,omitempty"`
	Memory  string   `json:"memory"`
	Machine string   `json:"machine"`
	Accel   string   `json:"accel"`
	Network bool     `json:"network,omitempty"`
	Publish []string `json:"publish,omitempty"`
	Net     string   `json:"net,omitempty"`
	IP      string   `json:"ip,omitempty"`
	GW      string   `json:"gw,omitempty"`
	DNS     string   `json:"dns,omitempty"`
	Verbose bool     `json:"verbose,omitempty"`
	Trace   bool     `json:"trace,omitempty"`
	// MetricsAddr is where the supervisor serves the guest's metrics (run --metrics-addr).
	MetricsAddr string `json:"metricsAddr,omitempty"`
	Summary     bool   `json:"syscallSummary,omitempty"`
	// Volumes are resolved when the instance is made: a restart mounts the same directories.
	Volumes []volume.Mount `json:"volumes,omitempty"`
}

// startWait bounds how long mote run -d waits for the supervisor to start QEMU.
const startWait = 2 * time.Minute

func runDetached(ctx context.Context, c *CLI, opts *runOptions) error {
	if opts.dryRun {
		return &StatusError{Code: 2, Msg: "--dry-run shows a foreground run: drop -d"}
	}
	if opts.trace != "" && opts.trace != traceStderr {
		return &StatusError{Code: 2, Msg: "--trace=FILE is for a foreground run; with -d use --trace, and mote logs shows the trace"}
	}
	policy, err := instance.ParseRestart(opts.restart)
	if err != nil {
		return &StatusError{Code: 2, Msg: err.Error()}
	}
	if opts.name != "" {
		if err := instance.ValidName(opts.name); err != nil {
			return &StatusError{Code: 2, Msg: "--name: " + err.Error()}
		}
	}
	store, err := c.store()
	if err != nil {
		return err
	}
	// Checked again, without a race, when the name is taken below; this only saves a build.
	if opts.name != "" {
		if _, err := store.Get(opts.name); err == nil {
			return nameTaken(opts.name)
		}
	}
	if opts.metricsAddr != "" {
		// The supervisor listens when the guest boots; a port taken already is refused here.
		ln, err := listenMetrics(opts.metricsAddr)
		if err != nil {
			return err
		}
		ln.Close()
	}
	binary, guest, m, err := c.resolveRun(ctx, opts)
	if err != nil {
		return err
	}
	// After resolveRun, which adds the ports of the package's manifest.
	for _, spec := range opts.publish {
		p, err := usernet.ParsePublish(spec)
		if err != nil {
			return &StatusError{Code: exitFailure, Msg: err.Error()}
		}
		// The supervisor takes the port when the guest boots; a port taken already is
		// refused here, before a doomed instance is made.
		if err := p.CheckFree(); err != nil {
			return &StatusError{Code: exitMote, Msg: err.Error()}
		}
	}
	// Chosen here, so that the note about TCG shows on the terminal once.
	accel, err := c.pickAccel(&opts.vmOptions)
	if err != nil {
		return err
	}
	cfg, err := json.Marshal(bootConfig{
		QEMU: binary, Argv: guest.argv, Env: guest.env, Cwd: guest.cwd, Memory: guest.memory,
		Machine: opts.machine, Accel: accel, Network: guest.network, Publish: opts.publish,
		Net: opts.net, IP: opts.ip, GW: opts.gw, DNS: opts.dns,
		Verbose: opts.verbose, Trace: opts.trace != "", Summary: opts.summary, MetricsAddr: opts.metricsAddr,
		Volumes: guest.volumes,
	})
	if err != nil {
		return err
	}
	st := &instance.State{
		Name: opts.name, Image: opts.target, Status: instance.Created, Created: time.Now().UTC(),
		ExitCode: -1, Restart: policy.String(), Memory: guest.memory, Ports: opts.publish, Config: cfg,
	}
	var in *instance.Instance
	for try := 0; ; try++ {
		if opts.name == "" {
			st.Name = instance.NewName(m.Name)
		}
		in, err = store.Create(st)
		if errors.Is(err, instance.ErrNameTaken) && opts.name == "" && try < 5 {
			continue
		}
		break
	}
	if errors.Is(err, instance.ErrNameTaken) {
		return nameTaken(st.Name)
	}
	if err != nil {
		return err
	}
	// The instance keeps its own copy of the image: a later build of the same package must
	// not change what a restart boots.
	if err := copyFile(guest.image, in.Path(instance.ImageFile)); err != nil {
		store.Remove(in)
		return fmt.Errorf("copying the image: %w", err)
	}
	if err := c.startSupervisor(ctx, in); err != nil {
		return err
	}
	fmt.Fprintln(c.Out, st.Name)
	return nil
}

func nameTaken(name string) error {
	return &StatusError{Code: exitFailure, Msg: fmt.Sprintf("the name %q is already in use by an instance; choose another --name, or remove the old one with mote rm %s", name, name)}
}

// startSupervisor starts "mote supervise NAME" detached from this terminal and waits until it
// has booted the guest (or failed to).
func (c *CLI) startSupervisor(ctx context.Context, in *instance.Instance) error {
	self := c.Self
	if self == "" {
		var err error
		if self, err = os.Executable(); err != nil {
			return fmt.Errorf("finding mote's own executable: %w", err)
		}
	}
	logf, err := os.OpenFile(in.Path(instance.SupervisorLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(self, "supervise", in.Name)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), instance.StateDirEnv+"="+filepath.Dir(in.Dir))
	// A session of its own: no terminal, and no Ctrl-C or hang-up from this one.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return c.failStart(in, fmt.Sprintf("starting the supervisor: %v", err))
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()

	deadline := time.After(startWait)
	for {
		st, err := in.Load()
		if err == nil && st.Status != instance.Created {
			if st.Status == instance.Exited && st.Error != "" {
				return &StatusError{Code: exitMote, Msg: fmt.Sprintf("%s: %s (mote logs %s shows its output)", in.Name, st.Error, in.Name)}
			}
			return nil
		}
		select {
		case <-exited:
			if st, err := in.Load(); err == nil && st.Status != instance.Created {
				continue
			}
			b, _ := os.ReadFile(in.Path(instance.SupervisorLog))
			return c.failStart(in, "the supervisor exited before booting the guest: "+strings.TrimSpace(string(b)))
		case <-deadline:
			return &StatusError{Code: exitMote, Msg: fmt.Sprintf("%s: the supervisor has not booted the guest after %v; see mote logs %s", in.Name, startWait, in.Name)}
		case <-ctx.Done():
			return interrupted(ctx)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// failStart records that an instance never started; its supervisor is not running, so this
// is the only writer.
func (c *CLI) failStart(in *instance.Instance, msg string) error {
	if st, err := in.Load(); err == nil {
		st.Status, st.Error, st.Finished = instance.Exited, msg, time.Now().UTC()
		in.Save(st)
	}
	return &StatusError{Code: exitMote, Msg: in.Name + ": " + msg}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func newSuperviseCommand(c *CLI) *cobra.Command {
	return &cobra.Command{
		Use:    "supervise NAME",
		Short:  "Hold a background instance (started by mote run -d)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSupervise(cmd.Context(), c, args[0])
		},
	}
}

// supervisor is the state of mote supervise.
type supervisor struct {
	c   *CLI
	in  *instance.Instance
	log *instance.Log

	mu       sync.Mutex // guards the fields below and writes of the state file
	st       *instance.State
	guest    *qemu.Guest   // the running guest, or nil
	stopping bool          // mote stop or kill: no restart
	killed   string        // why the supervisor killed QEMU, if it did
	wake     chan struct{} // closed to end a pause before a restart
}

func runSupervise(ctx context.Context, c *CLI, name string) error {
	store, err := c.store()
	if err != nil {
		return err
	}
	in, err := store.Get(name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	st, err := in.Load()
	if err != nil {
		return err
	}
	if st.Status != instance.Created {
		return fmt.Errorf("%s is %s: it has a supervisor already", name, st.Status)
	}
	var cfg bootConfig
	if err := json.Unmarshal(st.Config, &cfg); err != nil {
		return fmt.Errorf("%s: boot configuration: %w", name, err)
	}
	policy, err := instance.ParseRestart(st.Restart)
	if err != nil {
		return err
	}
	log, err := instance.OpenLog(in.Path(instance.LogFile))
	if err != nil {
		return err
	}
	defer log.Close()

	ln, sockPath, err := listenControl(in)
	if err != nil {
		return err
	}
	defer os.RemoveAll(sockPath)
	defer ln.Close()

	// Every instance's QEMU has a gdb stub, which costs nothing until a debugger connects, so
	// that mote debug NAME can attach to a guest that was not started for debugging.
	gdbPath := filepath.Join(filepath.Dir(sockPath), "gdb.sock")
	defer os.Remove(gdbPath)

	s := &supervisor{c: c, in: in, log: log, st: st, wake: make(chan struct{})}
	s.mu.Lock()
	st.Supervisor = instance.Self()
	st.Control = sockPath
	st.GDB = gdbPath
	err = s.save()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	go s.serve(ln)
	// A SIGTERM to the supervisor (the host shutting down) is a mote stop.
	c.setOnTerm(func() { go s.stop(defaultStopTimeout) })

	vm := vmOptions{machine: cfg.Machine, accel: cfg.Accel, verbose: cfg.Verbose, summary: cfg.Summary, publish: cfg.Publish,
		net: cfg.Net, ip: cfg.IP, gw: cfg.GW, dns: cfg.DNS}
	if cfg.Trace {
		vm.trace = traceStderr
	}
	stdout, stderr := log.Stream(instance.Stdout), log.Stream(instance.Stderr)
	streak := 0 // restarts since the guest last ran for a while
	for {
		g := guestSpec{
			image: in.Path(instance.ImageFile), hostname: in.Name, argv: cfg.Argv, env: cfg.Env, memory: cfg.Memory,
			network: cfg.Network, volumes: cfg.Volumes, stdout: stdout, stderr: stderr, noStdin: true,
			record: func(r qemu.Record) {
				if r.Kind == "trace" {
					return // decoded on the stderr stream instead
				}
				log.Line(instance.Kernel, r.Kind+" "+r.Text)
			},
			started:     s.started,
			gdb:         qemu.GDBUnix(gdbPath),
			metricsAddr: cfg.MetricsAddr, name: st.Name,
			cwd: cfg.Cwd,
		}
		s.mu.Lock()
		s.st.Started, s.st.Finished, s.st.Error = time.Now().UTC(), time.Time{}, ""
		s.mu.Unlock()
		err := c.boot(ctx, cfg.QEMU, &vm, g)
		stdout.Close() // a last line without a newline
		stderr.Close()
		code, msg := exitOf(ctx, err)

		s.mu.Lock()
		s.guest = nil
		if s.killed != "" {
			msg = s.killed
		}
		if msg != "" {
			log.Line(instance.Stderr, "mote: "+msg)
		}
		s.st.Status, s.st.ExitCode, s.st.Error, s.st.Finished = instance.Exited, code, msg, time.Now().UTC()
		again := !s.stopping && ctx.Err() == nil && policy.Again(code, s.st.RestartCount)
		if again {
			s.st.Status = instance.Restarting
		}
		s.save()
		s.mu.Unlock()
		if !again {
			return nil
		}
		if time.Since(s.st.Started) > 10*time.Second {
			streak = 0
		}
		pause := instance.Backoff(streak)
		streak++
		log.Line(instance.Stderr, fmt.Sprintf("mote: exit status %d; restarting (--restart %s) in %v", code, policy, pause))
		select {
		case <-time.After(pause):
		case <-s.wake:
		case <-ctx.Done():
		}
		s.mu.Lock()
		if s.stopping || ctx.Err() != nil {
			s.st.Status = instance.Exited
			s.save()
			s.mu.Unlock()
			return nil
		}
		s.st.RestartCount++
		s.mu.Unlock()
	}
}

// exitOf turns boot's result into an exit status and a reason.
func exitOf(ctx context.Context, err error) (int, string) {
	var se *StatusError
	switch {
	case err == nil:
		return 0, ""
	case errors.As(err, &se):
		if se.Code >= 128 && se.Msg == "" && ctx.Err() != nil {
			return se.Code, "the supervisor was interrupted"
		}
		return se.Code, se.Msg
	}
	return exitMote, err.Error()
}

// save writes the state; s.mu is held.
func (s *supervisor) save() error {
	err := s.in.Save(s.st)
	if err != nil {
		s.log.Line(instance.Stderr, "mote: "+err.Error())
	}
	return err
}

// started records the running guest.
func (s *supervisor) started(g *qemu.Guest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guest, s.killed = g, ""
	vmm, err := instance.ProcOf(g.Pid)
	if err != nil {
		vmm = instance.Proc{Pid: g.Pid}
	}
	s.st.VMM = vmm
	s.st.Status = instance.Running
	s.save()
	if s.stopping {
		// Stopped while it was about to boot.
		s.killed = "stopped before the guest booted"
		go g.Kill()
	}
}

// defaultStopTimeout is how long mote stop waits for the app to exit after SIGTERM.
const defaultStopTimeout = 10 * time.Second

// stop asks the app to exit (SIGTERM) and kills QEMU if it has not after timeout.
func (s *supervisor) stop(timeout time.Duration) error {
	s.mu.Lock()
	first := !s.stopping
	s.stopping = true
	s.st.StopRequested = true
	s.save()
	g := s.guest
	if first {
		close(s.wake)
	}
	s.mu.Unlock()
	if g == nil {
		return nil
	}
	s.log.Line(instance.Stderr, fmt.Sprintf("mote: stop: SIGTERM to the app; QEMU is killed if it still runs after %v", timeout))
	if err := g.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	time.AfterFunc(timeout, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.guest == g {
			s.killed = fmt.Sprintf("the app did not exit within %v of SIGTERM; QEMU was killed", timeout)
			g.Kill()
		}
	})
	return nil
}

// kill ends QEMU at once.
func (s *supervisor) kill() error {
	s.mu.Lock()
	first := !s.stopping
	s.stopping = true
	s.st.StopRequested = true
	s.save()
	g := s.guest
	if first {
		close(s.wake)
	}
	if g != nil {
		s.killed = "killed by mote kill"
	}
	s.mu.Unlock()
	if g == nil {
		return nil
	}
	return g.Kill()
}

func (s *supervisor) signal(sig syscall.Signal) error {
	s.mu.Lock()
	g := s.guest
	s.mu.Unlock()
	if g == nil {
		return errors.New("the guest is not running")
	}
	return g.Signal(sig)
}

// listenControl opens the control socket in the instance's directory, or in a private
// directory under /tmp when that path is too long for a unix socket.
func listenControl(in *instance.Instance) (net.Listener, string, error) {
	p := in.Path("control.sock")
	if len(p) >= 100 {
		dir, err := qemu.TempRunDir()
		if err != nil {
			return nil, "", err
		}
		p = filepath.Join(dir, "control.sock")
	}
	os.Remove(p) // left by a supervisor that was killed
	ln, err := net.Listen("unix", p)
	if err != nil {
		return nil, "", fmt.Errorf("control socket: %w", err)
	}
	return ln, p, nil
}

// serve answers control requests, one per connection.
func (s *supervisor) serve(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(controlTimeout))
			line, err := bufio.NewReader(io.LimitReader(conn, 256)).ReadString('\n')
			if err != nil {
				fmt.Fprintf(conn, "error %v\n", err)
				return
			}
			if req, ok := strings.CutPrefix(strings.TrimSpace(line), "agent "); ok {
				s.agent(conn, req) // an answer with data: agent.go
				return
			}
			err = s.request(strings.TrimSpace(line))
			if err != nil {
				fmt.Fprintf(conn, "error %s\n", err)
				return
			}
			fmt.Fprintln(conn, "ok")
		}()
	}
}

func (s *supervisor) request(line string) error {
	verb, arg, _ := strings.Cut(line, " ")
	switch verb {
	case "stop":
		d, err := time.ParseDuration(arg + "s")
		if err != nil || d < 0 {
			return fmt.Errorf("bad stop timeout %q", arg)
		}
		return s.stop(d)
	case "kill":
		return s.kill()
	case "signal":
		sig, err := parseSignal(arg)
		if err != nil {
			return err
		}
		return s.signal(sig)
	}
	return fmt.Errorf("unknown request %q", verb)
}
