package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/cmdline"
	"mote.dev/mote/internal/image"
	"mote.dev/mote/internal/metrics"
	"mote.dev/mote/internal/qemu"
	"mote.dev/mote/internal/tsc"
	"mote.dev/mote/internal/usernet"
	"mote.dev/mote/internal/volume"
)

// defaultMemory is the guest RAM when neither -m nor the image's manifest sets it.
const defaultMemory = "128M"

// vmOptions are the flags run and test share.
type vmOptions struct {
	memory  string
	machine string
	accel   string
	dryRun  bool
	verbose bool
	trace   string // "" off, traceStderr, or a file
	summary bool
	publish []string
	// net is "" or "user" for the user-mode network, or "tap:IFNAME"; ip, gw and dns
	// configure the guest on a tap.
	net, ip, gw, dns string
	// kernelArgs are extra key=value pairs for the kernel command line (hidden; tests use
	// crashtest=1).
	kernelArgs []string
	// tmpfsSize limits /tmp (tmpsize= on the kernel command line); "" leaves the kernel's
	// default, a quarter of the guest's memory.
	tmpfsSize string
}

// bind binds the flags; verboseShort is --verbose's one-letter form ("" for none: run's -v
// mounts a volume, as Docker's does).
func (o *vmOptions) bind(cmd *cobra.Command, defaultMem, verboseShort string) {
	f := cmd.Flags()
	f.StringVarP(&o.memory, "memory", "m", "", "guest memory `SIZE`, e.g. 256M or 1G (at least 8M; default "+defaultMem+")")
	f.StringVar(&o.machine, "machine", qemu.MachineMicroVM, "QEMU machine: microvm or q35")
	f.StringVar(&o.accel, "accel", "", "accelerator: kvm or tcg (default: kvm when /dev/kvm is usable)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the QEMU command line instead of running it")
	f.BoolVarP(&o.verbose, "verbose", verboseShort, false, "show the kernel's log records on stderr")
	f.Var((*traceDest)(&o.trace), "trace", "log every system call the program makes, as strace does, on stderr or, with --trace=FILE, in FILE")
	f.Lookup("trace").NoOptDefVal = traceStderr
	f.BoolVar(&o.summary, "syscall-summary", false, "print a count of system calls, errors and time per call on stderr when the program exits, as strace -c -w does")
	f.StringVar(&o.tmpfsSize, "tmpfs-size", "", "limit the guest's /tmp to `SIZE`, e.g. 64M (default: a quarter of its memory); writes past it fail with ENOSPC")
	f.StringArrayVar(&o.kernelArgs, "kernel-arg", nil, "add `KEY=VALUE` to the kernel command line (for testing the kernel)")
	f.MarkHidden("kernel-arg")
	f.StringVar(&o.net, "net", "", "the guest's network: user (mote's user-mode network, the default) or tap:`IFNAME` (a host tap device; the guest's address by DHCP, or --ip)")
	f.StringVar(&o.ip, "ip", "", "the guest's address on a tap network, `CIDR` such as 10.9.0.2/24 (default: ask a DHCP server)")
	f.StringVar(&o.gw, "gw", "", "the guest's default gateway on a tap network with --ip, an `IP`")
	f.StringVar(&o.dns, "dns", "", "the name server for the guest on a tap network with --ip, an `IP`")
	f.StringArrayVarP(&o.publish, "publish", "p", nil, "publish a guest port on the host: `[HOSTIP:]HOSTPORT:GUESTPORT[/udp]` (repeatable; gives the guest a network device on mote's user-mode network)")
}

type runOptions struct {
	vmOptions
	env []string
	// volumes are -v strings, HOSTDIR|NAME:GUESTDIR[:ro].
	volumes []string
	target  string
	args    []string
	hasArg  bool // arguments were given after --

	detach  bool
	name    string
	restart string

	metricsAddr string

	imageFlags
}

