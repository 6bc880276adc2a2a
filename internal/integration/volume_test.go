package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mote.dev/mote/internal/cli"
)

// volumeDirs makes a read-write and a read-only host directory, each holding host.txt.
func volumeDirs(t *testing.T) (rw, ro string) {
	rw, ro = t.TempDir(), t.TempDir()
	for _, d := range []string{rw, ro} {
		if err := os.WriteFile(filepath.Join(d, "host.txt"), []byte("from the host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return rw, ro
}

// TestVolumeFiles mounts a host directory read-write and another read-only, on both
// transports, and checks what the guest did from the host.
func TestVolumeFiles(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	for _, machine := range []string{"microvm", "q35"} {
		t.Run(machine, func(t *testing.T) {
			t.Parallel()
			rw, ro := volumeDirs(t)
			r := mote(timeout(t), t, "", "run", "--machine", machine, "-v", rw+":/data", "-v", ro+":/ro:ro",
				prog(t, "volfiles"), "--", "/data", "/ro")
			if r.code != 0 || !strings.HasSuffix(r.stdout, "done\n") {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if b, err := os.ReadFile(filepath.Join(rw, "state.json")); err != nil || string(b) != "01234XY789" {
				t.Errorf("state.json on the host: %q %v", b, err)
			}
			if st, err := os.Stat(filepath.Join(rw, "state.json")); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("state.json's mode on the host: %v %v", st, err)
			}
			if b, err := os.ReadFile(filepath.Join(rw, "log")); err != nil || string(b) != "line 0\nline 1\nline 2\n" {
				t.Errorf("log on the host: %q %v", b, err)
			}
			if b, err := os.ReadFile(filepath.Join(rw, "mapped")); err != nil || !strings.HasPrefix(string(b), "stored through a mapping\x00") {
				t.Errorf("a mapping's stores at exit, on the host: %q %v", b[:min(len(b), 32)], err)
			}
			if l, err := os.Readlink(filepath.Join(rw, "link")); err != nil || l != "state.json" {
				t.Errorf("link on the host: %q %v", l, err)
			}
			for _, gone := range []string{"sub", "state.json.tmp", "par0"} {
				if _, err := os.Lstat(filepath.Join(rw, gone)); err == nil {
					t.Errorf("%s is still on the host", gone)
				}
			}
			if ents, _ := os.ReadDir(ro); len(ents) != 1 {
				t.Errorf("the read-only directory changed: %v", ents)
			}
		})
	}
}

// TestVolumeBadInput: mistakes in -v are errors before anything boots, saying what to do.
func TestVolumeBadInput(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	missing := filepath.Join(t.TempDir(), "nope")
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	// A named volume whose metadata is damaged.
	os.MkdirAll(filepath.Join(state, "volumes", "broken", "data"), 0o755)
	os.WriteFile(filepath.Join(state, "volumes", "broken", "data", "precious"), []byte("keep"), 0o644)
	os.WriteFile(filepath.Join(state, "volumes", "broken", "volume.json"), []byte("{not json"), 0o600)
	for _, tc := range []struct {
		spec, want string
		code       int
	}{
		{missing + ":/data", "does not exist; create it first (mkdir -p " + missing + ")", 1},
		{file + ":/data", "is not a directory", 1},
		{"nosuchvol:/data", "no volume named \"nosuchvol\"; create it with mote volume create nosuchvol", 1},
		{"broken:/data", "volume \"broken\" is damaged", 1},
		{"/tmp:data", "the guest directory must be an absolute path", 2},
		{"/tmp:/data:rx", "unknown option \"rx\"", 2},
	} {
		var out, errb syncBuffer
		c := &cli.CLI{In: strings.NewReader(""), Out: &out, Err: &errb, StateDir: state, QEMU: "/nonexistent/qemu"}
		code := cli.Main(context.Background(), c, []string{"run", "--dry-run", "-v", tc.spec, prog(t, "exit7")})
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("-v %s: exit %d, stderr %q; want %d and %q", tc.spec, code, errb.String(), tc.code, tc.want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(state, "volumes", "broken", "data", "precious")); err != nil || string(b) != "keep" {
		t.Errorf("the damaged volume's data changed: %q %v", b, err)
	}
}

// TestVolumeNamed creates a named volume, has a guest write to it, and finds the files in the
// volume's data directory.
func TestVolumeNamed(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	state := t.TempDir()
	run := func(args ...string) (int, string, string) {
		var out, errb syncBuffer
		c := &cli.CLI{In: strings.NewReader(""), Out: &out, Err: &errb, StateDir: state}
		code := cli.Main(timeout(t), c, args)
		return code, out.String(), errb.String()
	}
	if code, out, errs := run("volume", "create", "appdata"); code != 0 || out != "appdata\n" {
		t.Fatalf("volume create: exit %d %q %q", code, out, errs)
	}
	if code, _, errs := run("volume", "create", "appdata"); code == 0 || !strings.Contains(errs, "exists already") {
		t.Errorf("second create: exit %d %q", code, errs)
	}
	data := filepath.Join(state, "volumes", "appdata", "data")
	os.WriteFile(filepath.Join(data, "host.txt"), []byte("from the host\n"), 0o644)
	if code, out, errs := run("run", "-v", "appdata:/data", prog(t, "volfiles"), "--", "/data"); code != 0 || !strings.HasSuffix(out, "done\n") {
		t.Fatalf("run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if b, err := os.ReadFile(filepath.Join(data, "log")); err != nil || string(b) != "line 0\nline 1\nline 2\n" {
		t.Errorf("log in the volume: %q %v", b, err)
	}
	if code, out, _ := run("volume", "ls"); code != 0 || !strings.Contains(out, "appdata") || !strings.Contains(out, data) {
		t.Errorf("volume ls: exit %d %q", code, out)
	}
	if code, out, _ := run("volume", "inspect", "appdata"); code != 0 || !strings.Contains(out, `"data": "`+data+`"`) {
		t.Errorf("volume inspect: exit %d %q", code, out)
	}
	if code, _, _ := run("volume", "rm", "appdata"); code != 0 {
		t.Errorf("volume rm: exit %d", code)
	}
	if _, err := os.Stat(data); err == nil {
		t.Error("the volume's data is still there after rm")
	}
}

// TestVolumeCrash appends fsync'd records to a volume, kills QEMU with SIGKILL while it does,
// and checks that every record the guest reported synced is in the host's file, and that the
// guest reads them all back after booting again.
func TestVolumeCrash(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := timeout(t)
	var out, errb syncBuffer
	c := &cli.CLI{In: strings.NewReader(""), Out: &out, Err: &errb}
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, c, []string{"run", "-v", dir + ":/data", prog(t, "volcrash"), "--", "append", "/data/log"})
	}()
	// Wait for a few hundred records, then kill the VMM at whatever moment that is.
	for strings.Count(out.String(), "\n") < 300 {
		select {
		case code := <-done:
			t.Fatalf("the guest exited %d before the kill\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	pid := qemuFor(t, dir)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("mote run did not return after QEMU was killed")
	}
	// Every complete line printed is a record whose fsync returned.
	printed := 0
	lines := strings.Split(out.String(), "\n")
	for _, l := range lines[:len(lines)-1] {
		n, err := strconv.Atoi(l)
		if err != nil {
			t.Fatalf("unexpected output %q", l)
		}
		printed = n
	}
	b, err := os.ReadFile(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	recs := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	for i, r := range recs {
		if string(r) != strconv.Itoa(i+1) {
			t.Fatalf("host file record %d is %q", i+1, r)
		}
	}
	if len(recs) < printed {
		t.Fatalf("the guest reported %d records synced; the host file has %d", printed, len(recs))
	}
	t.Logf("killed QEMU after %d synced records; the host file has %d", printed, len(recs))
	r := mote(ctx, t, "", "run", "-v", dir+":/data", prog(t, "volcrash"), "--", "check", "/data/log")
	if want := fmt.Sprintf("records %d\n", len(recs)); r.code != 0 || r.stdout != want {
		t.Errorf("after the crash: exit %d, stdout %q, want %q\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
}

// qemuFor finds the QEMU process whose command line mentions dir.
func qemuFor(t *testing.T, dir string) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte("qemu-system")) && bytes.Contains(b, []byte("path="+dir+",")) {
			return pid
		}
	}
	t.Fatalf("no QEMU process with %s", dir)
	return 0
}

// TestVolumeDatabaseCrash: bbolt and SQLite databases on a volume. The guest commits records
// one transaction at a time and QEMU is killed with SIGKILL mid-run; booted again, the guest
// finds every record it reported committed, commits the rest up to 10,000 and verifies them
// all; then the host opens the same file with the same program, built for the host, and
// verifies it too.
func TestVolumeDatabaseCrash(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	for _, prog := range []string{"bboltdb", "sqlitedb"} {
		t.Run(prog, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ctx := timeout(t)
			var out, errb syncBuffer
			c := &cli.CLI{In: strings.NewReader(""), Out: &out, Err: &errb}
			done := make(chan int, 1)
			go func() {
				done <- cli.Main(ctx, c, []string{"run", "-v", dir + ":/data", dbprog(t, prog), "--", "write", "/data/x.db", "10000"})
			}()
			for !strings.Contains(out.String(), "committed 300\n") {
				select {
				case code := <-done:
					t.Fatalf("the guest exited %d before the kill\nstdout:\n%s\nstderr:\n%s", code, tail(out.String(), 5), errb.String())
				case <-time.After(20 * time.Millisecond):
				}
			}
			if err := syscall.Kill(qemuFor(t, dir), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-done
			committed := 0
			lines := strings.Split(out.String(), "\n")
			for _, l := range lines[:len(lines)-1] { // the last may be cut short
				if k, ok := strings.CutPrefix(l, "committed "); ok {
					committed, _ = strconv.Atoi(k)
				}
			}
			t.Logf("QEMU killed after %d commits reported", committed)
			db := "/data/x.db"
			r := mote(ctx, t, "", "run", "-v", dir+":/data", dbprog(t, prog), "--",
				"verify", db, strconv.Itoa(committed), "write", db, "10000", "verify", db, "10000")
			if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("verify ok %d of ", committed)) ||
				!strings.HasSuffix(r.stdout, "verify ok 10000 of 10000\n") {
				t.Fatalf("after the crash: exit %d\nstdout (end):\n%s\nstderr:\n%s", r.code, tail(r.stdout, 5), r.stderr)
			}
			host := filepath.Join(t.TempDir(), prog)
			build := exec.Command("go", "build", "-o", host, ".")
			build.Dir = dbprog(t, prog)
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := build.CombinedOutput(); err != nil {
				t.Fatalf("building %s for the host: %v\n%s", prog, err, b)
			}
			b, err := exec.Command(host, "verify", filepath.Join(dir, "x.db"), "10000").CombinedOutput()
			if err != nil || string(b) != "verify ok 10000 of 10000\n" {
				t.Errorf("the host reading the volume's database: %v\n%s", err, b)
			}
		})
	}
}

// TestVolumeMmap runs the mmapfile checks (shared and private mappings against read, pwrite
// and each other, msync, growth under a mapping, truncation, /proc/self/maps) on a volume.
func TestVolumeMmap(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	dir := t.TempDir()
	r := mote(timeout(t), t, "", "run", "-v", dir+":/data", prog(t, "mmapfile"), "--", "/data")
	if r.code != 0 || !strings.HasSuffix(r.stdout, "all ok\n") || strings.Contains(r.stdout, "FAIL") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestVolumeDetached: a background instance mounts a named volume; mote inspect shows the
// mount; the volume cannot be removed while the instance runs, and can once it is killed.
func TestVolumeDetached(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	ctx := timeout(t)
	m := &moteCmd{t: t, bin: buildMote(t), stateDir: t.TempDir()}
	if r := m.run(ctx, "volume", "create", "logs"); r.code != 0 {
		t.Fatalf("volume create: exit %d %s", r.code, r.stderr)
	}
	r := m.run(ctx, "run", "-d", "--name", "app", "-v", "logs:/data", prog(t, "volcrash"), "--", "append", "/data/log")
	if r.code != 0 {
		t.Fatalf("run -d: exit %d\n%s", r.code, r.stderr)
	}
	data := filepath.Join(m.stateDir, "volumes", "logs", "data")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if b, _ := os.ReadFile(filepath.Join(data, "log")); bytes.Count(b, []byte("\n")) >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no records in the volume\n%s", m.run(ctx, "logs", "app").stdout)
		}
	}
	if r := m.run(ctx, "inspect", "app"); r.code != 0 || !strings.Contains(r.stdout, `"source": "logs"`) || !strings.Contains(r.stdout, `"host": "`+data+`"`) {
		t.Errorf("inspect: exit %d\n%s", r.code, r.stdout)
	}
	if r := m.run(ctx, "volume", "rm", "logs"); r.code == 0 || !strings.Contains(r.stderr, "in use by app") {
		t.Errorf("volume rm while running: exit %d %s", r.code, r.stderr)
	}
	if r := m.run(ctx, "kill", "app"); r.code != 0 {
		t.Fatalf("kill: exit %d %s", r.code, r.stderr)
	}
	if r := m.run(ctx, "volume", "rm", "logs"); r.code != 0 {
		t.Errorf("volume rm after kill: exit %d %s", r.code, r.stderr)
	}
	m.run(ctx, "rm", "app")
}

// TestVolumeWorkdir: a working directory below a volume's root (--workdir) is the volume's
// directory, and one missing there stops the boot with a message saying so.
func TestVolumeWorkdir(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "app"), 0o755)
	os.WriteFile(filepath.Join(dir, "app", "log"), []byte("1\n2\n"), 0o644)
	ctx := timeout(t)
	r := mote(ctx, t, "", "run", "--workdir", "/data/app", "-v", dir+":/data", prog(t, "volcrash"), "--", "check", "log")
	if r.code != 0 || r.stdout != "records 2\n" {
		t.Errorf("exit %d, stdout %q\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = mote(ctx, t, "", "run", "--workdir", "/data/nope", "-v", dir+":/data", prog(t, "volcrash"), "--", "check", "log")
	if r.code == 0 || !strings.Contains(r.stderr, "the working directory /data/nope is not a directory on its volume: create it in the host directory") {
		t.Errorf("a missing working directory: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
}
