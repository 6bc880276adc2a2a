package linuxvm

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPickKernelPackage(t *testing.T) {
	names := []string{
		"linux-image-6.1.0-9-cloud-amd64",
		"linux-image-6.1.0-56-cloud-amd64",
		"linux-image-6.12.117+deb12-cloud-amd64",
		"linux-image-6.12.100+deb12-cloud-amd64",
	}
	deps := "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n"
	if got := pickKernelPackage(names, deps); got != "linux-image-6.1.0-56-cloud-amd64" {
		t.Errorf("with the meta-package: %s", got)
	}
	if got := pickKernelPackage(names, ""); got != "linux-image-6.12.117+deb12-cloud-amd64" {
		t.Errorf("without the meta-package: %s", got)
	}
	if got := pickKernelPackage(names[:2], "  Depends: linux-image-6.1.0-99-cloud-amd64\n"); got != "linux-image-6.1.0-56-cloud-amd64" {
		t.Errorf("meta-package names an unlisted kernel: %s", got)
	}
	if got := pickKernelPackage(nil, ""); got != "" {
		t.Errorf("no names: %q", got)
	}
}

func kernelTar(t *testing.T, files map[string]string) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return &buf
}

func TestExtractKernel(t *testing.T) {
	files := map[string]string{
		"./boot/vmlinuz-6.1.0-56-cloud-amd64":                                        "bzImage",
		"./boot/System.map-6.1.0-56-cloud-amd64":                                     "map",
		"./lib/modules/6.1.0-56-cloud-amd64/modules.dep":                             "",
		"./lib/modules/6.1.0-56-cloud-amd64/kernel/drivers/virtio/virtio_balloon.ko": "no",
	}
	for _, m := range NetModules {
		files["./lib/modules/6.1.0-56-cloud-amd64/kernel/x/"+m+".ko"] = "elf " + m
	}
	dir := t.TempDir()
	if err := extractKernel(kernelTar(t, files), dir); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(NetModules)+1 {
		t.Errorf("extracted %d files, want %d", len(ents), len(NetModules)+1)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "virtio_net.ko")); string(b) != "elf virtio_net" {
		t.Errorf("virtio_net.ko = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "vmlinuz")); string(b) != "bzImage" {
		t.Errorf("vmlinuz = %q", b)
	}

	delete(files, "./lib/modules/6.1.0-56-cloud-amd64/kernel/x/virtio_net.ko")
	files["./lib/modules/6.1.0-56-cloud-amd64/kernel/x/virtio_net.ko.xz"] = "xz"
	err := extractKernel(kernelTar(t, files), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "compressed") {
		t.Errorf("compressed module: err = %v", err)
	}
	delete(files, "./lib/modules/6.1.0-56-cloud-amd64/kernel/x/virtio_net.ko.xz")
	err = extractKernel(kernelTar(t, files), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "virtio_net.ko") {
		t.Errorf("missing module: err = %v", err)
	}
}

func TestKernelUsesCache(t *testing.T) {
	cache := t.TempDir()
	pkg := "linux-image-6.1.0-1-cloud-amd64"
	dir := filepath.Join(cache, pkg)
	os.MkdirAll(dir, 0o755)
	for _, f := range append([]string{"vmlinuz", kernelDoneFile}, NetModules...) {
		if f != "vmlinuz" && f != kernelDoneFile {
			f += ".ko"
		}
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	t.Setenv("PATH", t.TempDir()) // no apt: a cached kernel must do
	kf, err := Kernel(t.Context(), KernelOptions{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if kf.Package != pkg || kf.Vmlinuz != filepath.Join(dir, "vmlinuz") || len(kf.Modules) != len(NetModules) {
		t.Errorf("Kernel = %+v", kf)
	}
	if _, err := Kernel(t.Context(), KernelOptions{CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "apt-cache not found") {
		t.Errorf("empty cache without apt: err = %v", err)
	}
}
