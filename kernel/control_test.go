package kernel

import "testing"

func TestParseSignalRequest(t *testing.T) {
	for line, want := range map[string]int{"signal 15": 15, "signal 2": 2, "signal 64": 64, "signal 0015": 15} {
		if sig, ok := parseSignalRequest([]byte(line)); !ok || sig != want {
			t.Errorf("%q: %d, %v; want %d", line, sig, ok, want)
		}
	}
	for _, line := range []string{"", "signal", "signal ", "signal 0", "signal 65", "signal -1", "signal 1x", "signal 15 2", "signal 99999", "signals 15", "SIGNAL 15", "kill 9"} {
		if sig, ok := parseSignalRequest([]byte(line)); ok {
			t.Errorf("%q accepted as signal %d", line, sig)
		}
	}
}
