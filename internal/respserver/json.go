package respserver

import (
	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/document"
)

// The RedisJSON command family (docs/DOCUMENTS.md). Writes are one
// command.DocRequest each, applied atomically by the state machine; reads
// are a point read of the document, evaluated here with package document
// (after the connection's read barrier, or inside the EXEC txn, where they
// see the writes queued before them). Paths may be JSONPath ($...), legacy
// (.a), Python subscripts (['a'][0]) or JSON Pointer (/a/0); a JSONPath
// gets RedisJSON's array-per-match replies, the others a single value.

func jsonCommands() []*spec {
	w := func(name string, arity int, build func([][]byte) plan, summary string) *spec {
		return &spec{name: name, arity: arity, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: 1,
			build: build, summary: summary}
	}
	r := func(name string, arity int, build func([][]byte) plan, summary string) *spec {
		return &spec{name: name, arity: arity, flags: []string{"readonly"}, firstKey: 1, lastKey: 1,
			build: build, summary: summary}
	}
	return []*spec{
		w("json.set", -4, buildJSONSet, "Sets a JSON value at a path (NX, XX)."),
		r("json.get", -2, buildJSONGet, "Returns JSON values at paths (INDENT, NEWLINE, SPACE)."),
		{name: "json.mget", arity: -3, flags: []string{"readonly"}, firstKey: 1, lastKey: -2,
			build: buildJSONMGet, summary: "Returns the values at a path of several documents."},
		w("json.del", -2, buildJSONDel, "Deletes the values at a path."),
		w("json.forget", -2, buildJSONDel, "Deletes the values at a path (same as JSON.DEL)."),
		r("json.type", -2, jsonRead(document.OpType), "Returns the JSON types at a path."),
		w("json.arrappend", -3, buildJSONArrAppend, "Appends values to arrays."),
		w("json.arrinsert", -5, buildJSONArrInsert, "Inserts values into arrays before an index."),
		r("json.arrlen", -2, jsonRead(document.OpArrLen), "Returns array lengths."),
		w("json.arrpop", -2, buildJSONArrPop, "Removes and returns array elements."),
		w("json.arrtrim", 5, buildJSONArrTrim, "Trims arrays to a range."),
		r("json.arrindex", -4, buildJSONArrIndex, "Returns the first index of a value in arrays."),
		w("json.numincrby", 4, buildJSONNum(command.DocNumIncrBy), "Adds to numbers."),
		w("json.nummultby", 4, buildJSONNum(command.DocNumMultBy), "Multiplies numbers."),
		w("json.strappend", -3, buildJSONStrAppend, "Appends to strings."),
		r("json.strlen", -2, jsonRead(document.OpStrLen), "Returns string lengths."),
		r("json.objkeys", -2, jsonRead(document.OpObjKeys), "Returns object keys."),
		r("json.objlen", -2, jsonRead(document.OpObjLen), "Returns object sizes."),
		w("json.clear", -2, buildJSONPathOnly(command.DocClear), "Empties containers and zeroes numbers."),
		w("json.toggle", 3, buildJSONPathOnly(command.DocToggle), "Toggles booleans."),
		w("json.merge", 4, buildJSONMerge, "Merges a JSON patch (RFC 7386) at a path."),
		r("json.resp", -2, jsonRead(document.OpResp), "Returns a JSON value as RESP."),
	}
}

const errDocSyntax = "ERR syntax error"

// optPath returns args[i] or the root path.
func optPath(args [][]byte, i int) []byte {
	if i < len(args) {
		return args[i]
	}
	return []byte(".")
}

// checkJSON parses the path and values early, so a malformed command is an
// error before anything is proposed.
func checkJSON(path []byte, values ...[]byte) string {
	if _, err := document.ParsePath(string(path)); err != nil {
		return "ERR " + err.Error()
	}
	for _, v := range values {
		if _, err := document.Parse(v); err != nil {
			return "ERR " + err.Error()
		}
	}
	return ""
}

func docPlan(m *command.DocRequest) plan {
	if msg := checkJSON(m.Path, m.Values...); msg != "" {
		return errPlan(msg)
	}
	return plan{ops: []command.TxnOp{{Doc: m}}, reply: replyDoc}
}

func replyDoc(c *conn, res []command.TxnOpResult) {
	r := res[0].Doc
	if r == nil {
		c.w.Error("ERR no document result")
		return
	}
	if r.Err != "" {
		c.w.Error(docErrorReply(r.Err, r.Msg))
		return
	}
	rep, err := document.DecodeReply(r.Reply)
	if err != nil {
		c.w.Error("ERR " + err.Error())
		return
	}
	writeDocReply(c, rep)
}

