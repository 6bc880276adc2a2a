package integration

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mote.dev/mote/internal/cli"
)

// The lifecycle tests run the mote binary itself: mote run -d starts mote again as the
// instance's supervisor, which must outlive the command that started it.

// buildMote builds cmd/mote into a temporary directory.
func buildMote(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mote")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/mote")
	cmd.Dir = repo(t, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building mote: %v\n%s", err, out)
	}
	return bin
}

// moteCmd runs the mote binary with its state in stateDir.
type moteCmd struct {
	t        *testing.T
	bin      string
	stateDir string
}

func (m *moteCmd) cmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, m.bin, args...)
	c.Env = append(os.Environ(), "MOTE_STATE_DIR="+m.stateDir)
	return c
}

func (m *moteCmd) run(ctx context.Context, args ...string) result {
	m.t.Helper()
	c := m.cmd(ctx, args...)
	var out, errb syncBuffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		m.t.Fatalf("mote %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// psEntry is what mote ps --format json prints per instance.
type psEntry struct {
	Name     string   `json:"name"`
	Image    string   `json:"image"`
	State    string   `json:"state"`
	Status   string   `json:"status"`
	ExitCode *int     `json:"exitCode"`
	Uptime   float64  `json:"uptimeSeconds"`
	Ports    []string `json:"ports"`
	RSS      int64    `json:"rssBytes"`
}

func (m *moteCmd) ps(ctx context.Context, all bool) map[string]psEntry {
	m.t.Helper()
	args := []string{"ps", "--format", "json"}
	if all {
		args = append(args, "-a")
	}
	r := m.run(ctx, args...)
	if r.code != 0 {
		m.t.Fatalf("mote ps: exit %d\n%s", r.code, r.stderr)
	}
	out := map[string]psEntry{}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for dec.More() {
		var e psEntry
		if err := dec.Decode(&e); err != nil {
			m.t.Fatalf("mote ps --format json: %v\n%s", err, r.stdout)
		}
		out[e.Name] = e
	}
	return out
}

// waitFor polls until cond holds, for at most d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Since(start) > d {
			t.Fatalf("gave up after %v waiting for %s", d, what)
		}
	}
}

