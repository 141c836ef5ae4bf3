package cli

import (
	"fmt"
	"io"

	"github.com/cairndb/cairn/client"
	"github.com/spf13/cobra"
)

func (e *env) newQueryCmd() *cobra.Command {
	var (
		write, stale bool
		rev          int64
	)
	cmd := &cobra.Command{
		Use:   "query [script]",
		Short: "Run a Starlark (Python-syntax) script against the database",
		Long: `Run a Starlark script (docs/QUERY.md) and print its value as JSON: the script
is the argument, or stdin when it is "-" or absent. Without --write the script
is a read-only query of one consistent snapshot; with --write it is a
transaction: all its writes commit or none.

  cairn query "[k for k in db]"
  cairn query --write "db['n'] = db.get('n', 0) + 1"`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if write && rev > 0 {
				return usageError{fmt.Errorf("--write and --revision are mutually exclusive")}
			}
			script := ""
			if len(a) == 1 && a[0] != "-" {
				script = a[0]
			} else {
				b, err := io.ReadAll(e.stdin)
				if err != nil {
					return err
				}
				script = string(b)
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			var opts []client.QueryOption
			if stale {
				opts = append(opts, client.QueryStale())
			}
			if rev > 0 {
				opts = append(opts, client.QueryAt(rev))
			}
			run := c.Query
			if write {
				run = c.QueryTxn
			}
			res, err := run(cmd.Context(), script, opts...)
			if err != nil {
				return err // a script error's message has its line and column
			}
			if e.json {
				return e.printJSON(res)
			}
			e.printResult(res)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&write, "write", false, "run as a transaction that may write")
	f.BoolVar(&stale, "stale", false, "read the answering node's applied state (may lag)")
	f.Int64Var(&rev, "revision", 0, "read at this past revision")
	return cmd
}

// printResult prints what a script printed, then its value.
func (e *env) printResult(res *client.QueryResponse) {
	if res.Output != "" {
		io.WriteString(e.stdout, res.Output)
	}
	if res.Value != nil {
		fmt.Fprintf(e.stdout, "%s\n", spaced(res.Value))
	}
}

// spaced lays out compact JSON as Python's json.dumps does:
// {"a": [1, 2]}.
func spaced(js []byte) []byte {
	out := make([]byte, 0, len(js)+len(js)/4)
	inString, escaped := false, false
	for _, c := range js {
		out = append(out, c)
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == ',' || c == ':'):
			out = append(out, ' ')
		}
	}
	return out
}
