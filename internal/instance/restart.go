package instance

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Restart is a restart policy: what the supervisor does when the guest exits on its own
// (not through mote stop or mote kill).
type Restart struct {
	Mode string // "no", "on-failure" or "always"
	Max  int    // on-failure: at most this many restarts; 0 for no limit
}

// ParseRestart parses no, on-failure, on-failure:N or always.
func ParseRestart(s string) (Restart, error) {
	switch {
	case s == "" || s == "no":
		return Restart{Mode: "no"}, nil
	case s == "always":
		return Restart{Mode: "always"}, nil
	case s == "on-failure":
		return Restart{Mode: "on-failure"}, nil
	case strings.HasPrefix(s, "on-failure:"):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "on-failure:"))
		if err != nil || n < 1 {
			return Restart{}, fmt.Errorf("--restart %s: the limit after on-failure: is a number of restarts, at least 1", s)
		}
		return Restart{Mode: "on-failure", Max: n}, nil
	}
	return Restart{}, fmt.Errorf("--restart %s: use no, on-failure[:N] or always", s)
}

func (r Restart) String() string {
	if r.Mode == "on-failure" && r.Max > 0 {
		return "on-failure:" + strconv.Itoa(r.Max)
	}
	return r.Mode
}

// Again reports whether a guest that exited with code, after restarts restarts so far,
// should boot again.
func (r Restart) Again(code, restarts int) bool {
	switch r.Mode {
	case "always":
		return true
	case "on-failure":
		return code != 0 && (r.Max == 0 || restarts < r.Max)
	}
	return false
}

// Backoff is the pause before restart number n (from 0) of a guest that keeps exiting:
// 100 ms, doubling, at most 30 s, so a guest that fails at boot does not spin.
func Backoff(n int) time.Duration {
	d := 100 * time.Millisecond
	for i := 0; i < n && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, 30*time.Second)
}
