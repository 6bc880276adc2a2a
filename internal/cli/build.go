package cli

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/image"
)

type buildOptions struct {
	imageFlags
	output  string
	pkg     string
	noAgent bool
}

func newBuildCommand(c *CLI) *cobra.Command {
	var opts buildOptions
	cmd := &cobra.Command{
		Use:   "build [-o IMAGE] [-f FILE] [--copy SRC:DEST]... PKG",
		Short: "Build a Go main package into a bootable image",
		Long: `Build compiles the main package PKG together with mote's kernel into one image file: a
static ELF that QEMU (and other PVH loaders) boot directly, with its files and a small
manifest appended.

PKG is a directory (./cmd/server), an import path in the current module, or
module/path/cmd@version, which is fetched through the Go module proxy the way go install does.
The package's files and go.mod are never modified; it must not use cgo.

The image is reproducible: building the same sources twice gives the same bytes. Without -o
it is written to NAME.img in the current directory, NAME being the manifest's name or the
package's last path element.

The manifest, mote.yaml beside the package (or -f FILE; mote init writes one), gives the
image's name, default arguments, environment, memory and working directory, files to copy,
and the ports and volumes mote run uses. Flags override it.

--copy SRC:DEST (repeatable, added to the manifest's copy entries) puts a host file or
directory into the image at the absolute guest path DEST: directories whole, with their
permission bits, symlinks kept as symlinks. A DEST ending in / takes a file under its own
name. A relative SRC is taken from the current directory (from the package directory in the
manifest). The image's files are read-only in the guest; programs write under /tmp or to a
volume. An image holds at most 4096 files and directories and 512 MiB.`,
		Example: `  mote build ./examples/hello
  mote build -o /tmp/server.img ./cmd/server
  mote build --copy ./static:/srv/www --workdir /srv ./cmd/server
  mote build -f deploy/mote.yaml ./cmd/server
  mote build golang.org/x/example/hello@latest`,
		Args: exactArgs(1, "mote build takes one package, e.g. mote build ./cmd/server"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.pkg = args[0]
			return runBuild(cmd.Context(), c, &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "", "write the image to `IMAGE`")
	cmd.Flags().BoolVar(&opts.noAgent, "no-agent", false, "leave out the in-guest agent that serves mote metrics, stats and pprof (a smaller image)")
	opts.imageFlags.bindImage(cmd)
	return cmd
}

func runBuild(ctx context.Context, c *CLI, opts *buildOptions) error {
	b, p, tmp, err := c.load(ctx, opts.pkg)
	if tmp != "" {
		defer os.RemoveAll(tmp)
	}
	if err != nil {
		return err
	}
	ac, err := resolveConfig(p, &opts.imageFlags)
	if err != nil {
		return err
	}
	name := cmp.Or(ac.build.Name, image.ImageName(p, false))
	out := opts.output
	if out == "" {
		out = name + ".img"
	}
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		out = filepath.Join(out, name+".img")
	}
	bo := ac.build
	bo.Package, bo.Output, bo.TmpDir, bo.NoAgent = p, out, tmp, opts.noAgent
	if _, err := b.Build(ctx, bo); err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return err
	}
	fmt.Fprintln(c.Out, out)
	return nil
}

// exactArgs is cobra.ExactArgs with a message that says what to do.
func exactArgs(n int, hint string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return &StatusError{Code: 2, Msg: hint}
		}
		return nil
	}
}
