package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/cmdline"
	"mote.dev/mote/internal/image"
	"mote.dev/mote/internal/qemu"
	"mote.dev/mote/internal/symbolize"
	"mote.dev/mote/internal/tsc"
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
	trace   bool
	publish []string
}

func (o *vmOptions) bind(cmd *cobra.Command, defaultMem string) {
	f := cmd.Flags()
	f.StringVarP(&o.memory, "memory", "m", "", "guest memory `SIZE`, e.g. 256M or 1G (at least 8M; default "+defaultMem+")")
	f.StringVar(&o.machine, "machine", qemu.MachineMicroVM, "QEMU machine: microvm or q35")
	f.StringVar(&o.accel, "accel", "", "accelerator: kvm or tcg (default: kvm when /dev/kvm is usable)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the QEMU command line instead of running it")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "show the kernel's log records on stderr")
	f.BoolVar(&o.trace, "trace", false, "log every system call the program makes on stderr (implies -v)")
	f.StringArrayVarP(&o.publish, "publish", "p", nil, "publish a guest port on the host: `[HOSTIP:]HOSTPORT:GUESTPORT[/udp]` (repeatable; gives the guest a network device on QEMU's user network)")
}

type runOptions struct {
	vmOptions
	env    []string
	target string
	args   []string
	hasArg bool // arguments were given after --
}

func newRunCommand(c *CLI) *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] PKG|IMAGE [-- ARGS...]",
		Short: "Build (if needed) and boot a program under QEMU",
		Long: `Run boots a program as a unikernel under QEMU and waits for it, like running it as a process:
its stdout and stderr stream to the terminal, stdin is passed to it, and mote run exits with the
program's exit status. Ctrl-C stops the guest (exit status 130).

The first argument is a package (as for mote build, which run does first) or an image file made
by mote build. ARGS after -- become the program's arguments (os.Args[1:]); without them the
image's default arguments apply.

QEMU runs the microvm machine by default (--machine q35 for a PC with PCI), with KVM when
/dev/kvm is usable and TCG emulation otherwise. Exit status 125 means mote could not run the
guest or its kernel crashed before the program exited.`,
		Example: `  mote run ./examples/hello -- world
  mote run -e GREETING=hi -m 256M ./examples/hello -- world
  mote run --machine q35 --accel tcg hello.img
  mote run --dry-run ./examples/hello`,
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
			return runRun(cmd.Context(), c, &opts)
		},
	}
	opts.bind(cmd, defaultMemory)
	cmd.Flags().StringArrayVarP(&opts.env, "env", "e", nil, "set environment variable `KEY=VALUE` in the guest (KEY alone passes the host's value)")
	return cmd
}

func runRun(ctx context.Context, c *CLI, opts *runOptions) error {
	if err := checkVMOptions(&opts.vmOptions); err != nil {
		return err
	}
	env, err := parseEnv(opts.env)
	if err != nil {
		return err
	}
	binary := c.QEMU
	if !opts.dryRun {
		if binary, err = qemu.Find(c.QEMU); err != nil {
			return &StatusError{Code: exitMote, Msg: err.Error()}
		}
	} else if binary == "" {
		binary = qemu.Binary
	}

	imgPath, m, err := c.imageFor(ctx, opts.target)
	if err != nil {
		return err
	}
	args := m.Args
	if opts.hasArg {
		args = opts.args
	}
	guest := guestSpec{
		image:  imgPath,
		argv:   append([]string{m.Name}, args...),
		env:    mergeEnv(m.Env, env),
		memory: firstNonEmpty(opts.memory, m.Memory, defaultMemory),
		// An app with sockets gets a network device on microvm; q35's virtio-pci is not
		// driven yet, so there it gets one only if it publishes ports (and fails clearly).
		network: m.Network && opts.machine == qemu.MachineMicroVM,
	}
	return c.boot(ctx, binary, &opts.vmOptions, guest)
}

// guestSpec is one guest to boot.
type guestSpec struct {
	image   string
	initrd  string
	argv    []string
	env     []string
	cwd     string
	memory  string
	network bool
	// stdout, if set, replaces c.Out for the guest's stdout.
	stdout io.Writer
}

