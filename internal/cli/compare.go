package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"mote.dev/mote/internal/compare"
	"mote.dev/mote/internal/image"
	"mote.dev/mote/internal/linuxvm"
	"mote.dev/mote/internal/qemu"
)

// defaultAppPort is the port compare loads when the app uses the network and -p is not given.
const defaultAppPort = 8080

var allWays = []string{"process", "container", "linuxvm", "mote"}

type compareOptions struct {
	port         int
	duration     time.Duration
	concurrency  []int
	rate         float64
	jsonFile     string
	htmlFile     string
	minMemory    bool
	readyTimeout time.Duration
	boots        int
	ways         []string
	memory       string
	machine      string
	accel        string

	pkg  string
	args []string
}

func newCompareCommand(c *CLI) *cobra.Command {
	var opts compareOptions
	cmd := &cobra.Command{
		Use:   "compare [flags] PKG [-- ARGS...]",
		Short: "Measure an app as a process, a container, a Linux VM and a unikernel",
		Long: `Compare builds PKG once as a static binary and once as a mote image, and runs it four ways on
this machine, one at a time:

  process    the static binary as a host process
  container  the binary alone in an OCI bundle, run by runc in its own network namespace
             (needs root and runc), its port published on 127.0.0.1
  linuxvm    the binary as the only process of a minimal Linux guest: Debian's cloud kernel
             (fetched with apt-get download) and a generated initramfs, on the same QEMU
             machine, accelerator, vCPU and memory as mote
  mote       the mote image under QEMU

For each it measures the artifact's size, the time from start to ready (the first HTTP
response on the app's port, or its first line of output if it has no port; with --boots, the
median of several starts), the host-side
memory (RSS of the process or of QEMU), and, for an app with a port, requests per second and
p50/p99/p99.9 latency at each --concurrency from a built-in load generator (keep-alive
connections, closed loop; --rate adds a fixed-rate open-loop run). --min-memory also finds the
smallest memory each serves in: QEMU's -m for the VMs, a cgroup memory limit for the
process and the container (root only).

The port defaults to 8080 for an app that uses the network; -p 0 measures an app without one.
A way whose prerequisites are missing is reported as skipped with the command that installs
them; the others still run. The table goes to stdout, progress to stderr.`,
		Example: `  mote compare ./examples/http
  mote compare -p 9090 --duration 30s --concurrency 1,16,256 ./cmd/server -- -addr :9090
  mote compare --boots 5 --rate 500 --min-memory --html report.html --json report.json ./examples/http
  mote compare --ways process,mote ./examples/hello`,
		Args: func(cmd *cobra.Command, args []string) error {
			n := cmd.ArgsLenAtDash()
			if n < 0 {
				n = len(args)
			}
			if n != 1 {
				return &StatusError{Code: 2, Msg: "mote compare takes one package; put the program's arguments after --, e.g. mote compare ./cmd/server -- -addr :8080"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.pkg, opts.args = args[0], args[1:]
			if !cmd.Flags().Changed("port") {
				opts.port = -1
			}
			return runCompare(cmd.Context(), c, &opts, commandLine(cmd, args))
		},
	}
	f := cmd.Flags()
	f.IntVarP(&opts.port, "port", "p", defaultAppPort, "the app's TCP `GUESTPORT` to load (0: the app has none; default 8080 if it uses the network)")
	f.DurationVar(&opts.duration, "duration", 10*time.Second, "length of each load run")
	f.IntSliceVar(&opts.concurrency, "concurrency", []int{8, 64}, "connections for the closed-loop runs, one run per `N,...`")
	f.Float64Var(&opts.rate, "rate", 0, "also run an open loop at this many requests per second (as many in flight as the largest --concurrency)")
	f.StringVar(&opts.jsonFile, "json", "", "write the results as JSON to `FILE`")
	f.StringVar(&opts.htmlFile, "html", "", "write a self-contained HTML report with charts to `FILE`")
	f.BoolVar(&opts.minMemory, "min-memory", false, "find the smallest memory each way serves in (bisection; slow under TCG)")
	f.DurationVar(&opts.readyTimeout, "ready-timeout", 2*time.Minute, "how long a way may take to become ready")
	f.IntVar(&opts.boots, "boots", 1, "start each way `N` times and report the median time to ready (the last one is loaded)")
	f.StringSliceVar(&opts.ways, "ways", allWays, "ways to run, in order: `WAY,...` of "+strings.Join(allWays, ", "))
	f.StringVarP(&opts.memory, "memory", "m", defaultMemory, "memory of each VM, `SIZE` as for mote run")
	f.StringVar(&opts.machine, "machine", qemu.MachineMicroVM, "QEMU machine of both VMs (the mote row's network needs microvm)")
	f.StringVar(&opts.accel, "accel", "", "accelerator of both VMs: kvm or tcg (default: kvm when /dev/kvm is usable)")
	return cmd
}

// commandLine renders the command as given, for the report.
func commandLine(cmd *cobra.Command, args []string) string {
	parts := strings.Fields(cmd.CommandPath())
	cmd.Flags().Visit(func(f *pflag.Flag) {
		v := f.Value.String()
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			v = strings.Join(sv.GetSlice(), ",")
		}
		if f.Value.Type() == "bool" && v == "true" {
			parts = append(parts, "--"+f.Name)
			return
		}
		parts = append(parts, "--"+f.Name+"="+v)
	})
	parts = append(parts, args[0])
	if cmd.ArgsLenAtDash() >= 0 {
		parts = append(append(parts, "--"), args[1:]...)
	}
	return qemu.ShellQuote(parts)
}

func runCompare(ctx context.Context, c *CLI, opts *compareOptions, command string) error {
	if opts.duration <= 0 {
		return &StatusError{Code: 2, Msg: "--duration must be more than 0, e.g. --duration 10s"}
	}
	if len(opts.concurrency) == 0 || slices.Min(opts.concurrency) < 1 {
		return &StatusError{Code: 2, Msg: "--concurrency wants numbers of at least 1, e.g. --concurrency 8,64"}
	}
	if opts.boots < 1 {
		return &StatusError{Code: 2, Msg: "--boots must be at least 1"}
	}
	if opts.rate < 0 || opts.port > 65535 || opts.port < -1 {
		return &StatusError{Code: 2, Msg: "--rate must be 0 or more, -p a port (1-65535) or 0"}
	}
	for _, w := range opts.ways {
		if !slices.Contains(allWays, w) {
			return &StatusError{Code: 2, Msg: fmt.Sprintf("--ways: unknown way %q (use %s)", w, strings.Join(allWays, ", "))}
		}
	}
	vmo := vmOptions{memory: opts.memory, machine: opts.machine, accel: opts.accel}
	if err := checkVMOptions(&vmo); err != nil {
		return err
	}
	memBytes, _ := image.ParseMemory(opts.memory)
	accel, err := c.pickAccel(&vmo)
	if err != nil {
		return err
	}
	vmo.accel = accel // decided once: no repeated notes on every boot

	// Build the app twice: as the static binary the first three ways run, and as the image.
	b, p, tmp, err := c.load(ctx, opts.pkg)
	if tmp != "" {
		defer os.RemoveAll(tmp)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Err, "mote: building %s\n", p.ImportPath)
	img := filepath.Join(tmp, image.ImageName(p, false)+".img")
	m, err := b.Build(ctx, image.BuildOptions{Package: p, Output: img, TmpDir: tmp})
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return err
	}
	bin := filepath.Join(tmp, image.ImageName(p, false))
	if err := b.BuildBinary(ctx, p, bin, tmp); err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return err
	}
	port := opts.port
	if port < 0 {
		port = 0
		if m.Network {
			port = defaultAppPort
		}
	}

	args := opts.args
	if len(args) == 0 {
		args = m.Args
	}
	var ways []compare.Way
	for _, w := range opts.ways {
		switch w {
		case "process":
			ways = append(ways, &compare.Process{Binary: bin, Args: args, Port: port})
		case "container":
			ways = append(ways, &compare.Container{Binary: bin, Args: args, Port: port})
		case "linuxvm":
			ways = append(ways, &compare.LinuxVM{Binary: bin, Args: args, Port: port,
				Machine: linuxvm.Machine{QEMU: c.QEMU, Type: opts.machine, Accel: accel, MemoryMiB: int(memBytes >> 20)},
				Kernel:  linuxvm.KernelOptions{Log: c.Err}})
		case "mote":
			ways = append(ways, &compare.Mote{Image: img, QEMU: c.QEMU, Port: port, Network: m.Network,
				Config: func(mib int) (qemu.Config, error) {
					mem := opts.memory
					if mib > 0 {
						mem = fmt.Sprintf("%dM", mib)
					}
					o := vmo
					cfg, _, err := c.guestConfig(&o, guestSpec{image: img, argv: append([]string{m.Name}, args...), env: m.Env, memory: mem})
					return cfg, err
				}})
		}
	}
	co := compare.Options{Port: port, Concurrency: opts.concurrency, Duration: opts.duration, Rate: opts.rate,
		ReadyTimeout: opts.readyTimeout, Boots: opts.boots, MinMemory: opts.minMemory, Log: progress{c}}
	rows := compare.Run(ctx, ways, co)
	if ctx.Err() != nil {
		return interrupted(ctx)
	}
	setup := fmt.Sprintf("VMs: %s -M %s -accel %s, 1 vCPU, -m %s", qemuVersion(c.QEMU), opts.machine, accel, opts.memory)
	rep := compare.NewReport(rows, co, command, setup)
	if err := rep.WriteTable(c.Out); err != nil {
		return err
	}
	for _, out := range []struct {
		file  string
		write func(*os.File) error
	}{
		{opts.jsonFile, func(f *os.File) error { return rep.WriteJSON(f) }},
		{opts.htmlFile, func(f *os.File) error { return rep.WriteHTML(f) }},
	} {
		if out.file == "" {
			continue
		}
		f, err := os.Create(out.file)
		if err != nil {
			return err
		}
		err = out.write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	var failed []string
	for _, r := range rows {
		if r.Error != "" {
			failed = append(failed, r.Name)
		}
	}
	if len(failed) > 0 {
		return &StatusError{Code: exitFailure, Msg: fmt.Sprintf("%s failed (see the notes under the table)", strings.Join(failed, ", "))}
	}
	return nil
}

// progress prefixes compare's progress lines for stderr.
type progress struct{ c *CLI }

func (p progress) Write(b []byte) (int, error) {
	fmt.Fprintf(p.c.Err, "mote: %s", b)
	return len(b), nil
}

func qemuVersion(binary string) string {
	if binary == "" {
		binary = qemu.Binary
	}
	out, err := exec.Command(binary, "--version").Output()
	if err != nil {
		return binary
	}
	line, _, _ := strings.Cut(string(out), "\n")
	line = strings.TrimPrefix(line, "QEMU emulator version ")
	return "QEMU " + line
}
