package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cairndb/cairn/client"
	"github.com/spf13/cobra"
)

func (e *env) newWatchCmd() *cobra.Command {
	var (
		prefix, prevKV, progress bool
		rev, count               int64
		path                     string
	)
	cmd := &cobra.Command{
		Use:   "watch <key>",
		Short: "Print the changes to a key, to every key with a prefix, or to a JSON path in a document",
		Long: `Print every change to <key> (with --prefix, to every key starting with it)
as it commits, in revision order, until interrupted. With --path, only the
changes of the document at <key> that change what the JSON path selects
(at or below it) are printed. With --rev, replay the
changes from that revision first. Each change prints as etcdctl does: the type
(PUT, DELETE, EXPIRE), the key, and for a put the value; --prev-kv adds the
previous value. --json prints one JSON object per change instead. If the node
serving the watch fails, the watch resumes on another endpoint with nothing
lost or repeated.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			opts := []client.OpOption{client.WithRevision(rev)}
			if prefix {
				opts = append(opts, client.WithPrefix())
			}
			if prevKV {
				opts = append(opts, client.WithPrevKV())
			}
			if path != "" {
				if prefix {
					return fmt.Errorf("--path watches one document key: it cannot be combined with --prefix")
				}
				opts = append(opts, client.WithPath(path))
			}
			ctx := cmd.Context()
			n := int64(0)
			for ev := range c.Watch(ctx, []byte(a[0]), opts...) {
				if ev.Type == "error" {
					return ev.Err
				}
				if ev.IsProgress() && !progress {
					continue
				}
				if err := e.printEvent(&ev, prevKV); err != nil {
					return err
				}
				if !ev.IsProgress() {
					if n++; count > 0 && n >= count {
						return nil
					}
				}
			}
			return ctx.Err()
		},
	}
	f := cmd.Flags()
	f.BoolVar(&prefix, "prefix", false, "watch every key with <key> as a prefix")
	f.Int64Var(&rev, "rev", 0, "start at this revision, replaying history (0: from now)")
	f.StringVar(&path, "path", "", "watch a JSON path inside the document at <key> ($.a.b, .a.b or /a/b)")
	f.BoolVar(&prevKV, "prev-kv", false, "print the previous value of each change")
	f.BoolVar(&progress, "progress", false, "print progress notifications (PROGRESS <revision>) when idle")
	f.Int64Var(&count, "count", 0, "exit after this many changes (0: run until interrupted)")
	return cmd
}

type eventJSON struct {
	Type      string  `json:"type"`
	Revision  int64   `json:"revision"`
	Key       string  `json:"key,omitempty"`
	Value     *string `json:"value,omitempty"`
	PrevValue *string `json:"prev_value,omitempty"`
}

func (e *env) printEvent(ev *client.Event, prevKV bool) error {
	if e.json {
		j := eventJSON{Type: ev.Type, Revision: ev.Revision, Key: string(ev.Key)}
		if ev.Type == "put" {
			v := string(ev.Value)
			j.Value = &v
		}
		if ev.PrevExists {
			p := string(ev.PrevValue)
			j.PrevValue = &p
		}
		b, err := json.Marshal(j)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	if ev.IsProgress() {
		_, err := fmt.Fprintf(e.stdout, "PROGRESS %d\n", ev.Revision)
		return err
	}
	fmt.Fprintf(e.stdout, "%s\n%s\n", strings.ToUpper(ev.Type), ev.Key)
	if prevKV && ev.PrevExists {
		fmt.Fprintf(e.stdout, "%s\n", ev.PrevValue)
	}
	if ev.Type == "put" {
		fmt.Fprintf(e.stdout, "%s\n", ev.Value)
	}
	return nil
}
