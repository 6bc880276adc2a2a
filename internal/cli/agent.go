package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"mote.dev/mote/internal/image"
	"mote.dev/mote/internal/instance"
	"mote.dev/mote/internal/qemu"
)

// Requests to the in-guest agent (metrics, profiles) of a background instance go through its
// supervisor, which holds the kernel channel:
//
//	agent REQUEST            e.g. "agent metrics", "agent pprof cpu 10"
//	-> ok LENGTH\n + LENGTH bytes, or error TEXT
//
// agentTimeout bounds an answer that takes no time of its own; a CPU profile adds its
// duration.
const agentTimeout = 60 * time.Second

// agentDeadline is how long req may take.
func agentDeadline(req string) time.Duration {
	f := strings.Fields(req)
	if len(f) == 3 && f[0] == "pprof" && f[1] == "cpu" {
		if n, err := strconv.Atoi(f[2]); err == nil && n > 0 {
			return agentTimeout + time.Duration(n)*time.Second
		}
	}
	return agentTimeout
}

// agent answers an agent request on the control connection.
func (s *supervisor) agent(conn net.Conn, req string) {
	d := agentDeadline(req)
	conn.SetDeadline(time.Now().Add(d + 5*time.Second))
	s.mu.Lock()
	g := s.guest
	s.mu.Unlock()
	if g == nil {
		fmt.Fprintln(conn, "error the guest is not running")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	data, err := g.Agent(ctx, req)
	if errors.Is(err, qemu.ErrNoAgent) {
		if m, merr := image.ReadManifest(s.in.Path(instance.ImageFile)); merr == nil && m.Agent {
			err = errors.New("the guest's agent has not started yet (the app is starting); try again")
		}
	}
	if err != nil {
		fmt.Fprintf(conn, "error %s\n", oneLine(agentError(err)))
		return
	}
	fmt.Fprintf(conn, "ok %d\n", len(data))
	conn.Write(data)
}

// agentError says what to do about a failed request.
func agentError(err error) string {
	switch {
	case errors.Is(err, qemu.ErrNoAgent):
		return "the image has no agent (it was built with --no-agent); rebuild it without that flag"
	case errors.Is(err, context.DeadlineExceeded):
		return "the guest's agent did not answer in time (is the app's runtime stuck?)"
	}
	return err.Error()
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// askAgent sends req to the agent of the running instance name and returns its answer. cmd
// names the command for errors.
func (c *CLI) askAgent(ctx context.Context, cmd, name, req string) ([]byte, error) {
	_, st, err := c.lookup(cmd, name)
	if err != nil {
		return nil, err
	}
	if st.Status != instance.Running {
		return nil, fmt.Errorf("%s %s: the instance is %s, not running; mote ps -a lists instances", cmd, name, st.Status)
	}
	if st.Control == "" {
		return nil, fmt.Errorf("%s %s: its supervisor is still starting; try again", cmd, name)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", st.Control)
	if err != nil {
		return nil, fmt.Errorf("%s %s: cannot reach its supervisor: %v", cmd, name, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(agentDeadline(req) + 10*time.Second))
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
		defer stop()
	}
	if _, err := fmt.Fprintf(conn, "agent %s\n", req); err != nil {
		return nil, fmt.Errorf("%s %s: cannot reach its supervisor: %v", cmd, name, err)
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s %s: no answer from its supervisor: %v", cmd, name, err)
	}
	line = strings.TrimSpace(line)
	if msg, ok := strings.CutPrefix(line, "error "); ok {
		return nil, fmt.Errorf("%s %s: %s", cmd, name, msg)
	}
	nText, ok := strings.CutPrefix(line, "ok ")
	n, err := strconv.Atoi(nText)
	if !ok || err != nil || n < 0 || n > qemu.MaxAnswer {
		return nil, fmt.Errorf("%s %s: unexpected answer from its supervisor: %q", cmd, name, line)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("%s %s: the answer was cut short: %v", cmd, name, err)
	}
	return data, nil
}
