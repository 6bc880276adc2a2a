package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
)

// A mote image is the PVH-patched ELF followed by the image's files and a trailer:
//
//	ELF bytes | files (tar) | manifest JSON | JSON length (8 bytes, little-endian) | magic "MOTEIMG1"
//
// Loaders read only what the ELF program headers point at, so what follows the ELF does not
// change how the image boots; mote reads it from the end of the file to find defaults, to hand
// the files to the guest as its PVH module, and to tell a mote image from any other file. The
// files are there only when the manifest's files field says so, with their size.
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
	Workdir string   `json:"workdir,omitempty"` // the program's working directory; "" is /
	// Files describes the tar archive of the image's files, which sits between the ELF and
	// the manifest; nil when the image has none.
	Files *RootInfo `json:"files,omitempty"`
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
	if m.Workdir != "" && (!path.IsAbs(m.Workdir) || path.Clean(m.Workdir) != m.Workdir) {
		return fmt.Errorf("manifest workdir %q is not a clean absolute path", m.Workdir)
	}
	if f := m.Files; f != nil && (f.Size <= 0 || f.Size%512 != 0 || len(f.SHA256) != 64) {
		return fmt.Errorf("manifest files: size %d or checksum %q is not an archive's", f.Size, f.SHA256)
	}
	return nil
}

// AppendManifest appends the files (a tar archive, or nil) and the trailer holding m to the
// ELF bytes in elfBytes. m.Files must describe files.
func AppendManifest(elfBytes, files []byte, m *Manifest) ([]byte, error) {
	if (m.Files == nil) != (len(files) == 0) || m.Files != nil && m.Files.Size != int64(len(files)) {
		return nil, errors.New("the manifest does not describe the image's files")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	js, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(elfBytes)+len(files)+len(js)+trailerSize)
	out = append(out, elfBytes...)
	out = append(out, files...)
	out = append(out, js...)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(js)))
	return append(out, trailerMagic...), nil
}

// ErrNotImage says a file is not a mote image.
var ErrNotImage = errors.New("not a mote image")

// SplitImage returns the ELF part, the files (nil if none) and the manifest of the image in b.
func SplitImage(b []byte) (elfBytes, files []byte, m *Manifest, err error) {
	m, start, err := parseTrailer(b, int64(len(b)))
	if err != nil {
		return nil, nil, nil, err
	}
	if m.Files == nil {
		return b[:start], nil, m, nil
	}
	return b[:start-m.Files.Size], b[start-m.Files.Size : start], m, nil
}

// parseTrailer reads the manifest from tail, the last bytes of an image of size bytes whose
// first bytes are tail's first four, and returns it with the offset in the image where the
// manifest's JSON starts.
func parseTrailer(tail []byte, size int64) (*Manifest, int64, error) {
	if len(tail) < trailerSize || string(tail[len(tail)-len(trailerMagic):]) != trailerMagic || !bytes.HasPrefix(tail, []byte("\x7fELF")) {
		return nil, 0, ErrNotImage
	}
	n := binary.LittleEndian.Uint64(tail[len(tail)-trailerSize:])
	rest := uint64(len(tail) - trailerSize)
	if n > maxManifestLen || n > rest {
		return nil, 0, fmt.Errorf("%w: manifest length %d is out of range", ErrNotImage, n)
	}
	js := tail[rest-n : rest]
	m := new(Manifest)
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return nil, 0, fmt.Errorf("%w: bad manifest: %v", ErrNotImage, err)
	}
	if dec.More() {
		return nil, 0, fmt.Errorf("%w: trailing data after the manifest", ErrNotImage)
	}
	if err := m.Validate(); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	start := size - trailerSize - int64(n)
	if m.Files != nil && m.Files.Size > start-4 {
		return nil, 0, fmt.Errorf("%w: its files (%d bytes) do not fit before the manifest", ErrNotImage, m.Files.Size)
	}
	return m, start, nil
}

// ReadManifest reads the manifest of the image file at path, reading only the file's tail.
func ReadManifest(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, _, err := readTrailer(f)
	return m, err
}

// readTrailer reads the manifest of the image file f and the offset where the manifest starts.
func readTrailer(f *os.File) (*Manifest, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, ErrNotImage
	}
	size := st.Size()
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, 0, ErrNotImage
	}
	tailLen := min(size, maxManifestLen+trailerSize)
	tail := make([]byte, tailLen)
	if _, err := f.ReadAt(tail, size-tailLen); err != nil {
		return nil, 0, err
	}
	if tailLen < size {
		// parseTrailer wants the ELF magic at the start; the tail stands for the whole file here.
		tail = append(append([]byte{}, head...), tail...)
	}
	return parseTrailer(tail, size)
}

// ExtractFiles writes the image's files (a tar archive) to dst, for QEMU's -initrd, after
// checking them against the manifest's checksum. It returns the manifest's description of
// them, or nil, writing nothing, when the image has no files.
func ExtractFiles(img, dst string) (*RootInfo, error) {
	f, err := os.Open(img)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, start, err := readTrailer(f)
	if err != nil || m.Files == nil {
		return nil, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), io.NewSectionReader(f, start-m.Files.Size, m.Files.Size))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if hex.EncodeToString(h.Sum(nil)) != m.Files.SHA256 {
		os.Remove(dst)
		return nil, fmt.Errorf("%s is damaged: its files do not match their checksum (build the image again)", img)
	}
	return m.Files, nil
}
