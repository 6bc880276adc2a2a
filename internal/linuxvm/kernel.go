package linuxvm

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// NetModules are the kernel modules the guest's virtio-net needs, in the
// order the init loads them: Debian builds every virtio driver as a module
// (CONFIG_VIRTIO*=m), and a module must come after those it uses. virtio_mmio
// serves microvm, the virtio_pci ones q35.
var NetModules = []string{
	"virtio_ring", "virtio", "virtio_mmio",
	"virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci",
	"failover", "net_failover", "virtio_net",
}

// KernelPackagePattern is the apt-cache search (--names-only) that lists
// Debian's versioned cloud kernels, e.g. linux-image-6.1.0-56-cloud-amd64.
const KernelPackagePattern = `^linux-image-[0-9].*-cloud-amd64$`

// kernelMetaPackage depends on the release's current cloud kernel.
const kernelMetaPackage = "linux-image-cloud-amd64"

// KernelOptions says which kernel to obtain and where to keep it.
type KernelOptions struct {
	// Package is a Debian package such as linux-image-6.1.0-56-cloud-amd64.
	// Empty: the one linux-image-cloud-amd64 depends on, else the newest that
	// KernelPackagePattern finds.
	Package string
	// CacheDir holds one directory per package. Empty: DefaultCacheDir().
	CacheDir string
	// Log, if set, receives one line per slow step (update, download).
	Log io.Writer
}

// KernelFiles are the parts of a Debian kernel package the guest needs.
type KernelFiles struct {
	Package string   // e.g. linux-image-6.1.0-56-cloud-amd64
	Vmlinuz string   // the bzImage
	Modules []string // uncompressed .ko files, in NetModules order
}

// DefaultCacheDir is os.UserCacheDir()/mote/linuxvm.
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "mote", "linuxvm"), nil
}

const kernelDoneFile = "complete"

// Kernel returns a Debian cloud kernel and its virtio-net modules, unpacked
// into the cache. The first call for a package runs `apt-get download` and
// unpacks only the files needed from `dpkg-deb --fsys-tarfile` (nothing is
// installed); later calls find them in the cache and download nothing.
func Kernel(ctx context.Context, opts KernelOptions) (*KernelFiles, error) {
	cache := opts.CacheDir
	if cache == "" {
		var err error
		if cache, err = DefaultCacheDir(); err != nil {
			return nil, err
		}
	}
	pkg := opts.Package
	if pkg == "" {
		var err error
		if pkg, err = resolveKernelPackage(ctx, opts.Log); err != nil {
			if cached := newestCachedKernel(cache); cached != "" {
				pkg = cached // offline, or without apt: use what we have
			} else {
				return nil, err
			}
		}
	}
	if !validPackageName(pkg) {
		return nil, fmt.Errorf("linuxvm: %q is not a Debian package name", pkg)
	}
	dir := filepath.Join(cache, pkg)
	if kf, err := cachedKernel(dir, pkg); err == nil {
		return kf, nil
	}
	if err := fetchKernel(ctx, cache, pkg, opts.Log); err != nil {
		return nil, err
	}
	return cachedKernel(dir, pkg)
}

func cachedKernel(dir, pkg string) (*KernelFiles, error) {
	if _, err := os.Stat(filepath.Join(dir, kernelDoneFile)); err != nil {
		return nil, err
	}
	kf := &KernelFiles{Package: pkg, Vmlinuz: filepath.Join(dir, "vmlinuz")}
	for _, m := range NetModules {
		kf.Modules = append(kf.Modules, filepath.Join(dir, m+".ko"))
	}
	for _, f := range append([]string{kf.Vmlinuz}, kf.Modules...) {
		if _, err := os.Stat(f); err != nil {
			return nil, err
		}
	}
	return kf, nil
}

// newestCachedKernel names the newest complete package in the cache, or "".
func newestCachedKernel(cache string) string {
	ents, _ := os.ReadDir(cache)
	var names []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(cache, e.Name(), kernelDoneFile)); err == nil {
			names = append(names, e.Name())
		}
	}
	return newestPackage(names)
}

var packageNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

func validPackageName(s string) bool { return packageNameRE.MatchString(s) }

// resolveKernelPackage asks apt for the current cloud kernel's name, running
// `apt-get update` first if the package lists are empty and we are root.
func resolveKernelPackage(ctx context.Context, log io.Writer) (string, error) {
	if _, err := exec.LookPath("apt-cache"); err != nil {
		return "", errors.New("linuxvm: apt-cache not found: the Linux guest uses a Debian kernel package; " +
			"run on Debian or Ubuntu, or pass KernelOptions.Package with a kernel already in the cache")
	}
	names, err := searchKernelPackages(ctx)
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		if os.Geteuid() != 0 {
			return "", errors.New("linuxvm: apt knows no cloud kernel package (empty package lists?): run `sudo apt-get update`")
		}
		logf(log, "linuxvm: apt-get update")
		if out, err := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); err != nil {
			return "", fmt.Errorf("linuxvm: apt-get update: %v\n%s", err, out)
		}
		if names, err = searchKernelPackages(ctx); err != nil {
			return "", err
		}
		if len(names) == 0 {
			return "", fmt.Errorf("linuxvm: `apt-cache search --names-only '%s'` finds nothing, even after apt-get update", KernelPackagePattern)
		}
	}
	out, _ := exec.CommandContext(ctx, "apt-cache", "depends", "--important", kernelMetaPackage).Output()
	return pickKernelPackage(names, string(out)), nil
}

