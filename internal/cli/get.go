package cli

import (
	"errors"
	"fmt"

	"github.com/cairndb/cairn/client"
	"github.com/spf13/cobra"
)

var errPrefixAndRange = errors.New("--prefix and --range-end are mutually exclusive")

func (e *env) newGetCmd() *cobra.Command {
	var (
		prefix, stale, keysOnly, countOnly bool
		rangeEnd                           string
		limit, rev                         int64
	)
	cmd := &cobra.Command{
		Use:   "get <key>",
		Short: "Read a key, or a range of keys",
		Long: `Read a key and print its value (with a trailing newline, so $(cairn get k)
works). With --prefix or --range-end, print key and value lines for each key,
as etcdctl does. A missing key is an error (exit 1).`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if prefix && rangeEnd != "" {
				return usageError{errPrefixAndRange}
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			key := []byte(a[0])
			opts := []client.OpOption{client.WithLimit(limit), client.WithRevision(rev)}
			switch {
			case prefix:
				opts = append(opts, client.WithPrefix())
			case rangeEnd != "":
				opts = append(opts, client.WithRange([]byte(rangeEnd)))
			}
			if stale {
				opts = append(opts, client.WithStale())
			}
			if keysOnly {
				opts = append(opts, client.WithKeysOnly())
			}
			if countOnly {
				opts = append(opts, client.WithCountOnly())
			}
			resp, err := c.Get(cmd.Context(), key, opts...)
			single := !prefix && rangeEnd == ""
			if errors.Is(err, client.ErrKeyNotFound) || err == nil && single && !countOnly && len(resp.KVs) == 0 {
				return fmt.Errorf("key not found: %s", printable(key))
			}
			if err != nil {
				return err
			}
			if e.json {
				return e.printJSON(resp)
			}
			switch {
			case countOnly:
				fmt.Fprintln(e.stdout, resp.Count)
			case single: // one key: just the value
				kv := resp.KVs[0]
				if keysOnly {
					fmt.Fprintf(e.stdout, "%s\n", kv.Key)
				} else {
					fmt.Fprintf(e.stdout, "%s\n", kv.Value)
				}
			default:
				e.printKVs(resp.KVs, keysOnly)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&prefix, "prefix", false, "read every key with <key> as a prefix")
	f.StringVar(&rangeEnd, "range-end", "", "read keys in [<key>, range-end)")
	f.Int64Var(&limit, "limit", 0, "return at most this many keys (0: no limit)")
	f.Int64Var(&rev, "rev", 0, "read as of this revision (0: latest)")
	f.BoolVar(&stale, "stale", false, "allow a stale read from the answering node")
	f.BoolVar(&keysOnly, "keys-only", false, "print keys only")
	f.BoolVar(&countOnly, "count-only", false, "print the number of keys only")
	return cmd
}

// printKVs prints key and value lines (key lines only with keysOnly).
func (e *env) printKVs(kvs []*client.KeyValue, keysOnly bool) {
	for _, kv := range kvs {
		if keysOnly {
			fmt.Fprintf(e.stdout, "%s\n", kv.Key)
		} else {
			fmt.Fprintf(e.stdout, "%s\n%s\n", kv.Key, kv.Value)
		}
	}
}
