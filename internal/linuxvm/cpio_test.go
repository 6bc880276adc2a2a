package linuxvm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func testEntries() []cpioEntry {
	return []cpioEntry{
		{Name: "/init", Mode: sIFREG | 0o755, Data: []byte("#!init\n")},
		{Name: "dev/console", Mode: sIFCHR | 0o600, RdevMajor: 5, RdevMinor: 1},
		{Name: "modules/order", Mode: sIFREG | 0o644, Data: []byte("a\nb\n")},
		{Name: "app", Mode: sIFREG | 0o755, Data: bytes.Repeat([]byte{0xAB}, 4097)},
		{Name: "tmp", Mode: sIFDIR | 0o1777},
	}
}

func TestCPIOReproducible(t *testing.T) {
	var a, b bytes.Buffer
	if err := writeCPIO(&a, testEntries()); err != nil {
		t.Fatal(err)
	}
	e := testEntries()
	e[0], e[3] = e[3], e[0] // order of the input must not matter
	if err := writeCPIO(&b, e); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same entries in another order gave other bytes")
	}
	if a.Len()%4 != 0 {
		t.Errorf("archive length %d is not a multiple of 4", a.Len())
	}
	if !bytes.HasPrefix(a.Bytes(), []byte("070701")) {
		t.Error("no newc magic")
	}
}

func TestCPIOErrors(t *testing.T) {
	for _, e := range [][]cpioEntry{
		{{Name: "/"}},
		{{Name: "../x"}},
		{{Name: "a"}, {Name: "/a"}},
	} {
		if err := writeCPIO(&bytes.Buffer{}, e); err == nil {
			t.Errorf("writeCPIO(%v) succeeded", e)
		}
	}
}

// TestCPIOAgainstGNU lists and unpacks the archive with GNU cpio (Debian's
// cpio package), an implementation independent of ours.
func TestCPIOAgainstGNU(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("cpio not installed (apt-get install cpio)")
	}
	var buf bytes.Buffer
	if err := writeCPIO(&buf, testEntries()); err != nil {
		t.Fatal(err)
	}
	list := exec.Command("cpio", "-t", "-v", "--quiet")
	list.Stdin = bytes.NewReader(buf.Bytes())
	out, err := list.Output()
	if err != nil {
		t.Fatalf("cpio -t: %v", err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		got = append(got, f[0]+" "+f[len(f)-1])
	}
	want := []string{
		"-rwxr-xr-x app",
		"crw------- dev/console",
		"drwxr-xr-x dev",
		"-rwxr-xr-x init",
		"drwxr-xr-x modules",
		"-rw-r--r-- modules/order",
		"drwxrwxrwt tmp",
	}
	// cpio -t prints in archive order: dev comes before dev/console.
	want[1], want[2] = want[2], want[1]
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cpio -t:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(string(out), " 5,   1 ") && !strings.Contains(string(out), "5, 1") {
		t.Errorf("dev/console is not device 5,1:\n%s", out)
	}

	dir := t.TempDir()
	extract := exec.Command("cpio", "-i", "-d", "--quiet", "--no-absolute-filenames")
	extract.Dir = dir
	extract.Stdin = bytes.NewReader(buf.Bytes())
	if out, err := extract.CombinedOutput(); err != nil && !strings.Contains(string(out), "console") {
		t.Fatalf("cpio -i: %v\n%s", err, out)
	}
	for _, e := range testEntries() {
		if e.Mode&0o170000 != sIFREG {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, strings.TrimPrefix(e.Name, "/")))
		if err != nil || !bytes.Equal(data, e.Data) {
			t.Errorf("%s: unpacked %d bytes (%v), want %d", e.Name, len(data), err, len(e.Data))
		}
	}
}
