package cli

import (
	"fmt"

	"github.com/cairndb/cairn/client"
	"github.com/spf13/cobra"
)

func (e *env) newUndoCmd() *cobra.Command {
	return e.undoRedoCmd("undo", "Revert the newest change not undone yet (cluster-wide)",
		`Revert the newest change not undone yet, whoever made it: every key it
touched gets back its previous version, at a new revision. Prints the
revision undone and the number of keys restored.`)
}

func (e *env) newRedoCmd() *cobra.Command {
	return e.undoRedoCmd("redo", "Re-apply the most recently undone change",
		`Re-apply the most recently undone change. Any other change since the undo
clears what can be redone.`)
}

func (e *env) undoRedoCmd(name, short, long string) *cobra.Command {
	return &cobra.Command{
		Use:   name,
		Short: short,
		Long:  long,
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			f := c.Undo
			if name == "redo" {
				f = c.Redo
			}
			resp, err := f(cmd.Context())
			if err != nil {
				return err
			}
			if e.json {
				return e.printJSON(resp)
			}
			fmt.Fprintln(e.stdout, undoLine(name, resp))
			return nil
		},
	}
}

// undoLine is what cairn undo (redo) prints: "undone revision 12 (1 key),
// at revision 15".
func undoLine(name string, resp *client.UndoResponse) string {
	keys := "keys"
	if resp.Keys == 1 {
		keys = "key"
	}
	return fmt.Sprintf("%sne revision %d (%d %s), at revision %d", name, resp.Target, resp.Keys, keys, resp.Revision)
}
