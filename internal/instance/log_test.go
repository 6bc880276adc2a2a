package instance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestLogRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	l, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	tick := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l.now = func() time.Time { tick = tick.Add(time.Second); return tick }
	out, errw := l.Stream(Stdout), l.Stream(Stderr)
	io.WriteString(out, "hel")
	io.WriteString(out, "lo\nwor")
	io.WriteString(errw, "oops\r\n")
	io.WriteString(out, "ld\n")
	l.Line(Kernel, "exit 0")
	io.WriteString(out, "no newline at the end")
	out.Close()
	errw.Close()
	long := strings.Repeat("z", maxLine+10)
	s2 := l.Stream(Stdout)
	io.WriteString(s2, long) // held back too long: written as a part
	io.WriteString(s2, "\n")
	l.Close()

	f, _ := os.Open(path)
	defer f.Close()
	r := NewReader(f)
	var got []string
	var last time.Time
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !e.Time.After(last) {
			t.Errorf("times not increasing: %v after %v", e.Time, last)
		}
		last = e.Time
		tag := "F"
		if e.Partial {
			tag = "P"
		}
		got = append(got, e.Stream+" "+tag+" "+string(e.Text))
	}
	want := []string{
		"stdout F hello",
		"stderr F oops",
		"stdout F world",
		"kernel F exit 0",
		"stdout P no newline at the end",
		"stdout P " + long[:maxLine],
		"stdout F zzzzzzzzzz",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%.300s\nwant:\n%.300s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReaderFollows: a line being written is held back until its newline arrives, and
// malformed lines are skipped.
func TestReaderFollows(t *testing.T) {
	var buf bytes.Buffer
	r := NewReader(&buf)
	buf.WriteString("2026-01-02T03:04:05Z stdout F one\ngarbage line\n2026-01-02T03:04:06Z std")
	e, err := r.Next()
	if err != nil || string(e.Text) != "one" {
		t.Fatalf("first: %q %v", e.Text, err)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("half a line: %v, want EOF", err)
	}
	buf.WriteString("err F two\n")
	e, err = r.Next()
	if err != nil || e.Stream != Stderr || string(e.Text) != "two" {
		t.Fatalf("completed line: %+v %v", e, err)
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add([]byte("2026-01-02T03:04:05.123Z stdout F hi there"))
	f.Add([]byte("2026-01-02T03:04:05Z kernel P "))
	f.Add([]byte("x y"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntry(b)
		if err == nil && e.Stream == "" && !bytes.Contains(b, []byte("  ")) {
			t.Errorf("empty stream from %q", b)
		}
	})
}

// TestLogRotation: a full log moves to PATH.1; a reader that keeps up sees every entry once, in
// order, across rotations, and a new reader starts at the rotated file.
func TestLogRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	l, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	l.max = 300 // a few entries per file
	follow := OpenLogReader(path)
	defer follow.Close()
	var seen []string
	drain := func(r *LogReader) (out []string) {
		for {
			e, err := r.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(e.Text))
		}
	}
	var want []string
	for i := range 40 {
		line := fmt.Sprintf("line %02d", i)
		want = append(want, line)
		l.Line(Stdout, line)
		if i%3 == 0 {
			seen = append(seen, drain(follow)...)
		}
	}
	seen = append(seen, drain(follow)...)
	l.Close()
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("follower saw:\n%v\nwant:\n%v", seen, want)
	}
	for _, p := range []string{path, path + ".1"} {
		if st, err := os.Stat(p); err != nil || st.Size() > 300 {
			t.Errorf("%s: %v, %v", p, st, err)
		}
	}
	fresh := OpenLogReader(path)
	defer fresh.Close()
	got := drain(fresh)
	if len(got) == 0 || len(got) >= len(want) || got[len(got)-1] != "line 39" || !sort.StringsAreSorted(got) {
		t.Errorf("a new reader saw %v; want the latest entries in order", got)
	}
}
