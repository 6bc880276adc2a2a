package instance

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// The log holds the guest's stdout and stderr, the kernel channel's records and the
// supervisor's own messages, in arrival order, one entry per line in the CRI logging format
// (as Kubernetes keeps container logs):
//
//	2026-11-26T17:15:00.123456789Z stdout F hello
//
// F marks a full line, P a part of one that continues in the next entry of the stream (a
// line longer than maxLine, or the last bytes before the stream ended). The text is the
// guest's bytes as they came; the timestamp is when the host received the line's end, which
// is what mote logs --since filters on.

// Streams of the log.
const (
	Stdout = "stdout"
	Stderr = "stderr"
	Kernel = "kernel" // kernel channel records, "log ..." and "exit N"
)

// maxLine bounds the bytes held back waiting for a newline.
const maxLine = 16 << 10

// MaxLogSize bounds a log file: past it, the file becomes PATH.1 (replacing the one before)
// and a new one starts, so an instance keeps at most twice this much output.
const MaxLogSize = 32 << 20

// Log appends entries to an instance's log file.
type Log struct {
	mu   sync.Mutex
	path string
	f    *os.File
	size int64
	max  int64
	now  func() time.Time
}

// OpenLog opens (or creates) the log file for appending.
func OpenLog(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	l := &Log{path: path, f: f, max: MaxLogSize, now: time.Now}
	if st, err := f.Stat(); err == nil {
		l.size = st.Size()
	}
	return l, nil
}

// Close closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// rotate moves the full file aside and starts a new one; l.mu is held. If that fails, the
// log goes on in the old file.
func (l *Log) rotate() {
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		os.Rename(l.path+".1", l.path)
		return
	}
	l.f.Close()
	l.f, l.size = f, 0
}

// entry writes one entry.
func (l *Log) entry(stream string, partial bool, text []byte) {
	tag := "F"
	if partial {
		tag = "P"
	}
	var b bytes.Buffer
	b.WriteString(l.now().UTC().Format(time.RFC3339Nano))
	b.WriteString(" " + stream + " " + tag + " ")
	b.Write(text)
	b.WriteByte('\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.size > 0 && l.size+int64(b.Len()) > l.max {
		l.rotate()
	}
	n, _ := l.f.Write(b.Bytes())
	l.size += int64(n)
}

// Line writes one whole line (without its newline) to stream.
func (l *Log) Line(stream, text string) { l.entry(stream, false, []byte(text)) }

// Stream returns a writer that turns a byte stream into entries of stream. Close it to
// flush a last line that has no newline.
func (l *Log) Stream(stream string) io.WriteCloser { return &streamWriter{log: l, stream: stream} }

type streamWriter struct {
	mu     sync.Mutex
	log    *Log
	stream string
	buf    []byte
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.log.entry(w.stream, false, bytes.TrimSuffix(w.buf[:i], []byte("\r")))
		w.buf = w.buf[i+1:]
	}
	for len(w.buf) >= maxLine {
		w.log.entry(w.stream, true, w.buf[:maxLine])
		w.buf = w.buf[maxLine:]
	}
	if len(w.buf) == 0 {
		w.buf = nil // let a large buffer go
	}
	return len(p), nil
}

func (w *streamWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.log.entry(w.stream, true, w.buf)
		w.buf = nil
	}
	return nil
}

// Entry is one entry of a log.
type Entry struct {
	Time    time.Time
	Stream  string
	Partial bool
	Text    []byte
}

// ParseEntry parses one line of a log file (without its newline).
func ParseEntry(line []byte) (Entry, error) {
	var e Entry
	f := bytes.SplitN(line, []byte(" "), 4)
	if len(f) < 3 {
		return e, fmt.Errorf("malformed log entry %.40q", line)
	}
	t, err := time.Parse(time.RFC3339Nano, string(f[0]))
	if err != nil {
		return e, fmt.Errorf("malformed log entry %.40q: %v", line, err)
	}
	switch string(f[2]) {
	case "F":
	case "P":
		e.Partial = true
	default:
		return e, fmt.Errorf("malformed log entry %.40q: tag %q", line, f[2])
	}
	e.Time, e.Stream = t, string(f[1])
	if len(f) == 4 {
		e.Text = f[3]
	}
	return e, nil
}

// Reader reads entries from a log file as it grows. A line still being written (no newline
// yet) is held back until it is complete.
type Reader struct {
	r       *bufio.Reader
	pending []byte
}

// NewReader reads entries from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 64<<10)} }

// Next returns the next complete entry, or io.EOF when there is none yet. Malformed lines
// (a file edited by hand, a disk that filled up) are skipped.
func (r *Reader) Next() (Entry, error) {
	for {
		chunk, err := r.r.ReadSlice('\n')
		r.pending = append(r.pending, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return Entry{}, err // the partial line stays pending
		}
		line := bytes.TrimSuffix(r.pending, []byte("\n"))
		r.pending = r.pending[:0]
		e, perr := ParseEntry(line)
		if perr != nil {
			continue
		}
		e.Text = bytes.Clone(e.Text)
		return e, nil
	}
}

// LogReader reads an instance's log from its oldest entry, the rotated file first, and
// follows the log across rotations as it grows.
type LogReader struct {
	path    string
	f       *os.File
	r       *Reader
	rotated bool // f is PATH.1, read before PATH
}

// OpenLogReader reads the log at path. A log that does not exist yet reads as empty.
func OpenLogReader(path string) *LogReader {
	l := &LogReader{path: path}
	if f, err := os.Open(path + ".1"); err == nil {
		l.f, l.r, l.rotated = f, NewReader(f), true
	}
	return l
}

// Close closes the file being read.
func (l *LogReader) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// Next returns the next entry, or io.EOF when there is none yet.
func (l *LogReader) Next() (Entry, error) {
	for {
		if l.f == nil {
			f, err := os.Open(l.path)
			if err != nil {
				return Entry{}, io.EOF // not made yet, or being rotated
			}
			l.f, l.r = f, NewReader(f)
		}
		e, err := l.r.Next()
		if err != io.EOF {
			return e, err
		}
		if l.rotated {
			// Done with the older file; on to the current one.
			l.f.Close()
			l.f, l.rotated = nil, false
			continue
		}
		// Caught up. If the file was rotated meanwhile, its last entries may have been
		// written after the read above: read it to its end, then go on with the new file.
		cur, err1 := l.f.Stat()
		now, err2 := os.Stat(l.path)
		if err1 != nil || err2 != nil || os.SameFile(cur, now) {
			return Entry{}, io.EOF
		}
		l.rotated = true
	}
}
