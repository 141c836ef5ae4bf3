package respserver

import (
	"strconv"
	"strings"

	"github.com/cairndb/cairn/internal/query"
)

func queryCommands() []*spec {
	return []*spec{
		{name: "cairn.query", arity: -2, flags: []string{"noscript"},
			summary: "CAIRN.QUERY script [WRITE] [STALE] [REVISION rev]: runs a Starlark script (docs/QUERY.md) and returns its value as JSON.",
			run:     runQuery},
		{name: "cairn.undo", arity: 1, flags: []string{"write"},
			summary: "CAIRN.UNDO: reverts the newest change not undone yet (cluster-wide; docs/QUERY.md); replies [revision, undone revision, keys].",
			run:     func(c *conn, _ [][]byte) { runUndo(c, false) }},
		{name: "cairn.redo", arity: 1, flags: []string{"write"},
			summary: "CAIRN.REDO: re-applies the most recently undone change; replies [revision, redone revision, keys].",
			run:     func(c *conn, _ [][]byte) { runUndo(c, true) }},
	}
}

// runUndo: CAIRN.UNDO / CAIRN.REDO. The reply is an array of the
// revision of the undo's own write, the revision undone (redone), and the
// number of keys restored.
func runUndo(c *conn, redo bool) {
	res, err := c.srv.svc.Undo(c.ctx, redo)
	if err != nil {
		c.replyErr(err)
		return
	}
	c.w.ArrayLen(3)
	c.w.Int(res.Revision)
	c.w.Int(res.Target)
	c.w.Int(res.Keys)
}

// runQuery: CAIRN.QUERY script [WRITE] [STALE] [REVISION rev]. The reply
// is the JSON of the script's value as a bulk string, or a null bulk when
// the script ends with a statement. Without WRITE the script is read-only.
// A connection in READONLY mode reads stale, as STALE.
func runQuery(c *conn, args [][]byte) {
	o := query.Options{ReadOnly: true, Stale: c.stale}
	for i := 2; i < len(args); i++ {
		switch strings.ToLower(string(args[i])) {
		case "write":
			o.ReadOnly = false
		case "stale":
			o.Stale = true
		case "revision":
			if i+1 >= len(args) {
				c.w.Error(errSyntax)
				return
			}
			i++
			rev, err := strconv.ParseInt(string(args[i]), 10, 64)
			if err != nil || rev <= 0 {
				c.w.Error(errNotInteger)
				return
			}
			o.Revision = rev
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	if !o.ReadOnly && o.Revision > 0 {
		c.w.Error("ERR a script that writes cannot read at a past revision")
		return
	}
	res, err := c.srv.svc.Query(c.ctx, string(args[1]), o)
	if err != nil {
		c.replyErr(err)
		return
	}
	// print() output has no place in the reply; it is dropped.
	if res.Value == nil {
		c.w.Null()
		return
	}
	c.w.Bulk(res.Value)
}
