package qemu

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// Requests to the in-guest agent over the kernel channel (docs/ARCHITECTURE.md):
//
//	host:  agent <id> <request>
//	guest: data <id> <crc32> <base64>   (any number; the CRC-32 of the chunk, 8 hex digits)
//	       end <id> | fail <id> <text>

// MaxAnswer bounds what one agent request may return.
const MaxAnswer = 64 << 20

// ErrNoAgent is the guest's answer when its image has no agent.
var ErrNoAgent = errors.New("the image has no agent")

// errCorrupt is an answer that lost bytes on the way; the request is made again.
var errCorrupt = errors.New("the answer from the guest was corrupted")

// agentTries bounds how often a corrupted answer is asked for again.
const agentTries = 3

type answer struct {
	data []byte
	err  error
	done chan struct{}
}

// Agent sends req to the guest's agent (e.g. "metrics", "pprof heap") and returns its answer.
// An answer that arrives corrupted (a byte lost on the serial line while the host was slow to
// read) is asked for again, a few times.
func (g *Guest) Agent(ctx context.Context, req string) ([]byte, error) {
	for try := 1; ; try++ {
		data, err := g.agentOnce(ctx, req)
		if !errors.Is(err, errCorrupt) || try == agentTries || ctx.Err() != nil {
			return data, err
		}
	}
}

func (g *Guest) agentOnce(ctx context.Context, req string) ([]byte, error) {
	if strings.ContainsAny(req, "\r\n") || len(req) > 48 {
		return nil, fmt.Errorf("bad agent request %q", req)
	}
	select {
	case <-g.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if g.conn == nil {
		return nil, errors.New("the guest is not running")
	}
	a := &answer{done: make(chan struct{})}
	g.amu.Lock()
	if g.answers == nil {
		g.answers = map[uint32]*answer{}
	}
	g.agentID = (g.agentID + 1) % 1e9
	id := g.agentID
	g.answers[id] = a
	g.amu.Unlock()
	defer func() {
		g.amu.Lock()
		delete(g.answers, id)
		g.amu.Unlock()
	}()

	g.mu.Lock()
	_, err := fmt.Fprintf(g.conn, "agent %d %s\n", id, req)
	g.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("the guest is not running: %w", err)
	}
	select {
	case <-a.done:
		return a.data, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// deliver takes a record that belongs to an agent request; it reports whether it did.
func (g *Guest) deliver(rec Record) bool {
	switch rec.Kind {
	case "data", "end", "fail":
	default:
		return false
	}
	idText, rest, _ := strings.Cut(rec.Text, " ")
	n, err := strconv.ParseUint(idText, 10, 32)
	if err != nil {
		return true // malformed: nobody's
	}
	g.amu.Lock()
	defer g.amu.Unlock()
	a := g.answers[uint32(n)]
	if a == nil || a.isDone() {
		return true // a request given up on
	}
	switch rec.Kind {
	case "data":
		sum, text, _ := strings.Cut(rest, " ")
		b, err := base64.StdEncoding.DecodeString(text)
		want, serr := strconv.ParseUint(sum, 16, 32)
		switch {
		case err != nil || serr != nil || len(sum) != 8 || crc32.ChecksumIEEE(b) != uint32(want):
			a.finish(errCorrupt)
		case len(a.data)+len(b) > MaxAnswer:
			a.finish(fmt.Errorf("the answer exceeds %d bytes", MaxAnswer))
		default:
			a.data = append(a.data, b...)
		}
	case "end":
		a.finish(nil)
	case "fail":
		if strings.HasPrefix(rest, "this image has no agent") {
			a.finish(fmt.Errorf("%w: %s", ErrNoAgent, rest))
		} else {
			a.finish(errors.New(rest))
		}
	}
	return true
}

func (a *answer) isDone() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

func (a *answer) finish(err error) {
	if err != nil {
		a.data = nil
	}
	a.err = err
	close(a.done)
}

// closeAnswers fails the requests still waiting when the channel closes.
func (g *Guest) closeAnswers() {
	g.amu.Lock()
	defer g.amu.Unlock()
	for _, a := range g.answers {
		if !a.isDone() {
			a.finish(errors.New("the guest stopped before it answered"))
		}
	}
}
