package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/config"
)

type initOptions struct {
	dir   string
	force bool
}

func newInitCommand(c *CLI) *cobra.Command {
	var opts initOptions
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a commented mote.yaml manifest for the main package in DIR",
		Long: `Init writes DIR/mote.yaml (DIR defaults to the current directory): the manifest mote build
and mote run read beside a main package, with every field explained. Only the name is set,
after DIR; the rest are commented-out examples to fill in. It refuses to overwrite an existing
mote.yaml unless --force is given.`,
		Example: `  mote init ./cmd/server
  mote init --force`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return &StatusError{Code: 2, Msg: "mote init takes at most one directory, e.g. mote init ./cmd/server"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.dir = "."
			if len(args) == 1 {
				opts.dir = args[0]
			}
			return runInit(c, &opts)
		},
	}
	cmd.Flags().BoolVar(&opts.force, "force", false, "overwrite an existing mote.yaml")
	return cmd
}

func runInit(c *CLI, opts *initOptions) error {
	dir, err := filepath.Abs(opts.dir)
	if err != nil {
		return err
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return &StatusError{Code: exitFailure, Msg: fmt.Sprintf("%s is not a directory (give the directory of a main package)", opts.dir)}
	}
	path := filepath.Join(dir, config.FileName)
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if opts.force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return &StatusError{Code: exitFailure, Msg: fmt.Sprintf("%s exists already; edit it, or add --force to replace it", relPath(path))}
	}
	if err != nil {
		return err
	}
	_, err = f.Write(config.Template(initName(dir)))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(c.Out, relPath(path))
	return nil
}

// initName is the name mote init gives an app: its directory's, as a word the manifest takes.
func initName(dir string) string {
	if h := hostName(filepath.Base(dir)); h != "" {
		return h
	}
	return "app"
}
