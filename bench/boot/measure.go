package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"mote.dev/mote/internal/linuxvm"
)

type bootTimes struct {
	firstOutput time.Duration // start to the first byte of the expected text
	exit        time.Duration // start to the process's exit
}

// boot runs argv once and times it. It fails unless the console shows expect
// and the app's exit status is 0. For QEMU itself (the Linux guest) the
// status is decoded with linuxvm.ExitStatus; any other command (mote run)
// must exit 0.
func boot(ctx context.Context, argv []string, expect string, timeout time.Duration) (bootTimes, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return bootTimes{}, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	w := &watcher{expect: []byte(expect)}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return bootTimes{}, err
	}
	w.start = start
	copyDone := make(chan struct{})
	go func() {
		io.Copy(w, stdout)
		close(copyDone)
	}()
	<-copyDone
	runErr := cmd.Wait()
	t := bootTimes{exit: time.Since(start)}

	if ctx.Err() != nil {
		return t, fmt.Errorf("no exit within %v; console:\n%s", timeout, tail(w.buf.Bytes()))
	}
	status, err := 0, runErr
	if isQEMU(argv[0]) {
		status, err = linuxvm.ExitStatus(runErr)
	}
	if err != nil {
		return t, fmt.Errorf("%v\n%s%s", err, tail(w.buf.Bytes()), stderr.Bytes())
	}
	if status != 0 {
		return t, fmt.Errorf("exit status %d; console:\n%s", status, tail(w.buf.Bytes()))
	}
	found, at := w.result()
	if !found {
		return t, fmt.Errorf("console never showed %q:\n%s", expect, tail(w.buf.Bytes()))
	}
	t.firstOutput = at
	return t, nil
}

func isQEMU(path string) bool {
	return strings.HasPrefix(filepath.Base(path), "qemu-system-")
}

// watcher keeps the console stream and notes when the expected text's first
// byte arrived: the time of the Write that brought it.
type watcher struct {
	mu     sync.Mutex
	start  time.Time
	expect []byte
	buf    bytes.Buffer
	writes []mark // where each Write began in buf, and when
	found  bool
	at     time.Duration
}

type mark struct {
	off int
	at  time.Duration
}

func (w *watcher) Write(p []byte) (int, error) {
	now := time.Since(w.start)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, mark{w.buf.Len(), now})
	w.buf.Write(p)
	if !w.found && len(w.expect) > 0 {
		if i := bytes.Index(w.buf.Bytes(), w.expect); i >= 0 {
			w.found = true
			for _, m := range w.writes {
				if m.off <= i {
					w.at = m.at
				}
			}
		}
	}
	return len(p), nil
}

func (w *watcher) result() (bool, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.found, w.at
}

func tail(b []byte) []byte {
	const n = 2000
	if len(b) > n {
		return append([]byte("..."), b[len(b)-n:]...)
	}
	return b
}