// boot runs the guest and maps what happened to mote's exit.
func (c *CLI) boot(ctx context.Context, binary string, o *vmOptions, g guestSpec) error {
	cfg, err := c.guestConfig(o, g)
	if err != nil {
		return err
	}
	for _, s := range o.publish {
		p, err := qemu.ParsePublish(s)
		if err != nil {
			return &StatusError{Code: exitFailure, Msg: err.Error()}
		}
		if !o.dryRun {
			if err := p.CheckFree(); err != nil {
				return &StatusError{Code: exitMote, Msg: err.Error()}
			}
		}
		cfg.Publish = append(cfg.Publish, p)
	}
	cfg.Network = g.network || len(cfg.Publish) > 0
	if err := cfg.Validate(); err != nil {
		return &StatusError{Code: exitFailure, Msg: err.Error()}
	}
	if o.dryRun {
		cfg.RunDir = filepath.Join(os.TempDir(), "mote-run-XXXXXX")
		fmt.Fprintln(c.Out, qemu.ShellQuote(append([]string{binary}, cfg.Args()...)))
		return nil
	}
	runDir, err := qemu.TempRunDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(runDir)
	cfg.RunDir = runDir

	stdout := c.Out
	if g.stdout != nil {
		stdout = g.stdout
	}
	streams := qemu.Streams{Stdin: c.In, Stdout: stdout, Stderr: c.Err}
	if o.verbose {
		streams.Record = func(r qemu.Record) {
			switch r.Kind {
			case "log":
				fmt.Fprintf(c.Err, "mote: kernel: %s\n", r.Text)
			case "fault":
				fmt.Fprintf(c.Err, "mote: kernel: fault: %s\n", r.Text)
			}
		}
	}
	res, err := qemu.Run(ctx, binary, cfg, streams)
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return &StatusError{Code: exitMote, Msg: err.Error()}
	}
	c.printBacktrace(g.image, res.Faults)
	switch {
	case res.Exited && res.Status == 0:
		return nil
	case res.Exited:
		return &StatusError{Code: res.Status}
	case res.OutOfMem != "":
		return &StatusError{Code: exitMote, Msg: fmt.Sprintf("the guest ran out of memory with -m %s (kernel: %s); give it more, e.g. -m %s", g.memory, res.OutOfMem, biggerMemory(g.memory))}
	case res.QEMUCode == 1 && res.QEMUError != "":
		return &StatusError{Code: exitMote, Msg: "qemu failed: " + firstLine(res.QEMUError)}
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

// imageFor returns the image to boot for target: the file itself if it is one, or a fresh build
// of the package, kept in mote's cache so that --dry-run shows a path that exists.
func (c *CLI) imageFor(ctx context.Context, target string) (string, *image.Manifest, error) {
	if st, err := os.Stat(target); err == nil && st.Mode().IsRegular() {
		m, err := image.ReadManifest(target)
		if err != nil {
			if errors.Is(err, image.ErrNotImage) {
				return "", nil, &StatusError{Code: exitMote, Msg: fmt.Sprintf("%s is not a mote image (build one with: mote build -o IMAGE PKG)", target)}
			}
			return "", nil, &StatusError{Code: exitMote, Msg: err.Error()}
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
	m, err := b.Build(ctx, image.BuildOptions{Package: p, Output: out, TmpDir: tmp})
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
// and the kernel command line carrying argv, env and the TSC's frequency. Ports and the network
// device are the caller's to add.
func (c *CLI) guestConfig(o *vmOptions, g guestSpec) (qemu.Config, error) {
	if err := checkMemory(g.memory); err != nil {
		return qemu.Config{}, err
	}
	accel, err := c.pickAccel(o)
	if err != nil {
		return qemu.Config{}, err
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
	if o.trace {
		params = append(params, cmdline.Param{Key: "trace", Value: "1"})
		o.verbose = true
	}
	if khz, err := tsc.KHz(); err == nil {
		params = append(params, cmdline.Param{Key: "tsc_khz", Value: strconv.FormatUint(khz, 10)})
	}
	line, err := cmdline.Encode(params)
	if err != nil {
		return qemu.Config{}, err
	}
	return qemu.Config{
		Machine: o.machine, Accel: accel, Memory: g.memory,
		Kernel: g.image, Initrd: g.initrd, Cmdline: line,
	}, nil
}

// printBacktrace symbolizes the program counters of a crash report (the
// kernel's "fault pc" records) with the image's own line table.
func (c *CLI) printBacktrace(image string, faults []string) {
	var pcs []uint64
	for _, f := range faults {
		if pc, ok := symbolize.Frame(f); ok {
			pcs = append(pcs, pc)
		}
	}
	if len(pcs) == 0 {
		return
	}
	tab, err := symbolize.Open(image)
	if err != nil {
		fmt.Fprintf(c.Err, "mote: cannot symbolize the backtrace: %v\n", err)
		return
	}
	fmt.Fprintln(c.Err, "mote: backtrace:")
	for _, pc := range pcs {
		fmt.Fprintf(c.Err, "\t%#x %s\n", pc, tab.Describe(pc))
	}
}