func newRunCommand(c *CLI) *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] PKG|IMAGE [-- ARGS...]",
		Short: "Build (if needed) and boot a program under QEMU",
		Long: `Run boots a program as a unikernel under QEMU and waits for it, like running it as a process:
its stdout and stderr stream to the terminal, stdin is passed to it, and mote run exits with the
program's exit status. Ctrl-C stops the guest (exit status 130); a SIGTERM sent to mote run is
passed on to the program, which may handle it (signal.Notify) and exit on its own.

With -d the guest runs in the background under a supervisor, like a container: mote run prints
the instance's name and returns. mote ps lists instances, mote logs shows their output, mote
stop ends them gracefully and mote rm removes them. --restart boots the guest again when it
exits on its own: no (the default), on-failure[:N] (after a non-zero exit status, at most N
times) or always.

The first argument is a package (as for mote build, which run does first) or an image file made
by mote build. ARGS after -- become the program's arguments (os.Args[1:]); without them the
image's default arguments apply.

A package's manifest, mote.yaml beside it (or -f FILE), gives its name, arguments,
environment, memory, ports, volumes, files to copy into the image and working directory
(see mote build --help and mote init). Flags override it: -e by variable; -m, --workdir,
-p and -- ARGS replace what it says; --copy adds to its copy entries. An image carries what
was built into it: name, arguments, environment, memory, working directory and files.

--trace logs every system call the program makes, as strace -f -T prints them: thread, name,
decoded arguments, result or errno, and duration. It goes to stderr, or to FILE with
--trace=FILE (the = is needed). --syscall-summary prints a table of calls, errors and time per
system call when the program exits, as strace -c -w does. System calls the kernel lacks are
named on stderr; --verbose shows all the kernel's log records.

-v mounts a host directory in the guest, as Docker's -v does: -v ./data:/data (the host
directory must exist), -v ./conf:/etc/app:ro read-only (writes fail with EROFS), or a named
volume, -v NAME:/data (mote volume create NAME). The guest's files are the host's: what the
program writes and fsyncs is on the host's disk when fsync returns.

QEMU runs the microvm machine by default (--machine q35 for a PC with PCI), with KVM when
/dev/kvm is usable and TCG emulation otherwise. Exit status 125 means mote could not run the
guest or its kernel crashed before the program exited; a kernel crash prints the fault, the
registers and symbolized kernel and program backtraces.`,
		Example: `  mote run ./examples/hello -- world
  mote run -e GREETING=hi -m 256M ./examples/hello -- world
  mote run --machine q35 --accel tcg hello.img
  mote run -p 8080:8080 --copy ./static:/srv/www --workdir /srv ./cmd/server
  mote run --dry-run ./examples/hello
  mote run --trace=hello.trace --syscall-summary ./examples/hello
  mote run -d --name web -p 8080:8080 ./examples/http
  mote run -v ./data:/data -v ./conf:/etc/app:ro ./cmd/server
  mote run --net tap:tap0 ./examples/http        # on a host tap device, its address by DHCP (root)
  mote run -d --restart on-failure:3 ./cmd/worker`,
		Args: func(cmd *cobra.Command, args []string) error {
			n := cmd.ArgsLenAtDash()
			if n < 0 {
				n = len(args)
			}
			if n != 1 {
				return &StatusError{Code: 2, Msg: "mote run takes one package or image; put the program's arguments after --, e.g. mote run ./cmd/app -- -flag value"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.target = args[0]
			opts.args = args[1:]
			opts.hasArg = cmd.ArgsLenAtDash() >= 0
			if opts.detach {
				return runDetached(cmd.Context(), c, &opts)
			}
			if opts.name != "" || cmd.Flags().Changed("restart") {
				return &StatusError{Code: 2, Msg: "--name and --restart are for guests that run in the background: add -d"}
			}
			return runRun(cmd.Context(), c, &opts)
		},
	}
	opts.bind(cmd, defaultMemory, "")
	cmd.Flags().StringArrayVarP(&opts.volumes, "volume", "v", nil, "mount a host directory or a named volume in the guest: `HOSTDIR:GUESTDIR[:ro]` or NAME:GUESTDIR[:ro] (repeatable; HOSTDIR must exist)")
	cmd.Flags().StringArrayVarP(&opts.env, "env", "e", nil, "set environment variable `KEY=VALUE` in the guest (KEY alone passes the host's value)")
	cmd.Flags().BoolVarP(&opts.detach, "detach", "d", false, "run the guest in the background and print its name")
	cmd.Flags().StringVar(&opts.name, "name", "", "name the background instance (default: the image's name and a random suffix)")
	cmd.Flags().StringVar(&opts.restart, "restart", "no", "restart `POLICY` of a background instance: no, on-failure[:N] or always")
	cmd.Flags().StringVar(&opts.metricsAddr, "metrics-addr", "", "serve the guest's metrics for Prometheus on http://`[HOST:]PORT`/metrics, labelled with its name")
	opts.imageFlags.bindImage(cmd)
	return cmd
}

