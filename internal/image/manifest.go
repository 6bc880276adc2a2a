package image

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// A mote image is the PVH-patched ELF followed by a trailer:
//
//	ELF bytes | manifest JSON | JSON length (8 bytes, little-endian) | magic "MOTEIMG1"
//
// Loaders read only what the ELF program headers point at, so the trailer does not change how
// the image boots; mote reads it from the end of the file to find defaults and to tell a mote
// image from any other file.
const (
	trailerMagic   = "MOTEIMG1"
	trailerSize    = 16      // length + magic
	maxManifestLen = 1 << 20 // a manifest is a few hundred bytes; anything bigger is not ours
)

// ManifestVersion is the version of the manifest format mote writes.
const ManifestVersion = 1

// Manifest is what an image knows about how to run it.
type Manifest struct {
	Version int      `json:"version"`
	Name    string   `json:"name"`              // argv[0] and the default instance name
	Args    []string `json:"args,omitempty"`    // default arguments after argv[0]
	Env     []string `json:"env,omitempty"`     // default environment, KEY=VALUE
	Memory  string   `json:"memory,omitempty"`  // default guest memory, as for -m
	Network bool     `json:"network,omitempty"` // the app links the socket service: give it a network device
	Agent   bool     `json:"agent,omitempty"`   // the image links the agent: metrics and profiles
}

// Validate checks the fields a runner relies on.
func (m *Manifest) Validate() error {
	if m.Version != ManifestVersion {
		return fmt.Errorf("manifest version %d, this mote reads version %d (rebuild the image with this mote)", m.Version, ManifestVersion)
	}
	if m.Name == "" {
		return errors.New("manifest has no name")
	}
	for _, e := range m.Env {
		if k, _, ok := bytes.Cut([]byte(e), []byte("=")); !ok || len(k) == 0 {
			return fmt.Errorf("manifest env entry %q is not KEY=VALUE", e)
		}
	}
	if m.Memory != "" {
		if _, err := ParseMemory(m.Memory); err != nil {
			return fmt.Errorf("manifest memory: %w", err)
		}
	}
	return nil
}

// AppendManifest appends the trailer holding m to the ELF bytes in elfBytes.
func AppendManifest(elfBytes []byte, m *Manifest) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	js, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(elfBytes)+len(js)+trailerSize)
	out = append(out, elfBytes...)
	out = append(out, js...)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(js)))
	return append(out, trailerMagic...), nil
}

// ErrNotImage says a file is not a mote image.
var ErrNotImage = errors.New("not a mote image")

// SplitImage returns the ELF part and the manifest of the image in b.
func SplitImage(b []byte) (elfBytes []byte, m *Manifest, err error) {
	if len(b) < trailerSize || string(b[len(b)-len(trailerMagic):]) != trailerMagic || !bytes.HasPrefix(b, []byte("\x7fELF")) {
		return nil, nil, ErrNotImage
	}
	n := binary.LittleEndian.Uint64(b[len(b)-trailerSize:])
	rest := uint64(len(b) - trailerSize)
	if n > maxManifestLen || n > rest {
		return nil, nil, fmt.Errorf("%w: manifest length %d is out of range", ErrNotImage, n)
	}
	js := b[rest-n : rest]
	m = new(Manifest)
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return nil, nil, fmt.Errorf("%w: bad manifest: %v", ErrNotImage, err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("%w: trailing data after the manifest", ErrNotImage)
	}
	if err := m.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	return b[:rest-n], m, nil
}

// ReadManifest reads the manifest of the image file at path, reading only the file's tail.
func ReadManifest(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, ErrNotImage
	}
	size := st.Size()
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, ErrNotImage
	}
	tailLen := min(size, maxManifestLen+trailerSize)
	tail := make([]byte, tailLen)
	if _, err := f.ReadAt(tail, size-tailLen); err != nil {
		return nil, err
	}
	if tailLen < size {
		// SplitImage wants the ELF magic at the start; the tail stands for the whole file here.
		tail = append(append([]byte{}, head...), tail...)
	}
	_, m, err := SplitImage(tail)
	return m, err
}
