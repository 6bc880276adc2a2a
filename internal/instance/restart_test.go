package instance

import (
	"testing"
	"time"
)

func TestRestart(t *testing.T) {
	for _, bad := range []string{"sometimes", "on-failure:", "on-failure:0", "on-failure:-1", "on-failure:x", "always:3"} {
		if _, err := ParseRestart(bad); err == nil {
			t.Errorf("ParseRestart(%q) accepted", bad)
		}
	}
	for _, tc := range []struct {
		policy         string
		code, restarts int
		want           bool
	}{
		{"no", 1, 0, false},
		{"", 1, 0, false},
		{"always", 0, 100, true},
		{"on-failure", 0, 0, false},
		{"on-failure", 2, 50, true},
		{"on-failure:2", 1, 1, true},
		{"on-failure:2", 1, 2, false},
	} {
		r, err := ParseRestart(tc.policy)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Again(tc.code, tc.restarts); got != tc.want {
			t.Errorf("%s: Again(%d, %d) = %v", tc.policy, tc.code, tc.restarts, got)
		}
		if tc.policy != "" && r.String() != tc.policy {
			t.Errorf("String() = %q, want %q", r, tc.policy)
		}
	}
	if Backoff(0) != 100*time.Millisecond || Backoff(1) != 200*time.Millisecond || Backoff(100) != 30*time.Second {
		t.Errorf("backoff %v %v %v", Backoff(0), Backoff(1), Backoff(100))
	}
}
