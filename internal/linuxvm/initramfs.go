package linuxvm

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// InitPackage is the Go package of the guest's init (PID 1).
const InitPackage = "mote.dev/mote/internal/linuxvm/guestinit"

// BuildInit compiles InitPackage as a static linux/amd64 binary at dst,
// reproducibly (-trimpath, no build id). It needs this module's source: the go
// command runs in the directory this file was compiled from when it still
// exists (tests, go run in the repository), else in the current directory.
func BuildInit(ctx context.Context, dst string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", dst, InitPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if _, file, _, ok := runtime.Caller(0); ok {
		if _, err := os.Stat(file); err == nil {
			cmd.Dir = filepath.Dir(file)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("linuxvm: building the init: %v\n%s", err, out)
	}
	return nil
}

// InitramfsConfig lists what goes into the guest's initramfs.
type InitramfsConfig struct {
	Init    string   // the init binary (BuildInit), packed as /init
	App     string   // the app, a static linux/amd64 binary, packed as /app
	Modules []string // .ko files packed as /modules/NAME.ko, listed in load order in /modules/order
	Gzip    bool     // compress the archive (smaller, a little slower to boot)
}

// Initramfs writes the initramfs that c describes to the file dst.
func Initramfs(dst string, c InitramfsConfig) error {
	var buf bytes.Buffer
	if err := WriteInitramfs(&buf, c); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// WriteInitramfs writes the newc cpio archive (gzipped if c.Gzip) that c
// describes: /init, /app, the modules, /dev/console (so the kernel can give
// init its stdin, stdout and stderr before devtmpfs is mounted) and empty
// /proc, /sys, /tmp and /etc. The same inputs give the same bytes.
func WriteInitramfs(w io.Writer, c InitramfsConfig) error {
	var entries []cpioEntry
	for _, f := range []struct{ src, name string }{{c.Init, "init"}, {c.App, "app"}} {
		if f.src == "" {
			return fmt.Errorf("linuxvm: initramfs: no %s binary given", f.name)
		}
		data, err := os.ReadFile(f.src)
		if err != nil {
			return fmt.Errorf("linuxvm: initramfs: %w", err)
		}
		entries = append(entries, cpioEntry{Name: f.name, Mode: sIFREG | 0o755, Data: data})
	}
	var order strings.Builder
	for _, m := range c.Modules {
		data, err := os.ReadFile(m)
		if err != nil {
			return fmt.Errorf("linuxvm: initramfs: %w", err)
		}
		name := strings.TrimSuffix(filepath.Base(m), ".ko")
		if name == filepath.Base(m) {
			return fmt.Errorf("linuxvm: initramfs: module %s does not end in .ko", m)
		}
		entries = append(entries, cpioEntry{Name: "modules/" + name + ".ko", Mode: sIFREG | 0o644, Data: data})
		order.WriteString(name + "\n")
	}
	if len(c.Modules) > 0 {
		entries = append(entries, cpioEntry{Name: "modules/order", Mode: sIFREG | 0o644, Data: []byte(order.String())})
	}
	entries = append(entries,
		cpioEntry{Name: "dev/console", Mode: sIFCHR | 0o600, RdevMajor: 5, RdevMinor: 1},
		cpioEntry{Name: "proc", Mode: sIFDIR | 0o555},
		cpioEntry{Name: "sys", Mode: sIFDIR | 0o555},
		cpioEntry{Name: "tmp", Mode: sIFDIR | 0o1777},
		cpioEntry{Name: "etc", Mode: sIFDIR | 0o755},
	)
	if !c.Gzip {
		return writeCPIO(w, entries)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression) // zero header: no name, no mtime
	if err != nil {
		return err
	}
	if err := writeCPIO(zw, entries); err != nil {
		return err
	}
	return zw.Close()
}
