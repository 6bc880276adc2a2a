// Command volumes measures file I/O on a volume (a host directory shared over virtio-9p) in a
// mote guest and in a Linux guest on the same QEMU machine: sequential write and read MB/s,
// and fsync'd 4 KiB writes per second (bench/volumes/app is the workload, the same binary
// code on both sides). Each side gets an empty directory of its own in the same host file
// system. Prints a markdown table on stdout; progress on stderr.
//
//	go run ./bench/volumes [-machine microvm] [-accel tcg] [-memory 256] [-mb 64] [-syncs 300]
//
// The Linux side is internal/linuxvm's guest with Debian's generic kernel of the cloud
// kernel's version (the cloud flavour has no 9p) and its 9p modules added (netfs, fscache,
// 9pnet, 9pnet_virtio, 9p: fetched from the same package with apt-get download, cached beside
// it); the app loads them and mounts the volume with
// trans=virtio, version=9p2000.L and -linux-msize (by default mote's msize, which Linux 6.1
// limits to 512,000 bytes for virtio), cache=none (the default).
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mote.dev/mote/internal/cli"
	"mote.dev/mote/internal/linuxvm"
	"mote.dev/mote/internal/linuxvm/bootparam"
)

// ninep are the modules the Linux guest's 9p needs beyond linuxvm's virtio ones, in load
// order; fscache is optional (merged into netfs in later kernels).
var ninep = []string{"netfs", "fscache", "9pnet", "9pnet_virtio", "9p"}

func main() {
	machine := flag.String("machine", "microvm", "QEMU machine: microvm or q35")
	accel := flag.String("accel", "tcg", "accelerator: tcg or kvm")
	memory := flag.Int("memory", 256, "guest memory in MiB, both sides")
	mb := flag.Int("mb", 64, "MiB written and read sequentially")
	syncs := flag.Int("syncs", 300, "fsync'd 4 KiB writes")
	linuxMsize := flag.Int("linux-msize", 1<<20+4096, "the msize the Linux guest asks for (mote's by default; Linux 6.1 takes at most 512000)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	appArgs := []string{"-mb", strconv.Itoa(*mb), "-syncs", strconv.Itoa(*syncs), "/data"}

	linux, err := runLinux(ctx, *machine, *accel, *memory, append([]string{"-msize", strconv.Itoa(*linuxMsize)}, appArgs...))
	if err != nil {
		fmt.Fprintln(os.Stderr, "volumes: linux:", err)
		os.Exit(1)
	}
	mote, err := runMote(ctx, *machine, *accel, *memory, appArgs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "volumes: mote:", err)
		os.Exit(1)
	}
	fmt.Printf("| %s, %s, -m %d MiB | Linux guest (9p, cache=none) | mote |\n| --- | --- | --- |\n", *machine, *accel, *memory)
	for _, k := range []struct{ key, name string }{
		{"seqwrite_MBps", fmt.Sprintf("sequential write, %d MiB in 1 MiB writes + fsync (MB/s)", *mb)},
		{"seqread_MBps", fmt.Sprintf("sequential read, %d MiB in 1 MiB reads (MB/s)", *mb)},
		{"fsync4k_per_s", fmt.Sprintf("4 KiB write + fdatasync, %d times (per second)", *syncs)},
		{"pread1_us", "1-byte pread, 1,000 times (µs each: one request's round trip)"},
	} {
		fmt.Printf("| %s | %s | %s |\n", k.name, linux[k.key], mote[k.key])
	}
}

// results reads the app's "result KEY VALUE" lines.
func results(out string) (map[string]string, error) {
	r := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(strings.TrimSpace(sc.Text()))
		if len(f) == 3 && f[0] == "result" {
			r[f[1]] = f[2]
		}
	}
	if len(r) != 4 {
		return nil, fmt.Errorf("no results in the output:\n%s", out)
	}
	return r, nil
}

