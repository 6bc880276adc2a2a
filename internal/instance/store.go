// Package instance keeps the state of detached guests (mote run -d): one directory per
// instance under the user's state directory, holding a JSON state file, the guest's log and a
// copy of its image. The supervisor of an instance is its only writer while it lives; the
// other commands read, and judge liveness from the recorded processes themselves, so an
// instance whose supervisor or QEMU died is never reported as running.
package instance

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// StateDirEnv overrides where instances live.
const StateDirEnv = "MOTE_STATE_DIR"

// Files inside an instance's directory.
const (
	stateFile = "state.json"
	LogFile   = "console.log"
	ImageFile = "image"
	// SupervisorLog receives what the supervisor itself prints if it fails before it
	// can write to the instance's log.
	SupervisorLog = "supervisor.log"
)

// Errors a caller turns into advice.
var (
	ErrNotFound  = errors.New("no such instance")
	ErrNameTaken = errors.New("name already in use")
)

// Status of an instance.
const (
	Created    = "created"    // reserved, supervisor starting
	Running    = "running"    // QEMU runs the guest
	Restarting = "restarting" // between an exit and the restart its policy asks for
	Exited     = "exited"
)

// State is what the state file holds.
type State struct {
	Name    string    `json:"name"`
	Image   string    `json:"image"` // the package or image file mote run was given
	Status  string    `json:"status"`
	Created time.Time `json:"created"`
	// Started and Finished are the times of the latest boot and its end.
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	// ExitCode is the app's exit status (or mote's 125, or 128+signal when QEMU was killed)
	// once Status is exited; -1 if unknown. Error says what went wrong, if anything.
	ExitCode int    `json:"exitCode"`
	Error    string `json:"error,omitempty"`

	Restart      string `json:"restart"` // no, on-failure[:N], always
	RestartCount int    `json:"restartCount"`
	// StopRequested is set when mote stop or mote kill ended the guest: no restart then.
	StopRequested bool `json:"stopRequested,omitempty"`

	Supervisor Proc `json:"supervisor,omitzero"`
	VMM        Proc `json:"vmm,omitzero"`
	// Control is the supervisor's unix socket for stop, kill and signal requests.
	Control string `json:"control,omitempty"`
	// GDB is the unix socket of QEMU's gdb stub for the running guest (mote debug NAME).
	GDB string `json:"gdb,omitempty"`

	Memory string   `json:"memory"` // guest RAM, as given to QEMU
	Ports  []string `json:"ports,omitempty"`
	// Config is how to boot the guest, owned by the command that starts it.
	Config json.RawMessage `json:"config,omitempty"`
}

// Store is a directory of instances.
type Store struct {
	Root string
}

// DefaultRoot is $MOTE_STATE_DIR, else $XDG_STATE_HOME/mote, else ~/.local/state/mote.
func DefaultRoot() (string, error) {
	if d := os.Getenv(StateDirEnv); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "mote"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no state directory: %v; set %s", err, StateDirEnv)
	}
	return filepath.Join(home, ".local", "state", "mote"), nil
}

// Open returns the store at root, creating the directory.
func Open(root string) (*Store, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	return &Store{Root: root}, nil
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)

// VolumesDir is the directory of named volumes (internal/volume) in the state directory; no
// instance may take its name.
const VolumesDir = "volumes"

// ValidName checks an instance name: it becomes a directory name.
func ValidName(name string) error {
	if name == VolumesDir {
		return fmt.Errorf("the instance name %q is reserved for mote's named volumes", name)
	}
	if !nameRE.MatchString(name) {
		return fmt.Errorf("invalid instance name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit, at most 63 characters", name)
	}
	return nil
}

// NewName makes a default name from an image name: the name plus a random suffix.
func NewName(base string) string {
	base = strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("_.-", r) {
			return r
		}
		return '-'
	}, base)
	base = strings.TrimLeft(base, "-_.")
	if len(base) > 48 {
		base = base[:48]
	}
	if base == "" {
		base = "guest"
	}
	var b [3]byte
	rand.Read(b[:])
	return base + "-" + hex.EncodeToString(b[:])
}

// Instance is one directory of the store.
type Instance struct {
	Name string
	Dir  string
}

