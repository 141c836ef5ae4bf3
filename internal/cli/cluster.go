package cli

import "github.com/spf13/cobra"

// newClusterCmd groups the cluster administration subcommands, one file
// each (cluster_*.go).
func (e *env) newClusterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Inspect and change cluster membership",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			cmd.Help()
			return usageError{errMissingSubcommand}
		},
	}
	cmd.AddCommand(
		e.newClusterMembersCmd(),
		e.newClusterStatusCmd(),
		e.newClusterAddCmd(),
		e.newClusterRemoveCmd(),
		e.newClusterPromoteCmd(),
		e.newClusterTransferLeaderCmd(),
	)
	return cmd
}
