package image

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestParseCopy(t *testing.T) {
	for _, tc := range []struct {
		spec, src, dest string
		into            bool
		err             string
	}{
		{spec: "static:/srv/www", src: "/base/static", dest: "/srv/www"},
		{spec: "/etc/app.json:/etc/app/", src: "/etc/app.json", dest: "/etc/app", into: true},
		{spec: "a:b:/x//y/", src: "/base/a:b", dest: "/x/y", into: true},
		{spec: "static", err: `want SRC:DEST`},
		{spec: ":/srv", err: `want SRC:DEST`},
		{spec: "static:srv", err: `want SRC:DEST`},
		{spec: "x:/proc/self", err: "/proc/self is under /proc, which the kernel makes at boot"},
		{spec: "x:/tmp", err: "/tmp is under /tmp"},
		{spec: "x:/dev/sda", err: "under /dev"},
		{spec: "x:/etc/hosts", err: "/etc/hosts is written by the kernel at boot"},
		{spec: "x:/devices", dest: "/devices", src: "/base/x"},
	} {
		c, err := ParseCopy(tc.spec, "/base", "--copy")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "--copy ") {
				t.Errorf("ParseCopy(%q) = %v, want an error with %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || c.Src != tc.src || c.Dest != tc.dest || c.IntoDir != tc.into {
			t.Errorf("ParseCopy(%q) = %+v, %v; want %s, %s, %v", tc.spec, c, err, tc.src, tc.dest, tc.into)
		}
	}
}

// tarEntry is what a test checks of an archive entry.
type tarEntry struct {
	typ  byte
	mode int64
	data string
}

func readTar(t *testing.T, b []byte) map[string]tarEntry {
	t.Helper()
	out := map[string]tarEntry{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: time %v, owner %d:%d %q", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname)
		}
		data, _ := io.ReadAll(tr)
		if h.Typeflag == tar.TypeSymlink {
			data = []byte(h.Linkname)
		}
		out[h.Name] = tarEntry{h.Typeflag, h.Mode, string(data)}
	}
}

func mustCopy(t *testing.T, spec, base string) Copy {
	t.Helper()
	c, err := ParseCopy(spec, base, "--copy")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPackRoot(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode) // past the umask
	}
	write("www/index.html", "index", 0o644)
	write("www/bin/run.sh", "#!/bin/sh\n", 0o750)
	write("www/private", "secret", 0o600)
	write("config.json", `{"a":1}`, 0o640)
	write("other.json", `{"b":2}`, 0o644)
	os.Symlink("index.html", filepath.Join(dir, "www/home.html"))
	os.Symlink("/etc/app/config.json", filepath.Join(dir, "www/abs"))
	os.Symlink("www", filepath.Join(dir, "site"))

	b, info, err := PackRoot([]Copy{
		mustCopy(t, "site:/srv/www", dir), // a symlink on top is followed
		mustCopy(t, "config.json:/etc/app/", dir),
		mustCopy(t, "config.json:/etc/app/main.json", dir),
		// A later copy replaces an earlier one at the same path.
		mustCopy(t, "other.json:/etc/app/main.json", dir),
	}, "/srv/www/bin")
	if err != nil {
		t.Fatal(err)
	}
	got := readTar(t, b)
	want := map[string]tarEntry{
		"/srv/www/":            {tar.TypeDir, 0o755, ""},
		"/srv/www/bin/":        {tar.TypeDir, 0o755, ""},
		"/srv/www/bin/run.sh":  {tar.TypeReg, 0o750, "#!/bin/sh\n"},
		"/srv/www/index.html":  {tar.TypeReg, 0o644, "index"},
		"/srv/www/private":     {tar.TypeReg, 0o600, "secret"},
		"/srv/www/home.html":   {tar.TypeSymlink, 0o777, "index.html"},
		"/srv/www/abs":         {tar.TypeSymlink, 0o777, "/etc/app/config.json"},
		"/etc/app/config.json": {tar.TypeReg, 0o640, `{"a":1}`},
		"/etc/app/main.json":   {tar.TypeReg, 0o644, `{"b":2}`},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("archive:\n%v\nwant\n%v", got, want)
	}
	if info.Entries != len(want) || info.Size != int64(len(b)) || info.Bytes != 5+10+6+7+7 || len(info.SHA256) != 64 {
		t.Errorf("info %+v", info)
	}
	if b2, _, _ := PackRoot([]Copy{mustCopy(t, "site:/srv/www", dir), mustCopy(t, "config.json:/etc/app/", dir),
		mustCopy(t, "config.json:/etc/app/main.json", dir), mustCopy(t, "other.json:/etc/app/main.json", dir)}, ""); !bytes.Equal(b, b2) {
		t.Error("two packs of the same files differ")
	}
	if b, info, err := PackRoot(nil, ""); b != nil || info != nil || err != nil {
		t.Errorf("PackRoot(nil) = %d bytes, %v, %v", len(b), info, err)
	}
}

func TestPackRootErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(dir, "tree/proc"), 0o755)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "withfifo"), 0o755)
	syscall.Mkfifo(filepath.Join(dir, "withfifo/f"), 0o644)
	os.MkdirAll(filepath.Join(dir, "longlink"), 0o755)
	os.Symlink(strings.Repeat("x", 101), filepath.Join(dir, "longlink/l"))
	big := filepath.Join(dir, "big")
	os.MkdirAll(big, 0o755)
	for i := range MaxRootEntries + 1 {
		os.WriteFile(filepath.Join(big, fmt.Sprint(i)), nil, 0o644)
	}
	huge := filepath.Join(dir, "huge")
	if f, err := os.Create(huge); err == nil {
		f.Truncate(MaxRootBytes + 1) // sparse: costs no disk
		f.Close()
	}

	for _, tc := range []struct {
		specs []string
		want  string
	}{
		{[]string{"missing:/srv"}, "--copy missing:/srv: " + dir + "/missing does not exist on the host"},
		{[]string{"fifo:/srv/f"}, "is a named pipe; an image holds regular files, directories and symlinks"},
		{[]string{"withfifo:/srv"}, "withfifo/f is a named pipe"},
		{[]string{"longlink:/srv"}, "points at a path of 101 bytes; the image's archive holds at most 100"},
		{[]string{"big:/srv"}, "--copy big:/srv: more than 4096 files and directories (0 B so far); an image holds at most 4096"},
		{[]string{"huge:/srv/huge"}, "more than 512.0 MiB of files (1 entries so far)"},
		{[]string{"tree:/"}, "/proc is under /proc, which the kernel makes at boot"},
		{[]string{"file:/home"}, "--copy file:/home: /home is a directory the kernel makes at boot; copy files into it (DEST /home/)"},
		{[]string{"file:/srv/a", "tree:/srv/a"}, "/srv/a is a directory in one copy and a file in another"},
		{[]string{"file:/srv/a", "tree:/srv/a/b"}, "--copy tree:/srv/a/b: /srv/a/b needs /srv/a to be a directory, but --copy file:/srv/a puts a file there"},
	} {
		var copies []Copy
		for _, s := range tc.specs {
			copies = append(copies, mustCopy(t, s, dir))
		}
		_, _, err := PackRoot(copies, "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("PackRoot(%v) = %v, want an error with %q", tc.specs, err, tc.want)
		}
	}
	_, _, err := PackRoot([]Copy{mustCopy(t, "file:/srv/app", dir)}, "/srv/app/data")
	if want := "--copy file:/srv/app: the working directory /srv/app/data needs /srv/app to be a directory, but it is a file or symlink"; err == nil || err.Error() != want {
		t.Errorf("a working directory under a copied file: %v", err)
	}
}

func TestImageFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("aaa"), 0o644)
	files, info, err := PackRoot([]Copy{mustCopy(t, "a:/srv/a", dir)}, "")
	if err != nil {
		t.Fatal(err)
	}
	elfBytes := []byte("\x7fELF and the rest of a program")
	m := &Manifest{Version: ManifestVersion, Name: "app", Workdir: "/srv", Files: info}
	img, err := AppendManifest(elfBytes, files, m)
	if err != nil {
		t.Fatal(err)
	}
	e, f, m2, err := SplitImage(img)
	if err != nil || !bytes.Equal(e, elfBytes) || !bytes.Equal(f, files) || m2.Workdir != "/srv" || *m2.Files != *info {
		t.Fatalf("SplitImage: %q, %d bytes of files, %+v, %v", e, len(f), m2, err)
	}
	if _, err := AppendManifest(elfBytes, nil, m); err == nil {
		t.Error("AppendManifest took a manifest describing files it was not given")
	}

	path := filepath.Join(dir, "app.img")
	os.WriteFile(path, img, 0o755)
	if m3, err := ReadManifest(path); err != nil || m3.Files.SHA256 != info.SHA256 {
		t.Errorf("ReadManifest: %+v, %v", m3, err)
	}
	out := filepath.Join(dir, "files.tar")
	if got, err := ExtractFiles(path, out); err != nil || *got != *info {
		t.Fatalf("ExtractFiles: %+v, %v", got, err)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, files) {
		t.Error("extracted files differ from the packed ones")
	}

	// A damaged archive is refused before boot.
	img[len(elfBytes)+600] ^= 1
	os.WriteFile(path, img, 0o755)
	if _, err := ExtractFiles(path, out); err == nil || !strings.Contains(err.Error(), "is damaged") {
		t.Errorf("ExtractFiles of a damaged image: %v", err)
	}
	// An image without files extracts nothing.
	plain, _ := AppendManifest(elfBytes, nil, &Manifest{Version: ManifestVersion, Name: "app"})
	os.WriteFile(path, plain, 0o755)
	os.Remove(out)
	if got, err := ExtractFiles(path, out); got != nil || err != nil {
		t.Errorf("ExtractFiles without files: %v, %v", got, err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("ExtractFiles wrote a file for an image without files")
	}
	// Files larger than what precedes the manifest are not an image's.
	m.Files.Size = 1 << 20
	js, _ := json.Marshal(m)
	bad := append(append(append([]byte{}, elfBytes...), js...), binary.LittleEndian.AppendUint64(nil, uint64(len(js)))...)
	bad = append(bad, trailerMagic...)
	if _, _, _, err := SplitImage(bad); err == nil || !strings.Contains(err.Error(), "do not fit before the manifest") {
		t.Errorf("SplitImage of files that overrun the file: %v", err)
	}
}

// FuzzSplitImage: whatever the bytes, SplitImage returns an error or parts that add up to
// the input.
func FuzzSplitImage(f *testing.F) {
	files, info, _ := PackRoot(nil, "")
	plain, _ := AppendManifest([]byte("\x7fELF program"), files, &Manifest{Version: ManifestVersion, Name: "a", Files: info})
	f.Add(plain)
	tarBytes := make([]byte, 1024)
	withFiles, _ := AppendManifest([]byte("\x7fELF program"), tarBytes, &Manifest{Version: ManifestVersion, Name: "a",
		Files: &RootInfo{Size: 1024, Entries: 1, SHA256: strings.Repeat("0", 64)}})
	f.Add(withFiles)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, files, m, err := SplitImage(b)
		if err != nil {
			return
		}
		if len(e)+len(files) > len(b) || !bytes.HasPrefix(b, e) || m.Files != nil && int64(len(files)) != m.Files.Size {
			t.Fatalf("parts do not add up: %d + %d of %d bytes, %+v", len(e), len(files), len(b), m.Files)
		}
	})
}
