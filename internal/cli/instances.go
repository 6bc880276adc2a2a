package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mote.dev/mote/internal/instance"
)

// Helpers shared by the commands that manage background instances (run -d, ps, logs, stop,
// kill, rm, inspect).

func (c *CLI) store() (*instance.Store, error) {
	root := c.StateDir
	if root == "" {
		var err error
		if root, err = instance.DefaultRoot(); err != nil {
			return nil, err
		}
	}
	return instance.Open(root)
}

// lookup finds an instance and loads its state as it stands now. The error names the
// command and says what to do.
func (c *CLI) lookup(cmd, name string) (*instance.Instance, *instance.State, error) {
	s, err := c.store()
	if err != nil {
		return nil, nil, err
	}
	in, err := s.Get(name)
	if errors.Is(err, instance.ErrNotFound) {
		return nil, nil, fmt.Errorf("%s %s: no such instance; mote ps -a lists them", cmd, name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %v", cmd, name, err)
	}
	st, err := in.Load()
	if err != nil {
		return in, nil, fmt.Errorf("%s %s: %w; mote rm %s removes the instance", cmd, name, err, name)
	}
	return in, instance.Live(st, time.Now()), nil
}

// joinErrors ends a command that works on several instances: each failure on its own line.
func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return &StatusError{Code: exitFailure, Msg: strings.Join(msgs, "\nmote: ")}
}

// Requests to an instance's supervisor over its control socket, one line each way:
//
//	stop SECONDS   SIGTERM to the app; QEMU is killed if the guest still runs after SECONDS
//	kill           QEMU is killed at once
//	signal N       signal N to the app
//
// The answer is "ok" or "error TEXT". stop and kill also keep the guest from restarting.
const controlTimeout = 10 * time.Second

func control(st *instance.State, req string) error {
	if st.Control == "" {
		return errors.New("its supervisor is still starting; try again")
	}
	conn, err := net.DialTimeout("unix", st.Control, controlTimeout)
	if err != nil {
		return fmt.Errorf("cannot reach its supervisor: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(controlTimeout))
	if _, err := fmt.Fprintf(conn, "%s\n", req); err != nil {
		return fmt.Errorf("cannot reach its supervisor: %v", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no answer from its supervisor: %v", err)
	}
	line = strings.TrimSpace(line)
	if msg, ok := strings.CutPrefix(line, "error "); ok {
		return errors.New(msg)
	}
	if line != "ok" {
		return fmt.Errorf("unexpected answer from its supervisor: %q", line)
	}
	return nil
}

// waitExited polls the instance until its exit is recorded (or its supervisor is gone), for
// at most d.
func waitExited(ctx context.Context, in *instance.Instance, d time.Duration) (*instance.State, error) {
	deadline := time.Now().Add(d)
	for {
		st, err := in.Load()
		if err != nil {
			return nil, err
		}
		v := instance.Live(st, time.Now())
		if instance.Settled(st, time.Now()) {
			return v, nil
		}
		if time.Now().After(deadline) {
			return v, fmt.Errorf("still %s after %v", v.Status, d.Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// killVMM ends the recorded QEMU directly, for an instance whose supervisor is gone.
func killVMM(st *instance.State) {
	if st.VMM.Alive() {
		syscall.Kill(st.VMM.Pid, syscall.SIGKILL)
	}
}

// parseSignal reads a signal as docker kill -s does: KILL, SIGKILL or 9.
func parseSignal(s string) (syscall.Signal, error) {
	if v, err := strconv.Atoi(s); err == nil {
		if v < 1 || v > 64 {
			return 0, fmt.Errorf("bad signal %q: use a name such as TERM or a number from 1 to 64", s)
		}
		return syscall.Signal(v), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if sig, ok := signalNames[name]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("bad signal %q: use a name such as TERM, INT, HUP, USR1 or KILL, or a number", s)
}

var signalNames = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT, "ABRT": syscall.SIGABRT,
	"KILL": syscall.SIGKILL, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "TERM": syscall.SIGTERM,
	"ALRM": syscall.SIGALRM, "WINCH": syscall.SIGWINCH, "CONT": syscall.SIGCONT, "STOP": syscall.SIGSTOP,
	"PIPE": syscall.SIGPIPE,
}
