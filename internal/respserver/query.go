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
	}
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
