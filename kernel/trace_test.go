package kernel

import "testing"

func TestTraceEscape(t *testing.T) {
	var out []byte
	for _, c := range []byte("a b%\n~\x00\xff") {
		e, n := traceEscape(c)
		out = append(out, e[:n]...)
	}
	if got, want := string(out), "a%20b%25%0a~%00%ff"; got != want {
		t.Errorf("escaped %q, want %q", got, want)
	}
}

// TestTraceMemTable: every memory argument the kernel copies is one the call has.
func TestTraceMemTable(t *testing.T) {
	for nr, m := range traceMemTable {
		if m.paths>>6 != 0 || m.buf > 6 || m.buf != 0 && m.bufLen == 0 || m.bufLen > 6 && m.bufLen != lenResult {
			t.Errorf("syscall %d: bad entry %+v", nr, m)
		}
	}
}