func searchKernelPackages(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "search", "--names-only", KernelPackagePattern).Output()
	if err != nil {
		return nil, fmt.Errorf("linuxvm: apt-cache search: %w", err)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if name, _, ok := strings.Cut(line, " - "); ok {
			names = append(names, name)
		}
	}
	return names, nil
}

// pickKernelPackage chooses among the search results: the package the
// meta-package depends on (the release's current kernel) if it is one of
// them, else the newest.
func pickKernelPackage(names []string, depends string) string {
	for _, line := range strings.Split(depends, "\n") {
		dep, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: ")
		if !ok {
			continue
		}
		for _, n := range names {
			if n == dep {
				return n
			}
		}
	}
	return newestPackage(names)
}

// newestPackage orders names by their numeric fields (6.1.0-56 < 6.1.0-100
// < 6.12.1) and returns the last, or "".
func newestPackage(names []string) string {
	if len(names) == 0 {
		return ""
	}
	s := append([]string(nil), names...)
	sort.Slice(s, func(i, j int) bool { return versionLess(s[i], s[j]) })
	return s[len(s)-1]
}

var numRE = regexp.MustCompile(`[0-9]+`)

func versionLess(a, b string) bool {
	na, nb := numRE.FindAllString(a, -1), numRE.FindAllString(b, -1)
	for i := 0; i < len(na) && i < len(nb); i++ {
		x, _ := strconv.Atoi(na[i])
		y, _ := strconv.Atoi(nb[i])
		if x != y {
			return x < y
		}
	}
	if len(na) != len(nb) {
		return len(na) < len(nb)
	}
	return a < b
}

// fetchKernel downloads pkg and unpacks vmlinuz and NetModules into
// cache/pkg, atomically: a directory that exists is complete.
func fetchKernel(ctx context.Context, cache, pkg string, log io.Writer) error {
	for _, tool := range []string{"apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("linuxvm: %s not found: the Linux guest's kernel comes from Debian's %s; "+
				"run on Debian or Ubuntu (apt-get install apt dpkg)", tool, pkg)
		}
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(cache, ".fetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	logf(log, "linuxvm: apt-get download %s", pkg)
	get := exec.CommandContext(ctx, "apt-get", "download", pkg)
	get.Dir = tmp
	if out, err := get.CombinedOutput(); err != nil {
		hint := ""
		if os.Geteuid() != 0 {
			hint = "; if apt's lists are stale, run `sudo apt-get update`"
		}
		return fmt.Errorf("linuxvm: apt-get download %s: %v%s\n%s", pkg, err, hint, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("linuxvm: apt-get download %s left %d .deb files", pkg, len(debs))
	}
	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return err
	}
	var stderr bytes.Buffer
	unpack := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", debs[0])
	unpack.Stderr = &stderr
	tr, err := unpack.StdoutPipe()
	if err != nil {
		return err
	}
	if err := unpack.Start(); err != nil {
		return err
	}
	exErr := extractKernel(tr, out)
	io.Copy(io.Discard, tr)
	if err := unpack.Wait(); err != nil {
		return fmt.Errorf("linuxvm: dpkg-deb --fsys-tarfile %s: %v\n%s", debs[0], err, stderr.Bytes())
	}
	if exErr != nil {
		return fmt.Errorf("linuxvm: %s: %w", pkg, exErr)
	}
	if err := os.WriteFile(filepath.Join(out, kernelDoneFile), []byte(pkg+"\n"), 0o644); err != nil {
		return err
	}
	dst := filepath.Join(cache, pkg)
	if err := os.Rename(out, dst); err != nil {
		if _, statErr := os.Stat(filepath.Join(dst, kernelDoneFile)); statErr == nil {
			return nil // another process got there first
		}
		return err
	}
	return nil
}

// extractKernel copies boot/vmlinuz-* and the NetModules' .ko files out of a
// kernel package's data tar into dir as vmlinuz and NAME.ko. Debian 12's
// kernels ship modules uncompressed; a package with only .ko.xz or .ko.zst
// files is reported, not guessed at.
func extractKernel(r io.Reader, dir string) error {
	want := map[string]bool{}
	for _, m := range NetModules {
		want[m+".ko"] = true
	}
	found := map[string]bool{}
	var compressed []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(h.Name)
		base := path.Base(name)
		var dst string
		switch {
		case strings.HasPrefix(name, "boot/vmlinuz-"):
			dst = "vmlinuz"
		case strings.Contains(name, "/kernel/") && want[base]:
			dst = base
		case strings.Contains(name, "/kernel/") && (want[strings.TrimSuffix(base, ".xz")] || want[strings.TrimSuffix(base, ".zst")]):
			compressed = append(compressed, base)
			continue
		default:
			continue
		}
		if found[dst] {
			return fmt.Errorf("two files give %s", dst)
		}
		found[dst] = true
		if err := writeFileFrom(filepath.Join(dir, dst), tr); err != nil {
			return err
		}
	}
	if !found["vmlinuz"] {
		return errors.New("no boot/vmlinuz-* in the package")
	}
	var missing []string
	for name := range want {
		if !found[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		if len(compressed) > 0 {
			return fmt.Errorf("modules are compressed (%s); only uncompressed .ko files are supported", strings.Join(compressed, ", "))
		}
		return fmt.Errorf("missing modules: %s", strings.Join(missing, ", "))
	}
	return nil
}

func writeFileFrom(name string, r io.Reader) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
