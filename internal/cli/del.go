package cli

import (
	"fmt"

	"github.com/cairndb/cairn/client"
	"github.com/spf13/cobra"
)

func (e *env) newDelCmd() *cobra.Command {
	var (
		prefix   bool
		rangeEnd string
	)
	cmd := &cobra.Command{
		Use:     "del <key>",
		Aliases: []string{"delete"},
		Short:   "Delete a key, or a range of keys",
		Long:    `Delete a key (or a range) and print the number of keys deleted.`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if prefix && rangeEnd != "" {
				return usageError{errPrefixAndRange}
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			var opts []client.OpOption
			switch {
			case prefix:
				opts = append(opts, client.WithPrefix())
			case rangeEnd != "":
				opts = append(opts, client.WithRange([]byte(rangeEnd)))
			}
			resp, err := c.Delete(cmd.Context(), []byte(a[0]), opts...)
			if err != nil {
				return err
			}
			if e.json {
				return e.printJSON(resp)
			}
			fmt.Fprintln(e.stdout, resp.Deleted)
			return nil
		},
	}
	cmd.Flags().BoolVar(&prefix, "prefix", false, "delete every key with <key> as a prefix")
	cmd.Flags().StringVar(&rangeEnd, "range-end", "", "delete keys in [<key>, range-end)")
	return cmd
}
