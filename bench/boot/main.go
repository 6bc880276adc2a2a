// Command boot measures how fast and how small a hello-like Go program boots
// as a mote image and as the only process of a Linux guest (package linuxvm),
// on the same QEMU machine, and prints a markdown table.
//
// For each side and each of -runs boots it times, from just before QEMU (or
// the mote command) starts: the first byte of the app's output (the -expect
// text, found in the console stream: the console also carries firmware and
// kernel messages) and the process's exit. It reports medians, the artifact
// size, and the smallest -m that boots (bisection; a boot succeeds when the
// -expect text appears and the exit status is 0).
//
// See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"mote.dev/mote/internal/compare"
	"mote.dev/mote/internal/linuxvm"
	"mote.dev/mote/internal/linuxvm/bootparam"
)

type options struct {
	machine, accel string
	memory         int
	runs           int
	expect         string
	timeout        time.Duration

	// Linux side
	linux   bool
	app     string // prebuilt static binary
	pkg     string // else this Go package is built
	gzip    bool
	net     bool
	kernel  string // Debian package; empty: the current one
	appArgs []string

	// mote side
	moteCmd   string // template; empty: no mote column
	image     string
	artifacts string // files whose sizes make the mote artifact; default: image

	minMem        bool
	memLo, memHi  int
	minMemTimeout time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.machine, "machine", "microvm", "QEMU machine: microvm or q35")
	flag.StringVar(&o.accel, "accel", "tcg", "QEMU accelerator: tcg or kvm")
	flag.IntVar(&o.memory, "memory", 128, "guest memory in MiB for the timed runs")
	flag.IntVar(&o.runs, "runs", 10, "boots per side; the table shows medians")
	flag.StringVar(&o.expect, "expect", "hello", "text that marks the app's first output on the console")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Minute, "limit for one boot")
	flag.BoolVar(&o.linux, "linux", true, "measure the Linux guest")
	flag.StringVar(&o.app, "app", "", "static linux/amd64 binary to run in the Linux guest (default: build -pkg)")
	flag.StringVar(&o.pkg, "pkg", "mote.dev/mote/bench/hello", "Go package built for the Linux guest when -app is not given")
	flag.BoolVar(&o.gzip, "gzip", false, "gzip the Linux guest's initramfs")
	flag.BoolVar(&o.net, "net", false, "give the Linux guest virtio-net (loads the modules, configures eth0)")
	flag.StringVar(&o.kernel, "kernel", "", "Debian kernel package (default: the current linux-image-*-cloud-amd64)")
	flag.StringVar(&o.moteCmd, "mote", "", "command template for the mote side, e.g. 'mote run -machine {machine} -accel {accel} -m {memory} {image}'; "+
		"split at spaces, no quoting; {image} {machine} {accel} {memory} are replaced")
	flag.StringVar(&o.image, "image", "", "the mote image, for {image} and its size")
	flag.StringVar(&o.artifacts, "artifacts", "", "comma-separated files that make the mote artifact (default: -image)")
	flag.BoolVar(&o.minMem, "min-memory", true, "bisect the smallest -m that boots")
	flag.IntVar(&o.memLo, "memory-lo", 8, "lower end of the -m bisection, MiB")
	flag.IntVar(&o.memHi, "memory-hi", 256, "upper end of the -m bisection, MiB")
	flag.DurationVar(&o.minMemTimeout, "memory-timeout", time.Minute, "limit for one boot of the bisection")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: boot [flags] [-- app args]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	o.appArgs = flag.Args()
	if err := run(context.Background(), o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "boot:", err)
		os.Exit(1)
	}
}

// A side is one way to boot the app: mote or the Linux guest.
type side struct {
	name     string
	command  func(memory int) ([]string, error)
	artifact int64  // bytes
	note     string // how the artifact is made up
}

type result struct {
	firstOutput, exit []time.Duration
	minMemory         int // 0: not measured
	minMemoryErr      error
}

