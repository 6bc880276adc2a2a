package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/cmdline"
	"mote.dev/mote/internal/instance"
	"mote.dev/mote/internal/qemu"
	"mote.dev/mote/internal/volume"
)

// Volumes: mote run -v, and the named volumes of mote volume create|ls|inspect|rm, which live
// in the state directory beside the instances (instance.VolumesDir).

func newVolumeCommand(c *CLI) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume COMMAND",
		Short: "Manage named volumes, directories that outlive the guests using them",
		Long: `A named volume is a directory that mote keeps in its state directory for guests to mount
with mote run -v NAME:GUESTDIR. Its files are plain host files (mote volume inspect shows
where): host tools read, back up and check them.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newVolumeCreateCommand(c), newVolumeLsCommand(c), newVolumeInspectCommand(c), newVolumeRmCommand(c))
	return cmd
}

func newVolumeCreateCommand(c *CLI) *cobra.Command {
	return &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a named volume",
		Example: "  mote volume create pgdata\n  mote run -v pgdata:/data ./cmd/db",
		Args:    exactArgs(1, "mote volume create takes one name, e.g. mote volume create pgdata"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := c.volumeStore()
			if err != nil {
				return err
			}
			v, err := s.Create(args[0])
			if err != nil {
				return &StatusError{Code: exitFailure, Msg: "volume create: " + err.Error()}
			}
			fmt.Fprintln(c.Out, v.Name)
			return nil
		},
	}
}

func newVolumeLsCommand(c *CLI) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "ls [flags]",
		Short: "List named volumes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := c.volumeStore()
			if err != nil {
				return err
			}
			names, err := s.Names()
			if err != nil {
				return err
			}
			if quiet {
				for _, n := range names {
					fmt.Fprintln(c.Out, n)
				}
				return nil
			}
			users, err := c.volumeUsers()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(c.Out, 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tCREATED\tUSED BY\tDATA")
			for _, n := range names {
				v, err := s.Get(n)
				if err != nil {
					fmt.Fprintf(w, "%s\t-\t-\tdamaged: mote volume inspect %s\n", n, n)
					continue
				}
				used := strings.Join(users[n], ",")
				if used == "" {
					used = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", n, v.Created.Local().Format(time.DateTime), used, v.Data)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the names")
	return cmd
}

// volumeInspect is what mote volume inspect prints of a volume.
type volumeInspect struct {
	*volume.Volume
	SizeBytes int64    `json:"sizeBytes"`
	UsedBy    []string `json:"usedBy"`
}

func newVolumeInspectCommand(c *CLI) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NAME...",
		Short: "Show named volumes as JSON: where their data is, its size, and the instances using them",
		Args:  minOne("volume inspect"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := c.volumeStore()
			if err != nil {
				return err
			}
			users, err := c.volumeUsers()
			if err != nil {
				return err
			}
			out := []volumeInspect{}
			var errs []error
			for _, n := range args {
				v, err := s.Get(n)
				if err != nil {
					errs = append(errs, fmt.Errorf("volume inspect: %w", err))
					continue
				}
				out = append(out, volumeInspect{Volume: v, SizeBytes: v.Size(), UsedBy: append([]string{}, users[n]...)})
			}
			b, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintf(c.Out, "%s\n", b)
			return joinErrors(errs)
		},
	}
}

func newVolumeRmCommand(c *CLI) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME...",
		Short: "Remove named volumes and their data",
		Long: `Rm deletes named volumes with their files. A volume that an instance uses (running, or
with a restart pending) is refused: stop the instance first (mote stop NAME).`,
		Args: minOne("volume rm"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := c.volumeStore()
			if err != nil {
				return err
			}
			users, err := c.volumeUsers()
			if err != nil {
				return err
			}
			var errs []error
			for _, n := range args {
				if u := users[n]; len(u) > 0 {
					errs = append(errs, fmt.Errorf("volume rm %s: in use by %s; stop it first (mote stop %s)", n, strings.Join(u, ", "), u[0]))
					continue
				}
				if err := s.Remove(n); err != nil {
					errs = append(errs, fmt.Errorf("volume rm: %w", err))
					continue
				}
				fmt.Fprintln(c.Out, n)
			}
			return joinErrors(errs)
		},
	}
}

func (c *CLI) volumeStore() (*volume.Store, error) {
	s, err := c.store()
	if err != nil {
		return nil, err
	}
	return volume.Open(filepath.Join(s.Root, instance.VolumesDir))
}

// volumeUsers maps each named volume to the active instances (running, or between restarts)
// that mount it.
func (c *CLI) volumeUsers() (map[string][]string, error) {
	s, err := c.store()
	if err != nil {
		return nil, err
	}
	ins, err := s.List()
	if err != nil {
		return nil, err
	}
	users := map[string][]string{}
	for _, in := range ins {
		st, err := in.Load()
		if err != nil {
			continue
		}
		if !instance.Live(st, time.Now()).Active() {
			continue
		}
		var cfg bootConfig
		if json.Unmarshal(st.Config, &cfg) != nil {
			continue
		}
		for _, m := range cfg.Volumes {
			if m.Named {
				users[m.Source] = append(users[m.Source], in.Name)
			}
		}
	}
	return users, nil
}

// resolveVolumes checks -v strings and finds their host directories, before anything boots.
func (c *CLI) resolveVolumes(specs []string) ([]volume.Mount, error) {
	sp, err := volume.ParseAll(specs)
	if err != nil {
		return nil, &StatusError{Code: 2, Msg: err.Error()}
	}
	var store *volume.Store
	for _, s := range sp {
		if s.Named {
			if store, err = c.volumeStore(); err != nil {
				return nil, err
			}
			break
		}
	}
	mounts, err := volume.Resolve(sp, store)
	if err != nil {
		return nil, &StatusError{Code: exitFailure, Msg: err.Error()}
	}
	return mounts, nil
}

// volumeConfig is the kernel parameters (vol=TAG:GUESTDIR[:ro]) and QEMU devices of mounts. A
// host directory that has gone since the guest was configured (a restart) is an error.
func volumeConfig(mounts []volume.Mount) ([]cmdline.Param, []qemu.Volume, error) {
	var params []cmdline.Param
	var vols []qemu.Volume
	for i, m := range mounts {
		if st, err := os.Stat(m.Host); err != nil || !st.IsDir() {
			what := "host directory " + m.Host
			if m.Named {
				what = "volume " + m.Source + " (" + m.Host + ")"
			}
			return nil, nil, &StatusError{Code: exitFailure, Msg: fmt.Sprintf("-v %s:%s: %s is gone; nothing was booted", m.Source, m.Guest, what)}
		}
		v := qemu.VolumeTag(i) + ":" + m.Guest
		if m.ReadOnly {
			v += ":ro"
		}
		params = append(params, cmdline.Param{Key: "vol", Value: v})
		vols = append(vols, qemu.Volume{Host: m.Host, ReadOnly: m.ReadOnly})
	}
	return params, vols, nil
}
