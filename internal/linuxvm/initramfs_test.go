package linuxvm

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteInitramfs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := InitramfsConfig{
		Init:    write("guestinit", "init binary"),
		App:     write("hello", "app binary"),
		Modules: []string{write("virtio.ko", "m1"), write("virtio_net.ko", "m2")},
		Gzip:    true,
	}
	var a, b bytes.Buffer
	if err := WriteInitramfs(&a, c); err != nil {
		t.Fatal(err)
	}
	if err := WriteInitramfs(&b, c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two runs gave different bytes")
	}
	zr, err := gzip.NewReader(&a)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"init\x00", "app\x00", "modules/virtio.ko\x00", "modules/order\x00", "dev/console\x00", "virtio\nvirtio_net\n", "init binary", "app binary"} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("initramfs lacks %q", want)
		}
	}
	if _, err := exec.LookPath("cpio"); err == nil {
		list := exec.Command("cpio", "-t", "--quiet")
		list.Stdin = bytes.NewReader(raw)
		out, err := list.Output()
		if err != nil {
			t.Fatal(err)
		}
		want := "app dev dev/console etc init modules modules/order modules/virtio.ko modules/virtio_net.ko proc sys tmp"
		if got := strings.Join(strings.Fields(string(out)), " "); got != want {
			t.Errorf("cpio -t: %s\nwant %s", got, want)
		}
	}

	if err := WriteInitramfs(io.Discard, InitramfsConfig{Init: c.Init}); err == nil {
		t.Error("no app: no error")
	}
	if err := WriteInitramfs(io.Discard, InitramfsConfig{Init: c.Init, App: c.App, Modules: []string{c.App}}); err == nil {
		t.Error("module without .ko: no error")
	}
}
