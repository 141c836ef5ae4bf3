package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

var errMissingSubcommand = errors.New("missing subcommand")

func (e *env) newClusterMembersCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "members",
		Aliases: []string{"list"},
		Short:   "List the members as a table: ID NAME ROLE PEER HTTP",
		Long: `List the members. ROLE is leader (as the answering node sees it), voter,
learner (promoted once caught up) or read-only (a learner never promoted).`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			resp, err := c.MemberList(cmd.Context())
			if err != nil {
				return err
			}
			if e.json {
				return e.printJSON(resp)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tPEER\tHTTP")
			for _, m := range resp.Members {
				role := "voter"
				switch {
				case m.Learner && m.ReadOnly:
					role = "read-only"
				case m.Learner:
					role = "learner"
				case m.ID == resp.Leader:
					role = "leader"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, m.Name, role, m.PeerAddr, m.HTTPAddr)
			}
			return tw.Flush()
		},
	}
}
