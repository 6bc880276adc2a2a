// Package kernelsrc puts the kernel's source, embedded in the mote command, on disk where the go
// command can build it: a directory holding the module mote.dev/mote (go.mod, go.sum, kernel/),
// under the user's cache directory and keyed by a hash of its contents. Unpacking is atomic (a
// temporary directory renamed into place), so concurrent builds never see half a tree.
package kernelsrc

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Hash returns the hex SHA-256 of every regular file in fsys: path and contents, in path order.
func Hash(fsys fs.FS) (string, error) {
	var paths []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	slices.Sort(paths)
	h := sha256.New()
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CacheRoot is where unpacked kernels go: $XDG_CACHE_HOME/mote, or the OS's user cache dir.
func CacheRoot() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the kernel source (set XDG_CACHE_HOME): %w", err)
	}
	return filepath.Join(dir, "mote"), nil
}

// Unpack writes fsys to root/kernel-<hash prefix> unless it is already there, and returns
// that directory.
func Unpack(fsys fs.FS, root string) (string, error) {
	sum, err := Hash(fsys)
	if err != nil {
		return "", fmt.Errorf("hashing the embedded kernel source: %w", err)
	}
	dir := filepath.Join(root, "kernel-"+sum[:16])
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, ".unpack-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := os.CopyFS(tmp, fsys); err != nil {
		return "", fmt.Errorf("unpacking the kernel source: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another mote got there first: its copy has the same contents.
		if _, statErr := os.Stat(filepath.Join(dir, "go.mod")); statErr == nil {
			return dir, nil
		}
		return "", errors.Join(fmt.Errorf("unpacking the kernel source into %s", dir), err)
	}
	return dir, nil
}