func runRun(ctx context.Context, c *CLI, opts *runOptions) error {
	binary, guest, m, err := c.resolveRun(ctx, opts)
	if err != nil {
		return err
	}
	guest.metricsAddr, guest.name = opts.metricsAddr, m.Name
	return c.boot(ctx, binary, &opts.vmOptions, guest)
}

// resolveRun checks run's options and builds or reads the image: the QEMU binary, the guest
// to boot, and the image's manifest.
func (c *CLI) resolveRun(ctx context.Context, opts *runOptions) (string, guestSpec, *image.Manifest, error) {
	if err := checkVMOptions(&opts.vmOptions); err != nil {
		return "", guestSpec{}, nil, err
	}
	env, err := parseEnv(opts.env)
	if err != nil {
		return "", guestSpec{}, nil, err
	}
	// The flags' volumes are checked before the build, the manifest's (which the flags
	// replace) after it has been read.
	if _, err := c.resolveVolumes(opts.volumes); err != nil {
		return "", guestSpec{}, nil, err
	}
	binary := c.QEMU
	if !opts.dryRun {
		if binary, err = qemu.Find(c.QEMU); err != nil {
			return "", guestSpec{}, nil, &StatusError{Code: exitMote, Msg: err.Error()}
		}
	} else if binary == "" {
		binary = qemu.Binary
	}

	if err := opts.checkWorkdir(); err != nil {
		return "", guestSpec{}, nil, err
	}
	imgPath, m, err := c.imageFor(ctx, opts)
	if err != nil {
		return "", guestSpec{}, nil, err
	}
	mounts, err := c.resolveVolumes(opts.volumes)
	if err != nil {
		return "", guestSpec{}, nil, err
	}
	args := m.Args
	if opts.hasArg {
		args = opts.args
	}
	guest := guestSpec{
		image:    imgPath,
		hostname: m.Name,
		argv:     append([]string{m.Name}, args...),
		env:      mergeEnv(m.Env, env),
		cwd:      firstNonEmpty(opts.workdir, m.Workdir),
		memory:   firstNonEmpty(opts.memory, m.Memory, defaultMemory),
		// An app with sockets gets a network device.
		network: m.Network,
		volumes: mounts,
	}
	if err := checkFilesFit(m, guest.memory); err != nil {
		return "", guestSpec{}, nil, err
	}
	return binary, guest, m, nil
}

// checkFilesFit refuses a memory size that the image's files would fill: they sit in guest
// memory from boot to exit.
func checkFilesFit(m *image.Manifest, memory string) error {
	if m.Files == nil {
		return nil
	}
	mem, err := image.ParseMemory(memory)
	if err != nil {
		return nil // reported with the other memory checks
	}
	need := uint64(m.Files.Size) + image.MinMemory
	if mem < need {
		return &StatusError{Code: exitFailure, Msg: fmt.Sprintf("the image's files take %s of guest memory, more than -m %s leaves the program: use -m %s or more",
			image.HumanSize(m.Files.Size), memory, biggerMemory(image.FormatMemory(need)))}
	}
	return nil
}

