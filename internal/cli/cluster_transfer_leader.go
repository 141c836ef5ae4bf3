package cli

import "github.com/spf13/cobra"

func (e *env) newClusterTransferLeaderCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "transfer-leader <id|name>",
		Short: "Transfer leadership to a member",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			id, err := c.MoveLeader(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			return e.printMemberResult(id.String(), "Leadership transferred to %s\n")
		},
	}
}
