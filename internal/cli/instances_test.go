package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mote.dev/mote/internal/instance"
)

// runState runs mote against a state directory of its own; no QEMU is involved.
func runState(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &CLI{In: strings.NewReader(""), Out: &out, Err: &errb, CacheDir: t.TempDir(), StateDir: dir}
	code = Main(context.Background(), c, args)
	return out.String(), errb.String(), code
}

func TestUnknownInstance(t *testing.T) {
	dir := t.TempDir()
	for _, cmd := range []string{"stop", "logs", "rm", "kill", "inspect"} {
		_, stderr, code := runState(t, dir, cmd, "web")
		want := "mote: " + cmd + " web: no such instance; mote ps -a lists them\n"
		if code != 1 || stderr != want {
			t.Errorf("mote %s web: exit %d, stderr %q; want 1 and %q", cmd, code, stderr, want)
		}
	}
	for _, args := range [][]string{{"logs"}, {"stop"}, {"rm"}, {"logs", "a", "b"}, {"ps", "x"}} {
		if _, stderr, code := runState(t, dir, args...); code != 2 || !strings.Contains(stderr, "mote: ") {
			t.Errorf("mote %v: exit %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
}

// TestBrokenStateDir: corrupted and stale instances are listed as what they are, and can be
// removed; nothing panics.
func TestBrokenStateDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		os.MkdirAll(filepath.Join(dir, name), 0o700)
		if content != "" {
			os.WriteFile(filepath.Join(dir, name, "state.json"), []byte(content), 0o600)
		}
	}
	write("garbage", `{"name":"garbage","stat`)
	write("nofile", "")
	// Recorded as running, but its supervisor and QEMU are long gone: pid 1 with a start time
	// no process can have is a pid since reused.
	write("stale", `{"name":"stale","image":"./app","status":"running","supervisor":{"pid":1,"start":18446744073709551615},"vmm":{"pid":1,"start":18446744073709551615}}`)
	os.WriteFile(filepath.Join(dir, "stray-file"), []byte("x"), 0o600)

	out, stderr, code := runState(t, dir, "ps")
	if code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("ps: exit %d, want only the header\n%s%s", code, out, stderr)
	}
	out, _, code = runState(t, dir, "ps", "-a", "--format", "json")
	if code != 0 {
		t.Fatalf("ps -a: exit %d", code)
	}
	states := map[string]string{}
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var e psEntry
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("ps --format json: %v\n%s", err, out)
		}
		states[e.Name] = e.State
	}
	want := map[string]string{"garbage": "unknown", "nofile": "unknown", "stale": "exited"}
	for n, s := range want {
		if states[n] != s {
			t.Errorf("ps -a: %s is %q, want %q (all: %v)", n, states[n], s, states)
		}
	}
	if len(states) != len(want) {
		t.Errorf("ps -a lists %v", states)
	}

	os.WriteFile(filepath.Join(dir, "garbage", "console.log"), []byte("2026-01-02T03:04:05Z stdout F still here\n"), 0o600)
	if out, stderr, code := runState(t, dir, "logs", "-f", "garbage"); code != 0 || out != "still here\n" || !strings.Contains(stderr, "unreadable") {
		t.Errorf("logs of an instance with a corrupted state: exit %d\nstdout %q\nstderr %q", code, out, stderr)
	}
	_, stderr, code = runState(t, dir, "stop", "garbage")
	if code != 1 || !strings.Contains(stderr, "unreadable") || !strings.Contains(stderr, "mote rm garbage") {
		t.Errorf("stop garbage: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := runState(t, dir, "kill", "stale"); code != 1 || !strings.Contains(stderr, "kill stale: the instance is not running") {
		t.Errorf("kill stale: exit %d, stderr %q", code, stderr)
	}
	if out, stderr, code := runState(t, dir, "stop", "stale"); code != 0 || out != "stale\n" {
		t.Errorf("stop stale: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = runState(t, dir, "rm", "garbage", "nofile", "stale", "nope")
	if code != 1 || out != "garbage\nnofile\nstale\n" || !strings.Contains(stderr, "rm nope: no such instance") {
		t.Errorf("rm: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "stray-file" {
		t.Errorf("left in the state directory: %v", ents)
	}
}

// TestRmRunning: a running instance is refused without -f.
func TestRmRunning(t *testing.T) {
	dir := t.TempDir()
	s, _ := instance.Open(dir)
	// This test process stands in for the supervisor and QEMU: both alive.
	st := &instance.State{Name: "busy", Status: instance.Running, Created: time.Now(), Started: time.Now(),
		Supervisor: instance.Self(), VMM: instance.Self()}
	if _, err := s.Create(st); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runState(t, dir, "rm", "busy")
	if code != 1 || !strings.Contains(stderr, "rm busy: the instance is running; stop it first (mote stop busy) or remove it anyway with mote rm -f busy") {
		t.Errorf("rm busy: exit %d, stderr %q", code, stderr)
	}
	out, _, code := runState(t, dir, "ps")
	if code != 0 || !strings.Contains(out, "busy") || !strings.Contains(out, "Up ") {
		t.Errorf("ps: exit %d\n%s", code, out)
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"TERM": 15, "sigterm": 15, "SIGKILL": 9, "9": 9, "hup": 1, "USR1": 10} {
		if got, err := parseSignal(in); err != nil || int(got) != want {
			t.Errorf("parseSignal(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0", "65", "-1", "BOGUS", "SIG"} {
		if _, err := parseSignal(bad); err == nil {
			t.Errorf("parseSignal(%q) accepted", bad)
		}
	}
}

// TestLogsFilters: logs splits stdout and stderr, and --since, --tail, -t and --kernel select
// and decorate entries, on a log written as the supervisor writes it.
func TestLogsFilters(t *testing.T) {
	dir := t.TempDir()
	s, _ := instance.Open(dir)
	in, err := s.Create(&instance.State{Name: "app", Status: instance.Exited, ExitCode: 0})
	if err != nil {
		t.Fatal(err)
	}
	log := strings.Join([]string{
		"2026-01-02T03:04:05Z stdout F one",
		"2026-01-02T03:04:06Z kernel F log something",
		"2026-01-02T03:04:07Z stderr F warn",
		"2026-01-02T03:04:08Z stdout P par",
		"2026-01-02T03:04:08.5Z stdout F tial",
		"not a log line",
		"2026-01-02T03:04:09Z stdout F two",
		"2026-01-02T03:04:10Z stdout F half-writ", // no newline: still being written
	}, "\n")
	os.WriteFile(in.Path(instance.LogFile), []byte(log), 0o600)
	for _, tc := range []struct {
		args         []string
		stdout, errs string
	}{
		{[]string{"logs", "app"}, "one\npartial\ntwo\n", "warn\n"},
		{[]string{"logs", "--kernel", "app"}, "one\npartial\ntwo\n", "kernel: log something\nwarn\n"},
		{[]string{"logs", "--since", "2026-01-02T03:04:07Z", "app"}, "partial\ntwo\n", "warn\n"},
		{[]string{"logs", "-n", "1", "app"}, "two\n", ""},
		{[]string{"logs", "-t", "-n", "1", "app"}, "2026-01-02T03:04:09Z two\n", ""},
		{[]string{"logs", "-f", "app"}, "one\npartial\ntwo\n", "warn\n"}, // exited: -f ends
	} {
		out, errs, code := runState(t, dir, tc.args...)
		if code != 0 || out != tc.stdout || errs != tc.errs {
			t.Errorf("mote %v: exit %d\nstdout %q, want %q\nstderr %q, want %q", tc.args, code, out, tc.stdout, errs, tc.errs)
		}
	}
	for _, bad := range [][]string{{"logs", "--since", "yesterday", "app"}, {"logs", "-n", "-3", "app"}} {
		if _, errs, code := runState(t, dir, bad...); code != 2 || errs == "" {
			t.Errorf("mote %v: exit %d, stderr %q", bad, code, errs)
		}
	}
}