// imageFilesName is the file in a run's directory that holds the image's files for QEMU.
const imageFilesName = "files.tar"

// guestSpec is one guest to boot. Its initrd is the PVH module given by the caller (mote
// test's package files); without one, boot hands the guest the image's own files, if any.
type guestSpec struct {
	image    string
	hostname string // the guest's host name; empty: the kernel's default, mote
	initrd   string
	argv     []string
	env      []string
	cwd      string
	// writable are directories of the image the guest may write in (rw=); the rest
	// of the root is read-only.
	writable []string
	memory   string
	network  bool
	volumes  []volume.Mount
	// stdout and stderr, if set, replace c.Out and c.Err for the guest's output.
	stdout, stderr io.Writer
	// noStdin keeps c.In from the guest.
	noStdin bool
	// record, if set, also receives every kernel channel record.
	record func(qemu.Record)
	// started, if set, is told of the running guest; then SIGTERM is left to the caller.
	started func(*qemu.Guest)
	// gdb, if set, is the chardev of a gdb stub (qemu.Config.GDB); hold keeps the guest
	// stopped at its entry until a debugger lets it go.
	gdb  string
	hold bool
	// metricsAddr, if set, is where the guest's metrics are served, labelled instance=name.
	metricsAddr, name string
}

// boot runs the guest and maps what happened to mote's exit.
func (c *CLI) boot(ctx context.Context, binary string, o *vmOptions, g guestSpec) error {
	cfg, tap, err := c.guestConfig(o, g)
	if err != nil {
		return err
	}
	var publish []usernet.Publish
	for _, s := range o.publish {
		p, err := usernet.ParsePublish(s)
		if err != nil {
			return &StatusError{Code: exitFailure, Msg: err.Error()}
		}
		publish = append(publish, p)
	}
	network := (g.network || len(publish) > 0) && tap == ""
	if network {
		cfg.NetSocket = "net.sock" // placed in the run directory below
	}
	if tap != "" {
		if len(publish) > 0 {
			return &StatusError{Code: exitFailure, Msg: "-p publishes ports of the user-mode network; on a tap the guest is reachable at its --ip"}
		}
		cfg.Tap, cfg.MAC = tap, randomMAC()
	}
	if err := cfg.Validate(); err != nil {
		return &StatusError{Code: exitFailure, Msg: err.Error()}
	}
	// The image's own files go to the guest as its PVH module: QEMU reads a module only from a
	// file of its own, so they are copied out of the image for the run.
	var files *image.RootInfo
	if g.initrd == "" {
		m, err := image.ReadManifest(g.image)
		if err != nil {
			return &StatusError{Code: exitMote, Msg: fmt.Sprintf("%s: %v", g.image, err)}
		}
		files = m.Files
	}
	if o.dryRun {
		cfg.RunDir = filepath.Join(os.TempDir(), "mote-run-XXXXXX")
		if network {
			cfg.NetSocket = filepath.Join(cfg.RunDir, "net.sock")
		}
		if files != nil {
			cfg.Initrd = filepath.Join(cfg.RunDir, imageFilesName)
		}
		fmt.Fprintln(c.Out, qemu.ShellQuote(append([]string{binary}, cfg.Args()...)))
		return nil
	}
	runDir, err := qemu.TempRunDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(runDir)
	cfg.RunDir = runDir
	if files != nil {
		cfg.Initrd = filepath.Join(runDir, imageFilesName)
		if _, err := image.ExtractFiles(g.image, cfg.Initrd); err != nil {
			return &StatusError{Code: exitMote, Msg: err.Error()}
		}
	}
	stdout, stderr := c.Out, c.Err
	if g.stdout != nil {
		stdout = g.stdout
	}
	if g.stderr != nil {
		stderr = g.stderr
	}
	if network {
		nw, err := usernet.Start(usernet.Config{
			Socket:  filepath.Join(runDir, "net.sock"),
			Publish: publish,
			Log:     func(format string, args ...any) { fmt.Fprintf(stderr, "mote: "+format+"\n", args...) },
		})
		if err != nil {
			return &StatusError{Code: exitMote, Msg: err.Error()}
		}
		defer nw.Close()
		cfg.NetSocket = nw.Socket()
		if c.OnNetwork != nil {
			c.OnNetwork(nw)
		}
	}

	var current atomic.Pointer[qemu.Guest]
	if g.metricsAddr != "" && !o.dryRun {
		ln, err := listenMetrics(g.metricsAddr)
		if err != nil {
			return err
		}
		sctx, stopServing := context.WithCancel(context.Background())
		defer stopServing()
		go serveMetrics(sctx, ln, func(ctx context.Context) (metrics.Families, error) {
			guest := current.Load()
			if guest == nil {
				return nil, errors.New("the guest is not running yet")
			}
			return scrapeGuest(ctx, g.name, func(ctx context.Context) ([]byte, error) { return guest.Agent(ctx, "metrics") })
		})
	}

	tracer, err := newSyscallTracer(o, stderr)
	if err != nil {
		return err
	}
	streams := qemu.Streams{Stdin: c.In, Stdout: stdout, Stderr: stderr}
	if g.noStdin {
		streams.Stdin = nil
	}
	streams.Record = func(r qemu.Record) {
		if g.record != nil {
			g.record(r)
		}
		tracer.record(r)
		if r.Kind == "log" && strings.HasPrefix(r.Text, "dhcp: ") {
			// On a tap without --ip, this is how the user learns where the guest is.
			fmt.Fprintf(stderr, "mote: %s\n", r.Text)
			return
		}
		if !o.verbose {
			return
		}
		switch r.Kind {
		case "log":
			fmt.Fprintf(stderr, "mote: kernel: %s\n", r.Text)
		case "fault":
			fmt.Fprintf(stderr, "mote: kernel: fault: %s\n", r.Text)
		}
	}
	if g.started != nil {
		streams.Started = g.started
	} else {
		// A SIGTERM to mote run goes to the app, as to a process run by a shell's exec.
		streams.Started = func(guest *qemu.Guest) {
			// In a goroutine: Signal waits for QEMU to connect the kernel channel, and the
			// signal watcher must stay free for a Ctrl-C meanwhile.
			c.setOnTerm(func() { go guest.Signal(syscall.SIGTERM) })
		}
		defer c.setOnTerm(nil)
	}
	if started := streams.Started; g.metricsAddr != "" {
		streams.Started = func(guest *qemu.Guest) {
			current.Store(guest)
			started(guest)
		}
	}
	res, err := qemu.Run(ctx, binary, cfg, streams)
	if err != nil {
		tracer.finish(false)
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return &StatusError{Code: exitMote, Msg: err.Error()}
	}
	tracer.drain() // the trace first, then how it ended
	crash := printCrashReport(stderr, g.image, res.Faults)
	if err := tracer.finish(res.Exited && crash == ""); err != nil {
		fmt.Fprintf(stderr, "mote: --trace: %v\n", err)
	}
	switch {
	case crash != "":
		return &StatusError{Code: exitMote, Msg: crash}
	case res.Exited && res.Status == 0:
		return nil
	case res.Exited:
		return &StatusError{Code: res.Status}
	case res.OutOfMem != "":
		return &StatusError{Code: exitMote, Msg: fmt.Sprintf("the guest ran out of memory with -m %s (kernel: %s); give it more, e.g. -m %s", g.memory, res.OutOfMem, biggerMemory(g.memory))}
	case res.QEMUCode == 1 && res.QEMUError != "":
		return &StatusError{Code: exitMote, Msg: "qemu failed: " + firstLine(res.QEMUError)}
	case res.QEMUSignal != 0:
		// Like a shell reporting a process killed by a signal: 128 + the signal.
		return &StatusError{Code: 128 + int(res.QEMUSignal), Msg: fmt.Sprintf("QEMU was killed by signal %d (%v); the app did not exit", int(res.QEMUSignal), res.QEMUSignal)}
	}
	msg := "guest crashed (no exit status)"
	if len(res.Faults) > 0 {
		msg += ": " + res.Faults[0]
	}
	if !o.verbose {
		msg += "; run with -v to see the kernel's log"
	}
	return &StatusError{Code: exitMote, Msg: msg}
}

