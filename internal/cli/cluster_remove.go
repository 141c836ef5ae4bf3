package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (e *env) newClusterRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove <id|name>",
		Short: "Remove a member",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			id, err := c.MemberRemove(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			return e.printMemberResult(id.String(), "Member %s removed\n")
		},
	}
}

// printMemberResult prints the outcome of a one-member operation.
func (e *env) printMemberResult(id, format string) error {
	if e.json {
		return e.printJSON(map[string]string{"id": id})
	}
	_, err := fmt.Fprintf(e.stdout, format, id)
	return err
}
