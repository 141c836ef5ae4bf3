package cli

import (
	"errors"

	"github.com/cairndb/cairn/client"
	"github.com/spf13/cobra"
)

// scanPageSize is how many keys each request of a scan asks for.
const scanPageSize = 1000

func (e *env) newScanCmd() *cobra.Command {
	var (
		end      string
		limit    int64
		keysOnly bool
		pageSize int64
	)
	cmd := &cobra.Command{
		Use:   "scan [start]",
		Short: "Print every key in a range, page by page",
		Long: `Print key and value lines for every key >= start (default: the first key)
and < --end (default: no end), fetching pages and continuing from each page's
next_key. Every page is read at the revision of the first, so the output is
one consistent snapshot. With --json, print each page's response on its own
line.`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if pageSize <= 0 || limit < 0 {
				return usageError{errors.New("--page-size must be positive and --limit not negative")}
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			key := []byte{0}
			if len(a) == 1 && a[0] != "" {
				key = []byte(a[0])
			}
			rangeEnd := []byte{0} // no end
			if end != "" {
				rangeEnd = []byte(end)
			}
			var rev, printed int64
			for {
				n := pageSize
				if limit > 0 {
					n = min(n, limit-printed)
				}
				opts := []client.OpOption{client.WithRange(rangeEnd), client.WithLimit(n), client.WithRevision(rev)}
				if keysOnly {
					opts = append(opts, client.WithKeysOnly())
				}
				resp, err := c.Get(cmd.Context(), key, opts...)
				if err != nil {
					return err
				}
				rev = resp.Revision
				printed += int64(len(resp.KVs))
				if e.json {
					if err := e.printJSON(resp); err != nil {
						return err
					}
				} else {
					e.printKVs(resp.KVs, keysOnly)
				}
				if !resp.More || len(resp.NextKey) == 0 || (limit > 0 && printed >= limit) {
					return nil
				}
				key = resp.NextKey
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&end, "end", "", "stop before this key (default: no end)")
	f.Int64Var(&limit, "limit", 0, "print at most this many keys (0: all)")
	f.BoolVar(&keysOnly, "keys-only", false, "print keys only")
	f.Int64Var(&pageSize, "page-size", scanPageSize, "keys per request")
	return cmd
}