func (c *CLI) pickAccel(o *vmOptions) (string, error) {
	switch o.accel {
	case qemu.AccelTCG:
		return qemu.AccelTCG, nil
	case qemu.AccelKVM:
		if err := qemu.KVMUsable(); err != nil && !o.dryRun {
			return "", &StatusError{Code: exitMote, Msg: fmt.Sprintf("--accel kvm: KVM is not usable (%v); use --accel tcg, or get read-write access to /dev/kvm (e.g. join the kvm group)", err)}
		}
		return qemu.AccelKVM, nil
	}
	if err := qemu.KVMUsable(); err != nil {
		if !o.dryRun {
			fmt.Fprintf(c.Err, "mote: KVM is not usable (%v); running under TCG emulation, which is slower\n", err)
		}
		return qemu.AccelTCG, nil
	}
	return qemu.AccelKVM, nil
}

func checkVMOptions(o *vmOptions) error {
	cfg := qemu.Config{Machine: o.machine, Accel: o.accel}
	if o.accel == "" {
		cfg.Accel = qemu.AccelTCG
	}
	if err := cfg.Validate(); err != nil {
		return &StatusError{Code: 2, Msg: err.Error()}
	}
	if _, err := tapOptions(o); err != nil {
		return err
	}
	if o.memory != "" {
		return checkMemory(o.memory)
	}
	return nil
}

