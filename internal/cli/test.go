package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/image"
	"mote.dev/mote/internal/qemu"
)

// defaultTestMemory is larger than run's default: test binaries (std's above all) allocate more.
const defaultTestMemory = "512M"

type testOptions struct {
	vmOptions
	pkg   string
	flags []string
}

func newTestCommand(c *CLI) *cobra.Command {
	var opts testOptions
	cmd := &cobra.Command{
		Use:   "test [flags] [PKG] [-- GO TEST FLAGS...]",
		Short: "Run a package's tests inside a mote guest",
		Long: `Test builds the test binary of PKG (as go test -c does, linked with mote's kernel), boots it
under QEMU with the package directory as its working directory, streams its output and ends
with go test's summary line: "ok  <TAB>PKG<TAB>TIME" or "FAIL<TAB>PKG<TAB>TIME".

PKG is a directory, an import path in the current module, or a standard-library package such
as sort (default: the current directory). The package's files and its testdata/ directory are
handed to the guest. Flags after -- are go test's: -v, -run, -count, -short, -timeout, ...

Exit status: 0 when the tests pass, 1 when they fail, 125 when mote could not run them.`,
		Example: `  mote test ./internal/parser
  mote test sort -- -run TestSortLarge -v
  mote test -m 1G strings -- -short`,
		Args: func(cmd *cobra.Command, args []string) error {
			n := cmd.ArgsLenAtDash()
			if n < 0 {
				n = len(args)
			}
			if n > 1 {
				return &StatusError{Code: 2, Msg: "mote test takes at most one package; put go test flags after --, e.g. mote test ./pkg -- -run TestX"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.pkg = "."
			n := cmd.ArgsLenAtDash()
			if n < 0 {
				n = len(args)
			}
			if n == 1 {
				opts.pkg = args[0]
			}
			opts.flags = args[n:]
			return runTest(cmd.Context(), c, &opts)
		},
	}
	opts.bind(cmd, defaultTestMemory, "v")
	return cmd
}

func runTest(ctx context.Context, c *CLI, opts *testOptions) error {
	if err := checkVMOptions(&opts.vmOptions); err != nil {
		return err
	}
	binary := c.QEMU
	var err error
	if !opts.dryRun {
		if binary, err = qemu.Find(c.QEMU); err != nil {
			return &StatusError{Code: exitMote, Msg: err.Error()}
		}
	} else if binary == "" {
		binary = qemu.Binary
	}
	b, p, tmp, err := c.load(ctx, opts.pkg)
	if tmp != "" {
		defer os.RemoveAll(tmp)
	}
	if err != nil {
		return err
	}
	if !p.HasTests() {
		fmt.Fprintf(c.Out, "?   \t%s\t[no test files]\n", p.ImportPath)
		return nil
	}
	img := filepath.Join(tmp, "test.img")
	keep := "" // with --dry-run, the image and files stay in the cache: the command refers to them
	if opts.dryRun {
		cache, err := c.cacheDir()
		if err != nil {
			return err
		}
		keep = filepath.Join(cache, "images")
		if err := os.MkdirAll(keep, 0o755); err != nil {
			return err
		}
		img = filepath.Join(keep, image.ImageName(p, true)+".img")
	}
	m, err := b.Build(ctx, image.BuildOptions{Package: p, Output: img, Test: true, TmpDir: tmp})
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return err
	}
	files, ok, err := image.PackTestDir(p.Dir, testExtras(p)...)
	if err != nil {
		return fmt.Errorf("packing %s: %w", p.Dir, err)
	}
	initrd := ""
	if ok {
		initrd = filepath.Join(tmp, "files.tar")
		if keep != "" {
			initrd = filepath.Join(keep, image.ImageName(p, true)+".tar")
		}
		if err := os.WriteFile(initrd, files, 0o644); err != nil {
			return err
		}
	}
	g := guestSpec{
		image:  img,
		initrd: initrd,
		argv:   append([]string{m.Name}, TestBinaryArgs(opts.flags)...),
		cwd:    p.Dir,
		// Tests may write in their package directory, as go test lets them.
		writable: []string{p.Dir},
		memory:   firstNonEmpty(opts.memory, defaultTestMemory),
	}
	start := time.Now()
	err = c.boot(ctx, binary, &opts.vmOptions, g)
	if opts.dryRun {
		return err
	}
	elapsed := time.Since(start).Seconds()
	var se *StatusError
	switch {
	case err == nil:
		fmt.Fprintf(c.Out, "ok  \t%s\t%.3fs\n", p.ImportPath, elapsed)
		return nil
	case errors.As(err, &se) && se.Code >= 128 && se.Msg == "":
		return err // interrupted
	case errors.As(err, &se) && se.Msg != "":
		fmt.Fprintf(c.Err, "mote: %s\n", se.Msg)
	}
	fmt.Fprintf(c.Out, "FAIL\t%s\t%.3fs\n", p.ImportPath, elapsed)
	return &StatusError{Code: exitFailure}
}

// testFlags are go test's flags that the test binary takes with a "test." prefix.
var testFlags = []string{
	"artifacts", "bench", "benchmem", "benchtime", "blockprofile", "blockprofilerate", "count",
	"coverprofile", "cpu", "cpuprofile", "failfast", "fullpath", "fuzz", "fuzzcachedir",
	"fuzzminimizetime", "fuzztime", "list", "memprofile", "memprofilerate", "mutexprofile",
	"mutexprofilefraction", "outputdir", "parallel", "paniconexit0", "run", "short", "shuffle",
	"skip", "timeout", "trace", "v",
}

// boolTestFlags are the testFlags that take no separate value.
var boolTestFlags = []string{"benchmem", "failfast", "fullpath", "paniconexit0", "short", "v"}

// TestBinaryArgs turns go test flags into the test binary's (-v becomes -test.v) and adds what go
// test adds: -test.paniconexit0 and its default 10-minute -test.timeout.
func TestBinaryArgs(flags []string) []string {
	out := []string{"-test.paniconexit0"}
	timeout := false
	for i := 0; i < len(flags); i++ {
		f := flags[i]
		if f == "--" || !strings.HasPrefix(f, "-") {
			out = append(out, flags[i:]...)
			break
		}
		dashes := "-"
		name := strings.TrimPrefix(f, "-")
		if strings.HasPrefix(name, "-") {
			dashes, name = "--", name[1:]
		}
		key, _, hasValue := strings.Cut(name, "=")
		key = strings.TrimPrefix(key, "test.")
		if !slices.Contains(testFlags, key) {
			out = append(out, f) // the test's own flag, passed as it is
			continue
		}
		timeout = timeout || key == "timeout"
		out = append(out, dashes+"test."+strings.TrimPrefix(name, "test."))
		if !hasValue && !slices.Contains(boolTestFlags, key) && i+1 < len(flags) {
			i++
			out = append(out, flags[i])
		}
	}
	if !timeout {
		out = slices.Insert(out, 1, "-test.timeout=10m0s")
	}
	return out
}

// testExtras lists host files a package's tests read from outside its directory: the standard
// library's time tests load $GOROOT/lib/time/zoneinfo.zip by a path relative to the package, and
// net's sendfile tests $GOROOT/src/testdata (one text of 554 KiB).
func testExtras(p *image.Package) []string {
	if !p.Standard {
		return nil
	}
	goroot := strings.TrimSuffix(filepath.ToSlash(p.Dir), "/src/"+p.ImportPath)
	if goroot == filepath.ToSlash(p.Dir) {
		return nil
	}
	root := filepath.FromSlash(goroot)
	extras := []string{filepath.Join(root, "lib", "time", "zoneinfo.zip")}
	shared, _ := filepath.Glob(filepath.Join(root, "src", "testdata", "*"))
	return append(extras, shared...)
}