// TestLifecycle: run -d, ps, logs -f, stop (the app's SIGTERM handler runs and its last line
// is in the log), rm; a name in use is refused; a guest whose QEMU is SIGKILLed shows as
// exited.
func TestLifecycle(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	ctx := timeout(t)
	m := &moteCmd{t: t, bin: buildMote(t), stateDir: t.TempDir()}
	t.Cleanup(func() {
		// Leave no guest running if the test fails half-way.
		m.run(context.Background(), "rm", "-f", "web")
		if ps := m.ps(context.Background(), true); len(ps) > 0 {
			for name := range ps {
				m.run(context.Background(), "rm", "-f", name)
			}
		}
	})

	r := m.run(ctx, "run", "-d", "--name", "web", prog(t, "sigterm"))
	if r.code != 0 || r.stdout != "web\n" {
		t.Fatalf("run -d: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = m.run(ctx, "run", "-d", prog(t, "sleeper"))
	victim := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(victim, "sleeper-") {
		t.Fatalf("run -d without --name: exit %d, name %q\n%s", r.code, victim, r.stderr)
	}
	if r := m.run(ctx, "run", "-d", "--name", "web", prog(t, "sleeper")); r.code != 1 || !strings.Contains(r.stderr, `the name "web" is already in use`) {
		t.Errorf("a second web: exit %d, stderr:\n%s", r.code, r.stderr)
	}

	ps := m.ps(ctx, false)
	if e := ps["web"]; e.State != "running" || e.Image != prog(t, "sigterm") || e.RSS <= 0 || !strings.HasPrefix(e.Status, "Up ") {
		t.Errorf("ps: web is %+v, want running with QEMU's memory", e)
	}
	if e := ps[victim]; e.State != "running" {
		t.Errorf("ps: %s is %+v", victim, e)
	}

	// logs -f follows the guest until it exits.
	var logs syncBuffer
	follow := m.cmd(ctx, "logs", "-f", "web")
	follow.Stdout, follow.Stderr = &logs, &logs
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	followed := make(chan error, 1)
	go func() { followed <- follow.Wait() }()
	waitFor(t, deadline, "the guest's first line in mote logs -f", func() bool {
		return strings.Contains(logs.String(), "serving; waiting for SIGTERM\n")
	})

	// A generous deadline: the host may be busy with other guests.
	if r := m.run(ctx, "stop", "-t", "120", "web"); r.code != 0 || r.stdout != "web\n" {
		t.Errorf("stop: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	select {
	case err := <-followed:
		if err != nil {
			t.Errorf("logs -f: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Error("logs -f still follows a stopped instance")
	}
	if !strings.Contains(logs.String(), "got terminated after") || !strings.Contains(logs.String(), "shutting down cleanly\n") {
		t.Errorf("the app's last line is not in the log (its SIGTERM handler did not run?):\n%s", logs.String())
	}
	// The whole log, once more, without following.
	if r := m.run(ctx, "logs", "web"); !strings.Contains(r.stdout, "serving; waiting for SIGTERM\ngot terminated") {
		t.Errorf("logs: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if e := m.ps(ctx, true)["web"]; e.State != "exited" || e.ExitCode == nil || *e.ExitCode != 0 {
		t.Errorf("ps -a after stop: web is %+v, want exited (0)", e)
	}
	if _, ok := m.ps(ctx, false)["web"]; ok {
		t.Error("ps without -a lists an exited instance")
	}
	var insp []struct {
		Status        string `json:"status"`
		ExitCode      int    `json:"exitCode"`
		StopRequested bool   `json:"stopRequested"`
	}
	r = m.run(ctx, "inspect", "web")
	if err := json.Unmarshal([]byte(r.stdout), &insp); err != nil || len(insp) != 1 || insp[0].Status != "exited" || insp[0].ExitCode != 0 || !insp[0].StopRequested {
		t.Errorf("inspect: %v %+v\n%s", err, insp, r.stdout)
	}
	if r := m.run(ctx, "rm", "web"); r.code != 0 || r.stdout != "web\n" {
		t.Errorf("rm: exit %d\n%s", r.code, r.stderr)
	}
	if _, ok := m.ps(ctx, true)["web"]; ok {
		t.Error("ps -a lists a removed instance")
	}
	if r := m.run(ctx, "logs", "web"); r.code != 1 || !strings.Contains(r.stderr, "no such instance") {
		t.Errorf("logs of a removed instance: exit %d, stderr %q", r.code, r.stderr)
	}

	// The other guest's QEMU is killed behind mote's back.
	r = m.run(ctx, "inspect", victim)
	var vi []struct {
		VMM struct{ Pid int } `json:"vmm"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &vi); err != nil || len(vi) != 1 || vi[0].VMM.Pid <= 0 {
		t.Fatalf("inspect %s: %v\n%s", victim, err, r.stdout)
	}
	if err := syscall.Kill(vi[0].VMM.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var e psEntry
	waitFor(t, time.Minute, victim+" shown as exited", func() bool {
		e = m.ps(ctx, true)[victim]
		return e.State == "exited"
	})
	if _, ok := m.ps(ctx, false)[victim]; ok {
		t.Errorf("ps lists %s as running after its QEMU was killed", victim)
	}
	waitFor(t, time.Minute, victim+"'s exit status recorded", func() bool {
		e = m.ps(ctx, true)[victim]
		return e.ExitCode != nil
	})
	if *e.ExitCode != 137 {
		t.Errorf("%s: exit status %d, want 137 (QEMU killed by SIGKILL): %+v", victim, *e.ExitCode, e)
	}
	if r := m.run(ctx, "rm", victim); r.code != 0 {
		t.Errorf("rm %s: exit %d\n%s", victim, r.code, r.stderr)
	}
}

// TestStopDeadline: an app that ignores SIGTERM is killed when mote stop's time is up, and the
// instance says so.
func TestStopDeadline(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	ctx := timeout(t)
	m := &moteCmd{t: t, bin: buildMote(t), stateDir: t.TempDir()}
	t.Cleanup(func() { m.run(context.Background(), "rm", "-f", "stuck") })
	if r := m.run(ctx, "run", "-d", "--name", "stuck", prog(t, "sigterm"), "--", "-ignore"); r.code != 0 {
		t.Fatalf("run -d: exit %d\n%s", r.code, r.stderr)
	}
	waitFor(t, deadline, "the app's first line", func() bool {
		return strings.Contains(m.run(ctx, "logs", "stuck").stdout, "serving; ignoring SIGTERM\n")
	})
	if r := m.run(ctx, "stop", "-t", "2", "stuck"); r.code != 0 {
		t.Errorf("stop: exit %d\n%s", r.code, r.stderr)
	}
	var insp []struct {
		Status   string `json:"status"`
		ExitCode int    `json:"exitCode"`
		Error    string `json:"error"`
	}
	r := m.run(ctx, "inspect", "stuck")
	if err := json.Unmarshal([]byte(r.stdout), &insp); err != nil || len(insp) != 1 {
		t.Fatalf("inspect: %v\n%s", err, r.stdout)
	}
	if e := insp[0]; e.Status != "exited" || e.ExitCode != 137 || !strings.Contains(e.Error, "did not exit within 2s of SIGTERM") {
		t.Errorf("after stop -t 2 of an app that ignores SIGTERM: %+v", e)
	}
	if r := m.run(ctx, "logs", "stuck"); !strings.Contains(r.stderr, "did not exit within 2s of SIGTERM") {
		t.Errorf("logs do not say why the guest was killed:\n%s", r.stderr)
	}
}

// TestRestartPolicy: --restart on-failure:2 boots a failing guest twice more, then leaves it
// exited; logs -f follows all three boots.
func TestRestartPolicy(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	ctx := timeout(t)
	m := &moteCmd{t: t, bin: buildMote(t), stateDir: t.TempDir()}
	t.Cleanup(func() { m.run(context.Background(), "rm", "-f", "flaky") })
	if r := m.run(ctx, "run", "-d", "--name", "flaky", "--restart", "on-failure:2", prog(t, "exit7")); r.code != 0 {
		t.Fatalf("run -d: exit %d\n%s", r.code, r.stderr)
	}
	r := m.run(ctx, "logs", "-f", "flaky")
	if n := strings.Count(r.stdout, "exiting with 7\n"); n != 3 || strings.Count(r.stderr, "restarting (--restart on-failure:2)") != 2 {
		t.Errorf("logs -f: %d boots, want 3\nstdout:\n%s\nstderr:\n%s", n, r.stdout, r.stderr)
	}
	var insp []struct {
		Status       string `json:"status"`
		ExitCode     int    `json:"exitCode"`
		RestartCount int    `json:"restartCount"`
	}
	r = m.run(ctx, "inspect", "flaky")
	if err := json.Unmarshal([]byte(r.stdout), &insp); err != nil || len(insp) != 1 {
		t.Fatalf("inspect: %v\n%s", err, r.stdout)
	}
	if e := insp[0]; e.Status != "exited" || e.ExitCode != 7 || e.RestartCount != 2 {
		t.Errorf("after on-failure:2: %+v, want exited (7) after 2 restarts", e)
	}
}

// TestSIGTERMDefault: a SIGTERM to mote run reaches the app through the kernel channel (COM3's
// receive interrupt, on both machines); one without a handler dies of it as on Linux, with
// exit status 143.
func TestSIGTERMDefault(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	for _, m := range machines() {
		t.Run(m[0]+"-"+m[1], func(t *testing.T) {
			t.Parallel()
			sigs := make(chan os.Signal, 1)
			var out, errb syncBuffer
			c := &cli.CLI{In: strings.NewReader(""), Out: &out, Err: &errb, Signals: sigs}
			done := make(chan int, 1)
			go func() {
				done <- cli.Main(timeout(t), c, []string{"run", "--machine", m[0], "--accel", m[1], prog(t, "sleeper")})
			}()
			for !strings.Contains(out.String(), "sleeping\n") {
				select {
				case code := <-done:
					t.Fatalf("exit %d before the app slept\nstderr:\n%s", code, errb.String())
				case <-time.After(50 * time.Millisecond):
				}
			}
			sigs <- syscall.SIGTERM
			select {
			case code := <-done:
				if code != 143 || !strings.Contains(errb.String(), "app killed by signal 15 (SIGTERM)") {
					t.Errorf("exit %d, want 143\nstderr:\n%s", code, errb.String())
				}
				if strings.Contains(errb.String(), "rip 0x") {
					t.Errorf("a register dump for a signal sent to the app:\n%s", errb.String())
				}
			case <-time.After(2 * time.Minute):
				t.Fatal("mote run did not end after SIGTERM")
			}
		})
	}
}