func checkMemory(s string) error {
	n, err := image.ParseMemory(s)
	if err != nil {
		return &StatusError{Code: 2, Msg: "-m: " + err.Error()}
	}
	if n < image.MinMemory {
		return &StatusError{Code: 2, Msg: fmt.Sprintf("-m %s is below the %s a mote guest needs to boot (use -m %s or more)", s, image.FormatMemory(image.MinMemory), image.FormatMemory(image.MinMemory))}
	}
	return nil
}

func biggerMemory(s string) string {
	n, err := image.ParseMemory(s)
	if err != nil {
		return "512M"
	}
	return image.FormatMemory(max(n*2, 256<<20))
}

// imageFor returns the image to boot for opts.target: the file itself if it is one, or a fresh
// build of the package, kept in mote's cache so that --dry-run shows a path that exists. A
// package's manifest adds its ports to opts.publish.
func (c *CLI) imageFor(ctx context.Context, opts *runOptions) (string, *image.Manifest, error) {
	target := opts.target
	if st, err := os.Stat(target); err == nil && st.Mode().IsRegular() {
		m, err := image.ReadManifest(target)
		if err != nil {
			if errors.Is(err, image.ErrNotImage) {
				return "", nil, &StatusError{Code: exitMote, Msg: fmt.Sprintf("%s is not a mote image (build one with: mote build -o IMAGE PKG)", target)}
			}
			return "", nil, &StatusError{Code: exitMote, Msg: err.Error()}
		}
		if flag := opts.imageFlags.given(); flag != "" {
			return "", nil, &StatusError{Code: 2, Msg: fmt.Sprintf("%s is for building: %s is an image, built already (use it with a package, or with mote build, then run the image)", flag, target)}
		}
		return target, m, nil
	}
	b, p, tmp, err := c.load(ctx, target)
	if tmp != "" {
		defer os.RemoveAll(tmp)
	}
	if err != nil {
		return "", nil, err
	}
	ac, err := resolveConfig(p, &opts.imageFlags)
	if err != nil {
		return "", nil, err
	}
	opts.volumes = mergeVolumes(ac.volumes, opts.volumes)
	opts.publish = mergePorts(ac.ports, opts.publish)
	cache, err := c.cacheDir()
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Join(cache, "images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256([]byte(p.Dir))
	out := filepath.Join(dir, image.ImageName(p, false)+"-"+hex.EncodeToString(sum[:6])+".img")
	bo := ac.build
	bo.Package, bo.Output, bo.TmpDir = p, out, tmp
	m, err := b.Build(ctx, bo)
	if err != nil {
		if ctx.Err() != nil {
			return "", nil, interrupted(ctx)
		}
		return "", nil, err
	}
	return out, m, nil
}

// parseEnv checks -e values; a bare KEY takes the host's value, and is dropped if unset.
func parseEnv(in []string) ([]string, error) {
	var out []string
	for _, e := range in {
		k, _, ok := strings.Cut(e, "=")
		if k == "" || strings.ContainsAny(k, " \t\n") {
			return nil, &StatusError{Code: 2, Msg: fmt.Sprintf("-e %q: want KEY=VALUE (or KEY to pass the host's value)", e)}
		}
		if !ok {
			v, set := os.LookupEnv(k)
			if !set {
				continue
			}
			e = k + "=" + v
		}
		out = append(out, e)
	}
	return out, nil
}

// mergeEnv returns base with the entries of over added, replacing those with the same key.
func mergeEnv(base, over []string) []string {
	var out []string
	idx := map[string]int{}
	for _, list := range [][]string{base, over} {
		for _, e := range list {
			k, _, _ := strings.Cut(e, "=")
			if i, ok := idx[k]; ok {
				out[i] = e
				continue
			}
			idx[k] = len(out)
			out = append(out, e)
		}
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// guestConfig is the QEMU configuration that boots g: the machine, the accelerator, the memory
// and the kernel command line carrying argv, env, the host name, a tap's addresses and the
// TSC's frequency; and the tap device, if any. The network device and ports are the caller's
// to add.
func (c *CLI) guestConfig(o *vmOptions, g guestSpec) (cfg qemu.Config, tap string, err error) {
	if err := checkMemory(g.memory); err != nil {
		return cfg, "", err
	}
	if tap, err = tapOptions(o); err != nil {
		return cfg, "", err
	}
	accel, err := c.pickAccel(o)
	if err != nil {
		return cfg, "", err
	}
	params := make([]cmdline.Param, 0, len(g.argv)+len(g.env)+2)
	for _, a := range g.argv {
		params = append(params, cmdline.Param{Key: "arg", Value: a})
	}
	for _, e := range g.env {
		params = append(params, cmdline.Param{Key: "env", Value: e})
	}
	if g.cwd != "" {
		params = append(params, cmdline.Param{Key: "cwd", Value: g.cwd})
	}
	for _, w := range g.writable {
		params = append(params, cmdline.Param{Key: "rw", Value: w})
	}
	if h := hostName(g.hostname); h != "" {
		params = append(params, cmdline.Param{Key: "hostname", Value: h})
	}
	if tap != "" && o.ip == "" {
		params = append(params, cmdline.Param{Key: "ip", Value: "dhcp"})
	} else if tap != "" {
		for _, kv := range [][2]string{{"ip", o.ip}, {"gw", o.gw}, {"dns", o.dns}} {
			if kv[1] != "" {
				params = append(params, cmdline.Param{Key: kv[0], Value: kv[1]})
			}
		}
	}
	if o.tmpfsSize != "" {
		n, err := image.ParseMemory(o.tmpfsSize)
		if err != nil || n == 0 {
			return cfg, "", &StatusError{Code: 2, Msg: fmt.Sprintf("--tmpfs-size %q: want a size such as 64M", o.tmpfsSize)}
		}
		params = append(params, cmdline.Param{Key: "tmpsize", Value: strconv.FormatUint(uint64(n), 10)})
	}
	if o.trace != "" {
		params = append(params, cmdline.Param{Key: "trace", Value: "1"})
	}
	if o.summary {
		params = append(params, cmdline.Param{Key: "summary", Value: "1"})
	}
	for _, kv := range o.kernelArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return cfg, "", &StatusError{Code: 2, Msg: fmt.Sprintf("--kernel-arg %q: want KEY=VALUE", kv)}
		}
		params = append(params, cmdline.Param{Key: k, Value: v})
	}
	volParams, vols, err := volumeConfig(g.volumes)
	if err != nil {
		return cfg, "", err
	}
	params = append(params, volParams...)
	if khz, err := tsc.KHz(); err == nil {
		params = append(params, cmdline.Param{Key: "tsc_khz", Value: strconv.FormatUint(khz, 10)})
	}
	line, err := cmdline.Encode(params)
	if err != nil {
		return cfg, "", err
	}
	return qemu.Config{
		Machine: o.machine, Accel: accel, Memory: g.memory,
		Kernel: g.image, Initrd: g.initrd, Cmdline: line,
		GDB: g.gdb, Hold: g.hold, Volumes: vols,
	}, tap, nil
}

// hostName makes a host name of an image or instance name (RFC 1123: letters, digits and
// inner hyphens, at most 63 characters); "" if nothing is left.
func hostName(s string) string {
	b := make([]byte, 0, len(s))
	for _, c := range []byte(strings.ToLower(s)) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b = append(b, c)
		case len(b) > 0 && b[len(b)-1] != '-':
			b = append(b, '-')
		}
	}
	return strings.Trim(string(b[:min(len(b), 63)]), "-")
}