func run(ctx context.Context, o options, stdout, log io.Writer) error {
	if o.runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	var sides []side
	if o.moteCmd != "" {
		s, err := moteSide(o)
		if err != nil {
			return err
		}
		sides = append(sides, s)
	}
	if o.linux {
		s, cleanup, err := linuxSide(ctx, o, log)
		if err != nil {
			return err
		}
		defer cleanup()
		sides = append(sides, s)
	}
	if len(sides) == 0 {
		return errors.New("nothing to measure: give -mote or leave -linux on")
	}
	results := make([]result, len(sides))
	for i, s := range sides {
		argv, err := s.command(o.memory)
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "%s: %s\n", s.name, strings.Join(argv, " "))
		for r := 0; r < o.runs; r++ {
			b, err := boot(ctx, argv, o.expect, o.timeout)
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", s.name, r+1, err)
			}
			results[i].firstOutput = append(results[i].firstOutput, b.firstOutput)
			results[i].exit = append(results[i].exit, b.exit)
			fmt.Fprintf(log, "%s run %d: first output %v, exit %v\n", s.name, r+1, b.firstOutput.Round(time.Millisecond), b.exit.Round(time.Millisecond))
		}
		if o.minMem {
			boots := func(mib int) bool {
				argv, err := s.command(mib)
				if err != nil {
					return false
				}
				_, err = boot(ctx, argv, o.expect, o.minMemTimeout)
				fmt.Fprintf(log, "%s -m %d: %v\n", s.name, mib, okOr(err))
				return err == nil
			}
			results[i].minMemory, results[i].minMemoryErr = compare.Smallest(o.memLo, o.memHi, boots)
		}
	}
	fmt.Fprint(stdout, table(o, sides, results))
	return nil
}

func okOr(err error) string {
	if err == nil {
		return "boots"
	}
	return "fails: " + firstLine(err.Error())
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func moteSide(o options) (side, error) {
	if strings.Contains(o.moteCmd, "{image}") && o.image == "" {
		return side{}, errors.New("-mote uses {image}: give -image")
	}
	files := o.image
	if o.artifacts != "" {
		files = o.artifacts
	}
	var size int64
	if files != "" {
		var err error
		if size, err = fileSizes(strings.Split(files, ",")); err != nil {
			return side{}, err
		}
	}
	return side{
		name: "mote",
		command: func(memory int) ([]string, error) {
			return expand(o.moteCmd, map[string]string{
				"image": o.image, "machine": o.machine, "accel": o.accel, "memory": fmt.Sprint(memory),
			})
		},
		artifact: size,
		note:     files,
	}, nil
}

// expand splits template at white space and replaces {name} in each word.
func expand(template string, vars map[string]string) ([]string, error) {
	words := strings.Fields(template)
	if len(words) == 0 {
		return nil, errors.New("empty command template")
	}
	for i, w := range words {
		for k, v := range vars {
			w = strings.ReplaceAll(w, "{"+k+"}", v)
		}
		if strings.Contains(w, "{") && strings.Contains(w, "}") {
			return nil, fmt.Errorf("command template: unknown placeholder in %q", w)
		}
		words[i] = w
	}
	return words, nil
}

func linuxSide(ctx context.Context, o options, log io.Writer) (side, func(), error) {
	app := o.app
	var buildDir string
	if app == "" {
		var err error
		if buildDir, err = os.MkdirTemp("", "bench-boot-"); err != nil {
			return side{}, nil, err
		}
		app = filepath.Join(buildDir, "app")
		build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", app, o.pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := build.CombinedOutput(); err != nil {
			os.RemoveAll(buildDir)
			return side{}, nil, fmt.Errorf("go build %s: %v\n%s", o.pkg, err, out)
		}
	}
	g, err := linuxvm.Prepare(ctx, linuxvm.GuestOptions{
		App: app, Net: o.net, Gzip: o.gzip,
		Kernel: linuxvm.KernelOptions{Package: o.kernel, Log: log},
	})
	cleanup := func() {
		if g != nil {
			g.Close()
		}
		if buildDir != "" {
			os.RemoveAll(buildDir)
		}
	}
	if err != nil {
		cleanup()
		return side{}, nil, err
	}
	size, err := g.Size()
	if err != nil {
		cleanup()
		return side{}, nil, err
	}
	boot := bootparam.Config{Args: append([]string{"/app"}, o.appArgs...)}
	return side{
		name: "Linux guest",
		command: func(memory int) ([]string, error) {
			vm, err := g.VM(linuxvm.Machine{Type: o.machine, Accel: o.accel, MemoryMiB: memory}, boot)
			if err != nil {
				return nil, err
			}
			return linuxvm.Command(vm)
		},
		artifact: size,
		note:     g.Kernel.Package + " vmlinuz + initramfs",
	}, cleanup, nil
}

func fileSizes(files []string) (int64, error) {
	var n int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return 0, err
		}
		n += fi.Size()
	}
	return n, nil
}
