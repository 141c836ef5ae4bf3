package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/cairndb/cairn/client"
	"github.com/spf13/cobra"
)

// newDocCmd is "cairn doc ...": JSON documents (docs/DOCUMENTS.md). Paths
// are JSONPath ($.a[0]), legacy (.a), Python subscripts (['a'][0]) or JSON
// Pointer (/a/0); JSON arguments given as "-" are read from stdin.
func (e *env) newDocCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doc",
		Short: "Read and change JSON documents by path",
		Long: `Read and change parts of JSON documents, atomically, by path. A path is
JSONPath ($.users[0].name, $..name, $.a[?(@.n > 1)]; the result lists every
match), RedisJSON legacy (.users[0].name), Python subscripts (['users'][0])
or JSON Pointer (/users/0/name); it defaults to the root. A JSON argument
"-" is read from stdin.`,
	}
	var stale, nx, xx bool
	get := &cobra.Command{
		Use:   "get <key> [path]",
		Short: "Print the JSON at a path",
		Args:  args(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			var opts []client.OpOption
			if stale {
				opts = append(opts, client.WithStale())
			}
			v, err := c.DocGet(cmd.Context(), a[0], argAt(a, 1), opts...)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "%s\n", v)
			return err
		},
	}
	get.Flags().BoolVar(&stale, "stale", false, "read from the local node (may be behind)")
	set := &cobra.Command{
		Use:   "set <key> [path] <json>",
		Short: "Set the JSON at a path (default the root; a new key: at the root)",
		Args:  args(cobra.RangeArgs(2, 3)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if nx && xx {
				return usageError{fmt.Errorf("--nx and --xx are mutually exclusive")}
			}
			path, val := optionalPath(a)
			return e.docWrite(cmd, a[0], func(c *client.Client, vals []json.RawMessage) (*client.DocResponse, error) {
				return c.DocSet(cmd.Context(), a[0], path, vals[0], nx, xx)
			}, val)
		},
	}
	set.Flags().BoolVar(&nx, "nx", false, "only if the path does not exist")
	set.Flags().BoolVar(&xx, "xx", false, "only if the path exists")
	merge := &cobra.Command{
		Use:   "merge <key> [path] <json>",
		Short: "Merge a JSON patch (RFC 7386) at a path (default the root)",
		Args:  args(cobra.RangeArgs(2, 3)),
		RunE: func(cmd *cobra.Command, a []string) error {
			path, val := optionalPath(a)
			return e.docWrite(cmd, a[0], func(c *client.Client, vals []json.RawMessage) (*client.DocResponse, error) {
				return c.DocMerge(cmd.Context(), a[0], path, vals[0])
			}, val)
		},
	}
	del := &cobra.Command{
		Use:   "del <key> [path]",
		Short: "Delete the values at a path (the root: the key)",
		Args:  args(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return e.docWrite(cmd, a[0], func(c *client.Client, _ []json.RawMessage) (*client.DocResponse, error) {
				return c.DocDelete(cmd.Context(), a[0], argAt(a, 1))
			})
		},
	}
	cmd.AddCommand(get, set, merge, del)
	for _, o := range docOpCmds {
		cmd.AddCommand(e.newDocOpCmd(o))
	}
	return cmd
}

// docOpCmd describes one generic operation: its positional arguments after
// <key> <path> are JSON values and integers as ints says.
type docOpCmd struct {
	name, use, short string
	// ints lists the positions (after key and path) of integer arguments:
	// they fill Index then Stop. values is how many JSON values (-1: one
	// or more).
	ints   []int
	values int
	min    int // minimum arguments after key and path
	max    int // -1: no limit
}