// tapOptions checks --net, --ip, --gw and --dns and returns the tap device, or "" for the
// user-mode network.
func tapOptions(o *vmOptions) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", &StatusError{Code: exitFailure, Msg: fmt.Sprintf(format, args...)}
	}
	tap, isTap := strings.CutPrefix(o.net, "tap:")
	switch {
	case o.net == "" || o.net == "user":
		if o.ip != "" || o.gw != "" || o.dns != "" {
			return bad("--ip, --gw and --dns configure the guest on a tap network (--net tap:IFNAME); the user-mode network assigns 10.0.2.15")
		}
		return "", nil
	case !isTap || tap == "" || strings.ContainsAny(tap, ", /"):
		return bad("--net %q: use user, or tap:IFNAME with the name of a host tap device", o.net)
	case o.ip == "" && (o.gw != "" || o.dns != ""):
		return bad("--net %s: --gw and --dns go with --ip; without --ip the guest asks a DHCP server, which gives the router and name servers", o.net)
	case o.ip == "":
		return tap, nil // DHCP
	}
	if p, err := netip.ParsePrefix(o.ip); err != nil || !p.Addr().Is4() {
		return bad("--ip %q: want an IPv4 address with its prefix length, e.g. 10.9.0.2/24", o.ip)
	}
	for _, a := range [][2]string{{"--gw", o.gw}, {"--dns", o.dns}} {
		if ip, err := netip.ParseAddr(a[1]); a[1] != "" && (err != nil || !ip.Is4()) {
			return bad("%s %q: want an IPv4 address, e.g. 10.9.0.1", a[0], a[1])
		}
	}
	return tap, nil
}

// randomMAC is a locally administered unicast address, so guests on one bridge differ.
func randomMAC() string {
	var b [6]byte
	rand.Read(b[:])
	b[0] = b[0]&^1 | 2
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}
