package volume

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// A named volume is a directory of the store: NAME/volume.json (its name and creation time)
// and NAME/data, the directory the guest sees. The data directory holds plain files, so host
// tools read, back up and check them.

const (
	metaFile = "volume.json"
	dataDir  = "data"
)

// Volume is one named volume.
type Volume struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Data is the host directory the guest sees.
	Data string `json:"data"`
}

// Store is the directory of named volumes.
type Store struct{ Root string }

// ErrNotFound is a name no volume has.
var ErrNotFound = errors.New("no such volume")

// NotFoundError is a name no volume has, with what to do.
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no volume named %q; create it with mote volume create %s (mote volume ls lists them)", e.Name, e.Name)
}

func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// CorruptError is a volume whose directory is damaged. Nothing in it is touched.
type CorruptError struct {
	Name, Dir string
	Err       error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("volume %q is damaged (%v); nothing was changed: check %s by hand, or remove it with mote volume rm %s", e.Name, e.Err, e.Dir, e.Name)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Open returns the store at root, creating the directory.
func Open(root string) (*Store, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("volume directory: %w", err)
	}
	return &Store{Root: root}, nil
}

func (s *Store) dir(name string) string { return filepath.Join(s.Root, name) }

// Create makes a volume. mkdir reserves the name, so two creations of one name cannot both
// succeed.
func (s *Store) Create(name string) (*Volume, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	dir := s.dir(name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("a volume named %q exists already (mote volume inspect %s shows it)", name, name)
		}
		return nil, err
	}
	v := &Volume{Name: name, Created: time.Now().UTC().Truncate(time.Second), Data: filepath.Join(dir, dataDir)}
	err := os.Mkdir(v.Data, 0o755)
	if err == nil {
		err = writeMeta(dir, v)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return v, nil
}

// writeMeta writes the metadata file whole, through a temporary file and a rename, and syncs
// both the file and the directory.
func writeMeta(dir string, v *Volume) error {
	b, err := json.MarshalIndent(struct {
		Name    string    `json:"name"`
		Created time.Time `json:"created"`
	}{v.Name, v.Created}, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, metaFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, metaFile))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Get returns the volume called name: a *NotFoundError if there is none, a *CorruptError if
// its metadata or its data directory is damaged.
func (s *Store) Get(name string) (*Volume, error) {
	if ValidName(name) != nil {
		return nil, &NotFoundError{name}
	}
	dir := s.dir(name)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, &NotFoundError{name}
	}
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return nil, &CorruptError{name, dir, fmt.Errorf("metadata unreadable: %w", err)}
	}
	var v Volume
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, &CorruptError{name, dir, fmt.Errorf("metadata unreadable: %w", err)}
	}
	if v.Name != name {
		return nil, &CorruptError{name, dir, fmt.Errorf("its metadata names volume %q", v.Name)}
	}
	v.Data = filepath.Join(dir, dataDir)
	st, err := os.Stat(v.Data)
	switch {
	case err != nil:
		return nil, &CorruptError{name, dir, fmt.Errorf("data directory: %w", err)}
	case !st.IsDir():
		return nil, &CorruptError{name, dir, errors.New("data is not a directory")}
	}
	return &v, nil
}

// Names lists the names of the store's volumes, sorted; damaged ones too.
func (s *Store) Names() ([]string, error) {
	ents, err := os.ReadDir(s.Root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && ValidName(e.Name()) == nil {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Remove deletes a volume and its data. The caller checks that no guest uses it.
func (s *Store) Remove(name string) error {
	if ValidName(name) != nil {
		return &NotFoundError{name}
	}
	dir := s.dir(name)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return &NotFoundError{name}
	}
	// The metadata goes first: a removal cut short leaves a volume that reads as damaged, not
	// one that looks whole with half its data.
	if err := os.Remove(filepath.Join(dir, metaFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(dir)
}

// Size is the bytes of the regular files under the volume's data directory.
func (v *Volume) Size() int64 {
	var n int64
	filepath.WalkDir(v.Data, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