// docErrorReply is the error line of a document result code.
func docErrorReply(code, msg string) string {
	switch {
	case code == command.ErrCodeWrongType:
		return errWrongType
	case code == string(document.CodeWrongType):
		return "WRONGTYPE " + msg
	case msg != "":
		return "ERR " + msg
	}
	return mutateErrorReply(code)
}

func writeDocReply(c *conn, r document.Reply) {
	switch r.Kind {
	case document.ReplyNil:
		c.w.Null()
	case document.ReplyInt:
		c.w.Int(r.Int)
	case document.ReplyBulk:
		c.w.BulkString(r.Str)
	case document.ReplySimple:
		c.w.SimpleString(r.Str)
	case document.ReplyJSON:
		c.w.Bulk(r.JSON.AppendJSON(nil))
	case document.ReplyArray:
		c.w.ArrayLen(len(r.Arr))
		for _, e := range r.Arr {
			writeDocReply(c, e)
		}
	}
}

func buildJSONSet(args [][]byte) plan {
	m := &command.DocRequest{Op: command.DocSet, Key: args[1], Path: args[2], Values: [][]byte{args[3]}}
	switch {
	case len(args) == 4:
	case len(args) == 5 && eqFold(args[4], "nx"):
		m.NX = true
	case len(args) == 5 && eqFold(args[4], "xx"):
		m.XX = true
	default:
		return errPlan(errDocSyntax)
	}
	return docPlan(m)
}

func buildJSONDel(args [][]byte) plan {
	if len(args) > 3 {
		return errPlan(errDocSyntax)
	}
	return docPlan(&command.DocRequest{Op: command.DocDel, Key: args[1], Path: optPath(args, 2)})
}

// buildJSONArrAppend: JSON.ARRAPPEND key [path] value...; with one
// argument after the key it is the value (path = root).
func buildJSONArrAppend(args [][]byte) plan {
	path, values := []byte("."), args[2:]
	if len(args) > 3 {
		path, values = args[2], args[3:]
	}
	return docPlan(&command.DocRequest{Op: command.DocArrAppend, Key: args[1], Path: path, Values: values})
}

func buildJSONArrInsert(args [][]byte) plan {
	i, ok := command.ParseInteger(args[3])
	if !ok {
		return errPlan(errNotInteger)
	}
	return docPlan(&command.DocRequest{Op: command.DocArrInsert, Key: args[1], Path: args[2], Index: i, Values: args[4:]})
}

func buildJSONArrPop(args [][]byte) plan {
	if len(args) > 4 {
		return errPlan(errDocSyntax)
	}
	m := &command.DocRequest{Op: command.DocArrPop, Key: args[1], Path: optPath(args, 2), Index: -1}
	if len(args) == 4 {
		i, ok := command.ParseInteger(args[3])
		if !ok {
			return errPlan(errNotInteger)
		}
		m.Index = i
	}
	return docPlan(m)
}

func buildJSONArrTrim(args [][]byte) plan {
	start, ok1 := command.ParseInteger(args[3])
	stop, ok2 := command.ParseInteger(args[4])
	if !ok1 || !ok2 {
		return errPlan(errNotInteger)
	}
	return docPlan(&command.DocRequest{Op: command.DocArrTrim, Key: args[1], Path: args[2], Index: start, Stop: stop})
}

func buildJSONNum(op command.DocOp) func([][]byte) plan {
	return func(args [][]byte) plan {
		return docPlan(&command.DocRequest{Op: op, Key: args[1], Path: args[2], Values: [][]byte{args[3]}})
	}
}

// buildJSONStrAppend: JSON.STRAPPEND key [path] value.
func buildJSONStrAppend(args [][]byte) plan {
	switch len(args) {
	case 3:
		return docPlan(&command.DocRequest{Op: command.DocStrAppend, Key: args[1], Path: []byte("."), Values: [][]byte{args[2]}})
	case 4:
		return docPlan(&command.DocRequest{Op: command.DocStrAppend, Key: args[1], Path: args[2], Values: [][]byte{args[3]}})
	}
	return errPlan(errDocSyntax)
}

func buildJSONPathOnly(op command.DocOp) func([][]byte) plan {
	return func(args [][]byte) plan {
		if len(args) > 3 {
			return errPlan(errDocSyntax)
		}
		return docPlan(&command.DocRequest{Op: op, Key: args[1], Path: optPath(args, 2)})
	}
}

func buildJSONMerge(args [][]byte) plan {
	return docPlan(&command.DocRequest{Op: command.DocMerge, Key: args[1], Path: args[2], Values: [][]byte{args[3]}})
}

