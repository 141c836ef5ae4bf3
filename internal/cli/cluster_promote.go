package cli

import "github.com/spf13/cobra"

func (e *env) newClusterPromoteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "promote <id|name>",
		Short: "Promote a learner to voter",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			id, err := c.MemberPromote(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			return e.printMemberResult(id.String(), "Member %s promoted\n")
		},
	}
}
