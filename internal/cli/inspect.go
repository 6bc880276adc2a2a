package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"mote.dev/mote/internal/instance"
)

func newInspectCommand(c *CLI) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NAME...",
		Short: "Show the full state of background instances as JSON",
		Long: `Inspect prints a JSON array with one object per instance: its recorded state as it stands
now (an instance whose QEMU or supervisor is gone shows as exited), the supervisor's and
QEMU's process ids, the boot configuration, and the paths of its directory and log.`,
		Example: `  mote inspect web
  mote inspect web | jq '.[0].exitCode'`,
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

func runInspect(c *CLI, names []string) error {
	out := []inspectEntry{}
	var errs []error
	for _, name := range names {
		in, st, err := c.lookup("inspect", name)
		if err != nil {
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
