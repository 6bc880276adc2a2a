package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/instance"
)

type rmOptions struct {
	force bool
}

func newRmCommand(c *CLI) *cobra.Command {
	var opts rmOptions
	cmd := &cobra.Command{
		Use:   "rm [flags] NAME...",
		Short: "Remove background instances",
		Long: `Rm removes exited instances: their state, log and image copy. A running instance is
refused unless -f is given, which kills it first. An instance whose state file is unreadable
is removed as it is.`,
		Example: `  mote rm web
  mote rm -f web
  mote rm $(mote ps -a -q)`,
		Args: minOne("rm"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRm(cmd.Context(), c, args, &opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "kill a running instance before removing it")
	return cmd
}

func runRm(ctx context.Context, c *CLI, names []string, opts *rmOptions) error {
	store, err := c.store()
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if err := c.rm(ctx, store, name, opts.force); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(c.Out, name)
	}
	return joinErrors(errs)
}

func (c *CLI) rm(ctx context.Context, store *instance.Store, name string, force bool) error {
	in, st, err := c.lookup("rm", name)
	var ce *instance.CorruptError
	switch {
	case in == nil:
		return err
	case errors.As(err, &ce):
		// Nothing can be known of it, nor stopped: remove what is there.
		return store.Remove(in)
	case err != nil:
		return err
	}
	if st.Active() {
		if !force {
			return fmt.Errorf("rm %s: the instance is %s; stop it first (mote stop %s) or remove it anyway with mote rm -f %s", name, st.Status, name, name)
		}
		if err := c.end(ctx, "rm", name, "kill", exitGrace); err != nil {
			return err
		}
	}
	return store.Remove(in)
}
