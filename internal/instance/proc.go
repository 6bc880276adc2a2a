package instance

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Proc identifies a process across pid reuse: its pid and its start time (clock ticks after
// boot, field 22 of /proc/PID/stat). A pid alone may name an unrelated process once the
// recorded one has exited.
type Proc struct {
	Pid   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// ProcOf returns the identity of the running process pid.
func ProcOf(pid int) (Proc, error) {
	start, state, err := readStat(pid)
	if err != nil {
		return Proc{}, err
	}
	if state == 'Z' || state == 'X' {
		return Proc{}, fmt.Errorf("process %d has exited", pid)
	}
	return Proc{Pid: pid, Start: start}, nil
}

// Self is this process.
func Self() Proc {
	p, err := ProcOf(os.Getpid())
	if err != nil {
		return Proc{Pid: os.Getpid()}
	}
	return p
}

// Alive reports whether p still runs: same pid, same start time, not a zombie.
func (p Proc) Alive() bool {
	if p.Pid <= 0 {
		return false
	}
	q, err := ProcOf(p.Pid)
	return err == nil && q.Start == p.Start
}

// readStat returns the start time and state letter of pid.
func readStat(pid int) (start uint64, state byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	return parseStat(b)
}

// parseStat reads /proc/PID/stat: "pid (comm) state ppid ...". comm may hold spaces and
// parentheses, so the fields are counted from the last ')'.
func parseStat(b []byte) (start uint64, state byte, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("malformed /proc stat")
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil || len(f[0]) != 1 {
		return 0, 0, fmt.Errorf("malformed /proc stat")
	}
	return start, f[0][0], nil
}

// RSS returns the resident set size of p in bytes (VmRSS of /proc/PID/status).
func (p Proc) RSS() (int64, error) {
	if !p.Alive() {
		return 0, fmt.Errorf("process %d is not running", p.Pid)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				n, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return n << 10, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS for process %d", p.Pid)
}
