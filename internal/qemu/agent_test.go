package qemu

import (
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"
)

func dataRecord(id int, chunk []byte) Record {
	return Record{Kind: "data", Text: fmt.Sprintf("%d %08x %s", id, crc32.ChecksumIEEE(chunk), base64.StdEncoding.EncodeToString(chunk))}
}

func waiting(g *Guest, id uint32) *answer {
	a := &answer{done: make(chan struct{})}
	if g.answers == nil {
		g.answers = map[uint32]*answer{}
	}
	g.answers[id] = a
	return a
}

func TestDeliver(t *testing.T) {
	g := &Guest{}
	a := waiting(g, 7)
	for _, r := range []Record{dataRecord(7, []byte("hello, ")), dataRecord(9, []byte("not mine")), dataRecord(7, []byte("world")), {Kind: "end", Text: "7"}} {
		if !g.deliver(r) {
			t.Errorf("%v not taken", r)
		}
	}
	<-a.done
	if a.err != nil || string(a.data) != "hello, world" {
		t.Errorf("answer %q, %v", a.data, a.err)
	}
	if g.deliver(Record{Kind: "log", Text: "7 x"}) {
		t.Error("a log record was taken as an answer")
	}

	// A chunk that lost a byte: its CRC does not match.
	b := waiting(g, 8)
	r := dataRecord(8, []byte("abcdefghi"))
	r.Text = r.Text[:len(r.Text)-5] + r.Text[len(r.Text)-4:]
	g.deliver(r)
	<-b.done
	if !errors.Is(b.err, errCorrupt) || b.data != nil {
		t.Errorf("corrupted chunk: %q, %v", b.data, b.err)
	}

	c := waiting(g, 10)
	g.deliver(Record{Kind: "fail", Text: "10 this image has no agent: rebuild it"})
	<-c.done
	if !errors.Is(c.err, ErrNoAgent) {
		t.Errorf("no agent: %v", c.err)
	}
	d := waiting(g, 11)
	g.deliver(Record{Kind: "fail", Text: `11 pprof: no profile "x"`})
	<-d.done
	if d.err == nil || d.err.Error() != `pprof: no profile "x"` {
		t.Errorf("failure: %v", d.err)
	}
}