func runLinux(ctx context.Context, machine, accel string, memory int, appArgs []string) (map[string]string, error) {
	tmp, err := os.MkdirTemp("", "bench-volumes-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	app := filepath.Join(tmp, "app")
	build := exec.CommandContext(ctx, "go", "build", "-o", app, "./bench/volumes/app")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the app: %v\n%s", err, out)
	}
	// Debian's cloud kernel has no 9p (CONFIG_9P_FS is off in that flavour): the generic
	// kernel of the same version has it as modules.
	cloud, err := linuxvm.Kernel(ctx, linuxvm.KernelOptions{Log: os.Stderr})
	if err != nil {
		return nil, err
	}
	kf, err := linuxvm.Kernel(ctx, linuxvm.KernelOptions{Package: strings.Replace(cloud.Package, "-cloud-amd64", "-amd64", 1), Log: os.Stderr})
	if err != nil {
		return nil, err
	}
	mods, err := ninepModules(ctx, kf)
	if err != nil {
		return nil, err
	}
	initBin, initrd := filepath.Join(tmp, "init"), filepath.Join(tmp, "initramfs")
	if err := linuxvm.BuildInit(ctx, initBin); err != nil {
		return nil, err
	}
	if err := linuxvm.Initramfs(initrd, linuxvm.InitramfsConfig{Init: initBin, App: app, Modules: append(kf.Modules, mods...)}); err != nil {
		return nil, err
	}
	khz, err := linuxvm.HostTSCkHz()
	if err != nil {
		return nil, err
	}
	argv, err := linuxvm.Command(linuxvm.VM{
		Machine: linuxvm.Machine{Type: machine, Accel: accel, MemoryMiB: memory},
		Kernel:  kf.Vmlinuz, Initrd: initrd, TSCkHz: khz,
		Boot: bootparam.Config{Args: append([]string{"app", "-linux"}, appArgs...)},
	})
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(tmp, "volume")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	argv = append(argv, volumeArgs(machine, dir)...)
	fmt.Fprintln(os.Stderr, "volumes: linux:", strings.Join(argv, " "))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	status, err := linuxvm.ExitStatus(cmd.Run())
	if err != nil || status != 0 {
		return nil, fmt.Errorf("status %d, %v:\n%s", status, err, out.String())
	}
	return results(out.String())
}

// volumeArgs are the QEMU arguments of the volume, as mote run -v gives them.
func volumeArgs(machine, dir string) []string {
	args := []string{"-fsdev", "local,id=vol0,path=" + dir + ",security_model=none"}
	if machine == "microvm" {
		return append(args, "-device", "virtio-9p-device,fsdev=vol0,mount_tag=vol0", "-global", "virtio-mmio.force-legacy=false")
	}
	return append(args, "-device", "virtio-9p-pci,fsdev=vol0,mount_tag=vol0,disable-legacy=on")
}

func runMote(ctx context.Context, machine, accel string, memory int, appArgs []string) (map[string]string, error) {
	dir, err := os.MkdirTemp("", "bench-volumes-mote-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var out, errb bytes.Buffer
	c := &cli.CLI{In: strings.NewReader(""), Out: &out, Err: &errb}
	args := append([]string{"run", "--machine", machine, "--accel", accel, "-m", strconv.Itoa(memory) + "M",
		"-v", dir + ":/data", "./bench/volumes/app", "--"}, appArgs...)
	fmt.Fprintln(os.Stderr, "volumes: mote", strings.Join(args, " "))
	if code := cli.Main(ctx, c, args); code != 0 {
		return nil, fmt.Errorf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	return results(out.String())
}

// ninepModules returns the 9p modules of kf's kernel package, fetched once with apt-get
// download into a directory beside linuxvm's cache of it.
func ninepModules(ctx context.Context, kf *linuxvm.KernelFiles) ([]string, error) {
	dir := filepath.Join(filepath.Dir(filepath.Dir(kf.Vmlinuz)), kf.Package+"-9p")
	if mods, err := cached9p(dir); err == nil {
		return mods, nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".fetch-9p-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintln(os.Stderr, "volumes: apt-get download", kf.Package)
	get := exec.CommandContext(ctx, "apt-get", "download", kf.Package)
	get.Dir = tmp
	if out, err := get.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("apt-get download %s: %v\n%s", kf.Package, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("apt-get download %s left %d .deb files", kf.Package, len(debs))
	}
	unpack := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", debs[0])
	r, err := unpack.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := unpack.Start(); err != nil {
		return nil, err
	}
	out := filepath.Join(tmp, "out")
	os.Mkdir(out, 0o755)
	want := map[string]bool{}
	for _, m := range ninep {
		want[m+".ko"] = true
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if base := path.Base(h.Name); want[base] && h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(out, base), b, 0o644); err != nil {
				return nil, err
			}
		}
	}
	io.Copy(io.Discard, r)
	if err := unpack.Wait(); err != nil {
		return nil, err
	}
	if err := os.Rename(out, dir); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	return cached9p(dir)
}

func cached9p(dir string) ([]string, error) {
	var mods []string
	for _, m := range ninep {
		p := filepath.Join(dir, m+".ko")
		if _, err := os.Stat(p); err != nil {
			if m == "fscache" {
				continue
			}
			return nil, err
		}
		mods = append(mods, p)
	}
	return mods, nil
}