// Create reserves name: the directory is made with mkdir, which fails if it exists, so two
// instances can never get the same name. The state is written before Create returns.
func (s *Store) Create(st *State) (*Instance, error) {
	if err := ValidName(st.Name); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.Root, st.Name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, ErrNameTaken
		}
		return nil, err
	}
	in := &Instance{Name: st.Name, Dir: dir}
	if err := in.Save(st); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return in, nil
}

// Get returns the instance called name, whose state may still fail to load.
func (s *Store) Get(name string) (*Instance, error) {
	if ValidName(name) != nil {
		return nil, ErrNotFound
	}
	dir := filepath.Join(s.Root, name)
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, ErrNotFound
	}
	return &Instance{Name: name, Dir: dir}, nil
}

// List returns the instances by name. Entries that are not instance directories (stray
// files, names mote would not make) are skipped.
func (s *Store) List() ([]*Instance, error) {
	ents, err := os.ReadDir(s.Root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []*Instance
	for _, e := range ents {
		if !e.IsDir() || ValidName(e.Name()) != nil {
			continue
		}
		out = append(out, &Instance{Name: e.Name(), Dir: filepath.Join(s.Root, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes an instance's directory.
func (s *Store) Remove(in *Instance) error { return os.RemoveAll(in.Dir) }

// Path returns the path of a file in the instance's directory.
func (in *Instance) Path(file string) string { return filepath.Join(in.Dir, file) }

// CorruptError is a state file that cannot be read as one.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state file %s is unreadable (%v)", e.Path, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Load reads the state file. A missing, truncated or foreign file is a *CorruptError.
func (in *Instance) Load() (*State, error) {
	p := in.Path(stateFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, &CorruptError{p, err}
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, &CorruptError{p, err}
	}
	if st.Name != in.Name {
		return nil, &CorruptError{p, fmt.Errorf("it names instance %q", st.Name)}
	}
	switch st.Status {
	case Created, Running, Restarting, Exited:
	default:
		return nil, &CorruptError{p, fmt.Errorf("unknown status %q", st.Status)}
	}
	return &st, nil
}

// Save writes the state file atomically: a reader sees the old state or the new one, never
// a mix, even if the writer dies half-way.
func (in *Instance) Save(st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(in.Dir, ".state-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), in.Path(stateFile))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("saving the state of %s: %w", in.Name, err)
	}
	return nil
}

// Live returns st as it stands now: an instance recorded as running whose QEMU is gone, or
// whose supervisor is gone, has exited whatever the file says. The file is not changed: a
// live supervisor will record the real exit status itself.
func Live(st *State, now time.Time) *State {
	v := *st
	switch v.Status {
	case Exited:
		return &v
	case Created:
		if v.Supervisor.Pid == 0 {
			if now.Sub(v.Created) > startTimeout {
				v.Status, v.ExitCode, v.Finished = Exited, -1, v.Created
				v.Error = "the supervisor never started"
			}
			return &v
		}
	}
	supAlive := v.Supervisor.Alive()
	vmmAlive := v.VMM.Pid != 0 && v.VMM.Alive()
	switch {
	case !supAlive && !vmmAlive:
		v.Status, v.ExitCode = Exited, -1
		v.Error = fmt.Sprintf("the supervisor (pid %d) is gone; the exit status is unknown", v.Supervisor.Pid)
	case v.Status == Running && !vmmAlive:
		v.Status, v.ExitCode = Exited, -1
		v.Error = fmt.Sprintf("QEMU (pid %d) is gone", v.VMM.Pid)
	default:
		return &v
	}
	if v.Finished.Before(v.Started) {
		v.Finished = time.Time{} // not known
	}
	return &v
}

// Settled reports whether nothing more will happen to the instance: its exit is recorded,
// or no supervisor is left to record anything. An instance can be exited for Live (QEMU
// gone) a moment before it is settled: the supervisor is still taking the guest's last
// output and its exit status.
func Settled(st *State, now time.Time) bool {
	if st.Status == Exited {
		return true
	}
	v := Live(st, now)
	return v.Status == Exited && !st.Supervisor.Alive()
}

// startTimeout is how long a created instance may wait for its supervisor.
const startTimeout = time.Minute

// Active reports whether the instance may still run a guest.
func (st *State) Active() bool { return st.Status != Exited }
