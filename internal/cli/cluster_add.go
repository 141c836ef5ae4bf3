package cli

import (
	"errors"
	"fmt"

	"github.com/cairndb/cairn/client"
	"github.com/spf13/cobra"
)

func (e *env) newClusterAddCmd() *cobra.Command {
	var m client.Member
	cmd := &cobra.Command{
		Use:   "add <name> --peer-addr host:port",
		Short: "Add a member (as a learner, promoted once caught up)",
		Long: `Add a member to the cluster before starting it. It joins as a learner and
is promoted to voter automatically once it has caught up, unless --learner.
Prints the new member's ID.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if m.PeerAddr == "" {
				return usageError{errors.New("--peer-addr is required")}
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			m.Name = a[0]
			resp, err := c.MemberAdd(cmd.Context(), m)
			if err != nil {
				return err
			}
			if e.json {
				return e.printJSON(resp)
			}
			if resp.Member != nil {
				fmt.Fprintf(e.stdout, "Member %s added as %s\n", resp.Member.ID, resp.Member.Name)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&m.PeerAddr, "peer-addr", "", "the member's raft peer address")
	cmd.Flags().StringVar(&m.HTTPAddr, "http-addr", "", "the member's HTTP API address")
	cmd.Flags().BoolVar(&m.Learner, "learner", false, "keep the member a learner")
	return cmd
}
