package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/image"
	"mote.dev/mote/internal/instance"
)

func newInspectCommand(c *CLI) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NAME|IMAGE...",
		Short: "Show the full state of background instances, or what an image holds, as JSON",
		Long: `Inspect prints a JSON array with one object per instance: its recorded state as it stands
now (an instance whose QEMU or supervisor is gone shows as exited), the supervisor's and
QEMU's process ids, the boot configuration, and the paths of its directory and log.

Given an image file (when no instance has that name), it prints the image's path, size and
manifest: name, default arguments, environment, memory, working directory, and its files
(how many, their bytes, the archive's size and checksum).`,
		Example: `  mote inspect web
  mote inspect web | jq '.[0].exitCode'
  mote inspect server.img | jq '.[0].manifest.files'`,
		Args: minOne("inspect"),
		RunE: func(cmd *cobra.Command, args []string) error { return runInspect(c, args) },
	}
}

// inspectEntry is the state with what inspect adds.
type inspectEntry struct {
	*instance.State
	Dir      string `json:"dir"`
	Log      string `json:"log"`
	RSSBytes int64  `json:"rssBytes"`
}

// inspectImage is what inspect shows of an image file.
type inspectImage struct {
	Image    string          `json:"image"`
	Size     int64           `json:"size"`
	Manifest *image.Manifest `json:"manifest"`
}

func runInspect(c *CLI, names []string) error {
	out := []any{}
	var errs []error
	for _, name := range names {
		in, st, err := c.lookup("inspect", name)
		if err != nil {
			if fi, serr := os.Stat(name); serr == nil && fi.Mode().IsRegular() {
				m, merr := image.ReadManifest(name)
				if merr != nil {
					errs = append(errs, fmt.Errorf("%s: %w (and no instance has that name)", name, merr))
					continue
				}
				out = append(out, inspectImage{Image: name, Size: fi.Size(), Manifest: m})
				continue
			}
			errs = append(errs, err)
			continue
		}
		e := inspectEntry{State: st, Dir: in.Dir, Log: in.Path(instance.LogFile)}
		if st.Status == instance.Running {
			e.RSSBytes, _ = st.VMM.RSS()
		}
		out = append(out, e)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Out, "%s\n", b)
	return joinErrors(errs)
}