var docOpCmds = []docOpCmd{
	{"arrappend", "<key> <path> <json>...", "Append values to arrays", nil, -1, 1, -1},
	{"arrinsert", "<key> <path> <index> <json>...", "Insert values before an index", []int{0}, -1, 2, -1},
	{"arrpop", "<key> <path> [index]", "Remove and print an element (default the last)", []int{0}, 0, 0, 1},
	{"arrtrim", "<key> <path> <start> <stop>", "Keep elements start..stop (inclusive)", []int{0, 1}, 0, 2, 2},
	{"arrindex", "<key> <path> <json> [start [stop]]", "Print the first index of a value", []int{1, 2}, 1, 1, 3},
	{"arrlen", "<key> [path]", "Print array lengths", nil, 0, 0, 0},
	{"numincrby", "<key> <path> <number>", "Add to numbers", nil, 1, 1, 1},
	{"nummultby", "<key> <path> <number>", "Multiply numbers", nil, 1, 1, 1},
	{"strappend", "<key> <path> <json-string>", "Append to strings", nil, 1, 1, 1},
	{"strlen", "<key> [path]", "Print string lengths", nil, 0, 0, 0},
	{"objkeys", "<key> [path]", "Print object keys", nil, 0, 0, 0},
	{"objlen", "<key> [path]", "Print object sizes", nil, 0, 0, 0},
	{"type", "<key> [path]", "Print JSON types", nil, 0, 0, 0},
	{"clear", "<key> [path]", "Empty containers and zero numbers", nil, 0, 0, 0},
	{"toggle", "<key> <path>", "Toggle booleans", nil, 0, 0, 0},
}

func (e *env) newDocOpCmd(o docOpCmd) *cobra.Command {
	maxArgs := 2 + o.max
	if o.max < 0 {
		maxArgs = 1 << 20
	}
	minArgs := 2 + o.min
	if o.min == 0 {
		minArgs = 1
	}
	return &cobra.Command{
		Use:   o.name + " " + o.use,
		Short: o.short,
		Args:  args(cobra.RangeArgs(minArgs, maxArgs)),
		RunE: func(cmd *cobra.Command, a []string) error {
			op := client.DocOp{Op: o.name, Path: argAt(a, 1)}
			var jsonArgs []string
			var ints []int64
			for i, s := range a[min(2, len(a)):] {
				if containsInt(o.ints, i) {
					n, err := strconv.ParseInt(s, 10, 64)
					if err != nil {
						return usageError{fmt.Errorf("%q is not an integer", s)}
					}
					ints = append(ints, n)
					continue
				}
				jsonArgs = append(jsonArgs, s)
			}
			if len(ints) > 0 {
				op.Index = &ints[0]
			}
			if len(ints) > 1 {
				op.Stop = ints[1]
			}
			return e.docWrite(cmd, a[0], func(c *client.Client, vals []json.RawMessage) (*client.DocResponse, error) {
				op.Values = vals
				return c.Doc(cmd.Context(), a[0], op)
			}, jsonArgs...)
		},
	}
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// optionalPath splits <key> [path] <json>: with two arguments the path
// is the root.
func optionalPath(a []string) (path, val string) {
	if len(a) == 2 {
		return "", a[1]
	}
	return a[1], a[2]
}

func argAt(a []string, i int) string {
	if i < len(a) {
		return a[i]
	}
	return ""
}

// docWrite reads the JSON arguments (one "-" from stdin), runs f and
// prints the result (or the whole response with --json).
func (e *env) docWrite(cmd *cobra.Command, key string, f func(*client.Client, []json.RawMessage) (*client.DocResponse, error), jsonArgs ...string) error {
	vals := make([]json.RawMessage, len(jsonArgs))
	for i, s := range jsonArgs {
		if s == "-" {
			b, err := io.ReadAll(e.stdin)
			if err != nil {
				return fmt.Errorf("read JSON from stdin: %w", err)
			}
			s = string(b)
		}
		if !json.Valid([]byte(s)) {
			return usageError{fmt.Errorf("argument %q is not valid JSON (quote strings: '\"text\"')", s)}
		}
		vals[i] = json.RawMessage(s)
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	resp, err := f(c, vals)
	if err != nil {
		return err
	}
	if e.json {
		return e.printJSON(resp)
	}
	out := []byte(resp.Result)
	if string(out) == `"OK"` && (cmd.Name() == "set" || cmd.Name() == "merge") {
		out = []byte("OK") // a status, as cairn put prints it (not a JSON value)
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", out)
	return err
}
