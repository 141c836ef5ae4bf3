package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/cairndb/cairn/client"
	"github.com/spf13/cobra"
)

func (e *env) newClusterStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the status of every endpoint",
		Long: `Ask every endpoint in --endpoints about itself and print one row per node:
ENDPOINT ID NAME ROLE LEADER TERM COMMIT APPLIED REVISION. An endpoint that
does not answer gets a line on stderr, and the exit code is then 1. With
--json, print one JSON object per endpoint.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			if !e.json {
				fmt.Fprintln(tw, "ENDPOINT\tID\tNAME\tROLE\tLEADER\tTERM\tCOMMIT\tAPPLIED\tREVISION")
			}
			failed := 0
			var st *client.StatusResponse
			for _, ep := range c.Endpoints() {
				if st, err = c.Status(cmd.Context(), ep); err != nil {
					failed++
					fmt.Fprintf(e.stderr, "%s: %s\n", ep, oneLine(err.Error()))
					continue
				}
				if e.json {
					if err := e.printJSON(struct {
						Endpoint string `json:"endpoint"`
						*client.StatusResponse
					}{ep, st}); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", ep, st.ID, st.Name, st.Role,
					st.Leader, st.Term, st.CommitIndex, st.AppliedIndex, st.Revision)
			}
			if !e.json && failed < len(c.Endpoints()) {
				tw.Flush()
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d endpoints did not answer", failed, len(c.Endpoints()))
			}
			return nil
		},
	}
}