// Reads.

// docRead is a point read of key whose reply evaluates op on the document:
// nil for a missing key, WRONGTYPE for a key that is not a document.
func docRead(key []byte, op *document.Op) plan {
	return plan{ops: []command.TxnOp{pointRead(key)}, reply: func(c *conn, res []command.TxnOpResult) {
		doc, msg := readDoc(firstKV(res[0].Range))
		switch {
		case msg != "":
			c.w.Error(msg)
		case doc == nil:
			c.w.Null()
		default:
			_, r, _, err := document.Apply(doc, op)
			if err != nil {
				c.w.Error(docErrorReply(string(document.CodeOf(err)), err.Error()))
				return
			}
			writeDocReply(c, r)
		}
	}}
}

// readDoc parses a stored document (nil for a missing key) or returns the
// error reply.
func readDoc(kv *command.KeyValue) (*document.Value, string) {
	if kv == nil {
		return nil, ""
	}
	if kv.Type != command.TypeDocument {
		return nil, errWrongType
	}
	doc, err := document.Parse(kv.Value)
	if err != nil {
		return nil, "ERR stored document does not parse: " + err.Error()
	}
	return doc, ""
}

// jsonRead builds a read taking "key [path]".
func jsonRead(kind document.OpKind) func([][]byte) plan {
	return func(args [][]byte) plan {
		if len(args) > 3 {
			return errPlan(errDocSyntax)
		}
		p, err := document.ParsePath(string(optPath(args, 2)))
		if err != nil {
			return errPlan("ERR " + err.Error())
		}
		return docRead(args[1], &document.Op{Kind: kind, Path: p})
	}
}

func buildJSONArrIndex(args [][]byte) plan {
	if len(args) > 6 {
		return errPlan(errDocSyntax)
	}
	p, err := document.ParsePath(string(args[2]))
	if err != nil {
		return errPlan("ERR " + err.Error())
	}
	v, err := document.Parse(args[3])
	if err != nil {
		return errPlan("ERR " + err.Error())
	}
	op := &document.Op{Kind: document.OpArrIndex, Path: p, Values: []*document.Value{v}}
	for i, dst := range []*int64{&op.Index, &op.Stop} {
		if len(args) > 4+i {
			n, ok := command.ParseInteger(args[4+i])
			if !ok {
				return errPlan(errNotInteger)
			}
			*dst = n
		}
	}
	return docRead(args[1], op)
}

// buildJSONGet: JSON.GET key [INDENT s] [NEWLINE s] [SPACE s] [NOESCAPE]
// [path ...]. As in RedisJSON, the keywords (any case) are options wherever
// they appear among the paths, each option's value is required (a missing
// one is an arity error), and NOESCAPE is accepted and ignored (ReJSON 1.0
// compatibility).
func buildJSONGet(args [][]byte) plan {
	op := &document.Op{Kind: document.OpGet}
	for i := 2; i < len(args); i++ {
		a := args[i]
		var dst *string
		switch {
		case eqFold(a, "indent"):
			dst = &op.Format.Indent
		case eqFold(a, "newline"):
			dst = &op.Format.Newline
		case eqFold(a, "space"):
			dst = &op.Format.Space
		case eqFold(a, "noescape"):
			continue
		default:
			p, err := document.ParsePath(string(a))
			if err != nil {
				return errPlan("ERR " + err.Error())
			}
			op.Paths = append(op.Paths, p)
			continue
		}
		if i+1 >= len(args) {
			return errPlan(errArity("json.get"))
		}
		i++
		*dst = string(args[i])
	}
	return docRead(args[1], op)
}

// buildJSONMGet: JSON.MGET key [key ...] path. A missing key, a key that
// is not a document or a legacy path that matches nothing is nil.
func buildJSONMGet(args [][]byte) plan {
	p, err := document.ParsePath(string(args[len(args)-1]))
	if err != nil {
		return errPlan("ERR " + err.Error())
	}
	keys := args[1 : len(args)-1]
	ops := make([]command.TxnOp, len(keys))
	for i, k := range keys {
		ops[i] = pointRead(k)
	}
	op := &document.Op{Kind: document.OpGet, Paths: []*document.Path{p}}
	return plan{ops: ops, reply: func(c *conn, res []command.TxnOpResult) {
		c.w.ArrayLen(len(res))
		for i := range res {
			doc, msg := readDoc(firstKV(res[i].Range))
			if doc == nil || msg != "" {
				c.w.Null()
				continue
			}
			_, r, _, err := document.Apply(doc, op)
			if err != nil {
				c.w.Null()
				continue
			}
			writeDocReply(c, r)
		}
	}}
}
