package image

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// PackTestDir packs what a test binary may read from its package directory into a tar file:
// the directory's regular files, its other subdirectories (empty) and, recursively, its
// testdata/ tree. Entry names are relative
// to the package directory (the guest's working directory, cwd= on the command line). The tar is
// reproducible: sorted names, zero times and owners, modes reduced to 0644 or 0755. Each extra
// file (an absolute host path) is packed under its absolute name, so the guest finds it at the
// same path; extras that do not exist are left out. It reports false when there is nothing to
// pack.
func PackTestDir(dir string, extra ...string) ([]byte, bool, error) {
	var names []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, false, err
	}
	for _, e := range entries {
		switch {
		case e.Type().IsRegular():
			names = append(names, e.Name())
		case e.IsDir() && e.Name() != "testdata":
			// Subdirectories appear, empty: tests list their package directory
			// (os's TestReadDir looks for os/exec).
			names = append(names, e.Name())
		}
	}
	td := filepath.Join(dir, "testdata")
	if st, err := os.Stat(td); err == nil && st.IsDir() {
		err := filepath.WalkDir(td, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			if d.IsDir() || d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
				names = append(names, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return nil, false, err
		}
	}
	for _, x := range extra {
		if st, err := os.Stat(x); err == nil && st.Mode().IsRegular() && filepath.IsAbs(x) {
			names = append(names, filepath.ToSlash(x))
		}
	}
	if len(names) == 0 {
		return nil, false, nil
	}
	slices.Sort(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if filepath.IsAbs(filepath.FromSlash(name)) {
			p = filepath.FromSlash(name)
		}
		st, err := os.Lstat(p)
		if err != nil {
			return nil, false, err
		}
		hdr := &tar.Header{Name: name, ModTime: time.Unix(0, 0), Format: tar.FormatPAX, Mode: 0o644}
		switch {
		case st.IsDir():
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
		case st.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return nil, false, err
			}
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, target, 0o777
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size()
			if st.Mode()&0o111 != 0 {
				hdr.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, false, err
		}
		if hdr.Typeflag == tar.TypeReg {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, false, err
			}
			if _, err := tw.Write(data); err != nil {
				return nil, false, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, false, err
	}
	return buf.Bytes(), true, nil
}
