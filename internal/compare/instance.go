package compare

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Instance is one running app, however it runs.
type Instance struct {
	Addr   string // host:port where the app answers; empty without a port
	Output *Tail  // what the app (or the guest's console) printed

	pid     atomic.Int64 // the process whose memory is the instance's; 0 until known
	done    chan struct{}
	err     error             // how it ended, once done is closed
	stop    func()            // asks it to end
	explain func(error) error // if set, turns the command's ending into the app's
	cleanup []func()
	once    sync.Once
}

func newInstance(addr string) *Instance {
	return &Instance{Addr: addr, Output: &Tail{}, done: make(chan struct{})}
}

// PID is the process whose resident memory is the instance's (the app, or the VMM); 0 while
// not known.
func (i *Instance) PID() int { return int(i.pid.Load()) }

// waitPID waits up to d for the PID to be known: a container can answer before runc has
// written its pid file.
func (i *Instance) waitPID(d time.Duration) int {
	for end := time.Now().Add(d); i.PID() == 0 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	return i.PID()
}

// Done is closed when the instance has ended.
func (i *Instance) Done() <-chan struct{} { return i.done }

// Err says how it ended, once Done is closed.
func (i *Instance) Err() error { return i.err }

// ended says how it ended, for messages.
func (i *Instance) ended() string {
	if i.err == nil {
		return "exit status 0"
	}
	return i.err.Error()
}

func (i *Instance) exited(err error) {
	if i.explain != nil {
		err = i.explain(err)
	}
	i.err = err
	close(i.done)
}

// undo runs the cleanups of an instance that did not start.
func (i *Instance) undo() {
	for k := len(i.cleanup) - 1; k >= 0; k-- {
		i.cleanup[k]()
	}
	i.cleanup = nil
}

// Stop ends the instance and waits for it, then undoes what starting it set up.
func (i *Instance) Stop() {
	i.once.Do(func() {
		select {
		case <-i.done:
		default:
			i.stop()
			<-i.done
		}
		for k := len(i.cleanup) - 1; k >= 0; k-- {
			i.cleanup[k]()
		}
	})
}

// stopGrace is how long a stopped process gets between SIGTERM and SIGKILL.
const stopGrace = 3 * time.Second

// startCommand runs cmd in its own process group with its output going to the instance's
// tail. pidIsCmd says whether cmd's own process is the one to measure.
func (i *Instance) startCommand(cmd *exec.Cmd, pidIsCmd bool) error {
	cmd.Stdout, cmd.Stderr = i.Output, i.Output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	if pidIsCmd {
		i.pid.Store(int64(cmd.Process.Pid))
	}
	go func() { i.exited(cmd.Wait()) }()
	i.stop = func() { terminate(cmd.Process.Pid, i.done) }
	return nil
}

// terminate sends the process group SIGTERM, then SIGKILL after stopGrace.
func terminate(pid int, done <-chan struct{}) {
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(stopGrace):
		syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// Tail keeps the last bytes written to it and notes the first complete line.
type Tail struct {
	mu        sync.Mutex
	buf       []byte
	firstLine chan struct{}
	seenLine  bool
}

const tailSize = 2048

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	if !t.seenLine && bytes.IndexByte(p, '\n') >= 0 {
		t.seenLine = true
		close(t.firstLine)
	}
	return len(p), nil
}

func (t *Tail) init() {
	if t.firstLine == nil {
		t.firstLine = make(chan struct{})
	}
}

// FirstLine is closed once a line has been completed.
func (t *Tail) FirstLine() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	return t.firstLine
}

// Tail returns the last bytes written, or "(no output)".
func (t *Tail) Tail() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > tailSize {
		b = b[len(b)-tailSize:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	s := strings.TrimRight(string(b), "\r\n ")
	if s == "" {
		return "(no output)"
	}
	return strings.ReplaceAll(s, "\r\n", "\n")
}

// RSS reads a process's resident memory now and its peak (VmRSS and VmHWM), in bytes; zeros
// when the process is gone or unknown.
func RSS(pid int) (now, peak int64) {
	if pid <= 0 {
		return 0, 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		if k == "VmRSS" {
			now = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return now, peak
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return fmt.Sprintf("%d × %s", runtime.NumCPU(), strings.TrimSpace(v))
		}
	}
	return fmt.Sprintf("%d CPUs", runtime.NumCPU())
}
