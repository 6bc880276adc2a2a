package instance

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCreateLoadSave(t *testing.T) {
	s := newStore(t)
	now := time.Now().UTC().Truncate(time.Second)
	in, err := s.Create(&State{Name: "web", Image: "./cmd/web", Status: Created, Created: now, Restart: "no"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := in.Load()
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "web" || st.Image != "./cmd/web" || !st.Created.Equal(now) {
		t.Errorf("loaded %+v", st)
	}
	st.Status, st.ExitCode = Exited, 3
	if err := in.Save(st); err != nil {
		t.Fatal(err)
	}
	if st2, err := in.Load(); err != nil || st2.Status != Exited || st2.ExitCode != 3 {
		t.Errorf("after save: %+v, %v", st2, err)
	}
	// No temporary files are left behind by the atomic write.
	ents, _ := os.ReadDir(in.Dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".state-") {
			t.Errorf("leftover %s", e.Name())
		}
	}
	got, err := s.Get("web")
	if err != nil || got.Dir != in.Dir {
		t.Errorf("Get: %v, %v", got, err)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 || list[0].Name != "web" {
		t.Errorf("List: %v, %v", list, err)
	}
	if err := s.Remove(got); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("web"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Remove: %v", err)
	}
}

func TestNameTaken(t *testing.T) {
	s := newStore(t)
	if _, err := s.Create(&State{Name: "a", Status: Created}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(&State{Name: "a", Status: Created}); !errors.Is(err, ErrNameTaken) {
		t.Errorf("second create: %v, want ErrNameTaken", err)
	}
}

// TestNameRace: of many concurrent creates of one name, exactly one wins.
func TestNameRace(t *testing.T) {
	s := newStore(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, taken := 0, 0
	for range 32 {
		wg.Go(func() {
			_, err := s.Create(&State{Name: "race", Status: Created})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, ErrNameTaken):
				taken++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won != 1 || taken != 31 {
		t.Errorf("%d won, %d refused; want 1 and 31", won, taken)
	}
}

func TestNames(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "-x", "a/b", "a b", strings.Repeat("x", 64), "é"} {
		if ValidName(bad) == nil {
			t.Errorf("ValidName(%q) accepted", bad)
		}
	}
	for _, good := range []string{"web", "a", "web-1.2_x", strings.Repeat("x", 63)} {
		if err := ValidName(good); err != nil {
			t.Errorf("ValidName(%q): %v", good, err)
		}
	}
	for _, base := range []string{"hello", "my app", "..", "", "ünï", strings.Repeat("y", 80)} {
		n := NewName(base)
		if err := ValidName(n); err != nil {
			t.Errorf("NewName(%q) = %q: %v", base, n, err)
		}
	}
	if a, b := NewName("x"), NewName("x"); a == b {
		t.Errorf("two default names alike: %s", a)
	}
}

func TestGetUnknown(t *testing.T) {
	s := newStore(t)
	for _, n := range []string{"nope", "../etc", ""} {
		if _, err := s.Get(n); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q): %v", n, err)
		}
	}
	// A stray file in the state directory is neither an instance nor an error.
	os.WriteFile(filepath.Join(s.Root, "stray"), []byte("x"), 0o600)
	if _, err := s.Get("stray"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(stray file): %v", err)
	}
	if l, err := s.List(); err != nil || len(l) != 0 {
		t.Errorf("List: %v, %v", l, err)
	}
}

func TestCorruptState(t *testing.T) {
	s := newStore(t)
	for name, content := range map[string]string{
		"garbage":   "{not json",
		"truncated": `{"name":"truncated","status":"runn`,
		"empty":     "",
		"othername": `{"name":"someone","status":"running"}`,
		"badstatus": `{"name":"badstatus","status":"dancing"}`,
		"nofile":    "",
	} {
		dir := filepath.Join(s.Root, name)
		os.Mkdir(dir, 0o700)
		if name != "nofile" {
			os.WriteFile(filepath.Join(dir, stateFile), []byte(content), 0o600)
		}
		in, err := s.Get(name)
		if err != nil {
			t.Fatalf("Get(%s): %v", name, err)
		}
		_, err = in.Load()
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Errorf("%s: Load = %v, want a CorruptError", name, err)
		}
	}
}

// deadProc returns the identity a process had before it exited.
func deadProc(t *testing.T) Proc {
	t.Helper()
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	p, err := ProcOf(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Alive() {
		t.Fatal("a running process is not alive")
	}
	cmd.Process.Kill()
	// Not waited for yet: a zombie counts as dead too.
	for i := 0; p.Alive() && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if p.Alive() {
		t.Fatal("a killed process (zombie) is alive")
	}
	cmd.Wait()
	return p
}

func TestLive(t *testing.T) {
	now := time.Now()
	self := Self()
	dead := deadProc(t)
	reused := Proc{Pid: self.Pid, Start: self.Start + 1} // the pid, but another process
	if reused.Alive() {
		t.Error("a pid with another start time is alive")
	}
	for _, tc := range []struct {
		name string
		st   State
		want string
	}{
		{"running", State{Status: Running, Supervisor: self, VMM: self}, Running},
		{"vmm killed", State{Status: Running, Supervisor: self, VMM: dead}, Exited},
		{"vmm pid reused", State{Status: Running, Supervisor: self, VMM: reused}, Exited},
		{"supervisor and vmm gone", State{Status: Running, Supervisor: dead, VMM: dead}, Exited},
		{"supervisor gone while restarting", State{Status: Restarting, Supervisor: dead}, Exited},
		{"restarting", State{Status: Restarting, Supervisor: self}, Restarting},
		{"starting", State{Status: Created, Created: now}, Created},
		{"never started", State{Status: Created, Created: now.Add(-time.Hour)}, Exited},
		{"exited", State{Status: Exited, ExitCode: 4, Supervisor: self}, Exited},
	} {
		v := Live(&tc.st, now)
		if v.Status != tc.want {
			t.Errorf("%s: status %s, want %s", tc.name, v.Status, tc.want)
		}
		if v.Status == Exited && tc.st.Status != Exited && (v.ExitCode != -1 || v.Error == "") {
			t.Errorf("%s: exit code %d, error %q; want -1 and a reason", tc.name, v.ExitCode, v.Error)
		}
	}
}

func TestParseStat(t *testing.T) {
	fields := "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20 21"
	start, state, err := parseStat([]byte("123 (we(i)rd) name) " + fields))
	if err != nil || start != 424242 || state != 'S' {
		t.Errorf("got %d %c %v", start, state, err)
	}
	for _, bad := range []string{"", "123 (x", "123 (x) S 1 2", "123 (x) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 9 20"} {
		if _, _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) accepted", bad)
		}
	}
}

func TestRSS(t *testing.T) {
	n, err := Self().RSS()
	if err != nil || n < 1<<20 {
		t.Errorf("RSS of the test = %d, %v", n, err)
	}
}

func TestSettled(t *testing.T) {
	now := time.Now()
	self, dead := Self(), deadProc(t)
	for _, tc := range []struct {
		name string
		st   State
		want bool
	}{
		{"recorded exit", State{Status: Exited, Supervisor: self}, true},
		{"vmm gone, supervisor recording", State{Status: Running, Supervisor: self, VMM: dead}, false},
		{"both gone", State{Status: Running, Supervisor: dead, VMM: dead}, true},
		{"running", State{Status: Running, Supervisor: self, VMM: self}, false},
	} {
		if got := Settled(&tc.st, now); got != tc.want {
			t.Errorf("%s: Settled = %v", tc.name, got)
		}
	}
}
