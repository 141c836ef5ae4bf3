package respserver

import (
	"bytes"
	"math/rand/v2"
	"strconv"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
)

func keyCommands() []*spec {
	return []*spec{
		{name: "del", arity: -2, flags: []string{"write"}, firstKey: 1, lastKey: -1,
			summary: "Deletes keys, in one revision.", build: buildDel},
		{name: "unlink", arity: -2, flags: []string{"write", "fast"}, firstKey: 1, lastKey: -1,
			summary: "Deletes keys, in one revision (same as DEL).", build: buildDel},
		{name: "exists", arity: -2, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: -1,
			summary: "Counts the given keys that exist.", build: buildExists},
		{name: "type", arity: 2, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: 1,
			summary: "Returns the type of a key (string or none).", build: buildType},
		{name: "rename", arity: 3, flags: []string{"write"}, firstKey: 1, lastKey: 2,
			summary: "Renames a key, atomically.", build: buildRename(false)},
		{name: "renamenx", arity: 3, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 2,
			summary: "Renames a key only when the new name does not exist.", build: buildRename(true)},
		{name: "keys", arity: 2, flags: []string{"readonly"},
			summary: "Returns the keys matching a glob pattern.", run: runKeys},
		{name: "scan", arity: -2, flags: []string{"readonly"},
			summary: "Iterates over the keys in key order.", run: runScan},
		{name: "randomkey", arity: 1, flags: []string{"readonly"},
			summary: "Returns a random key.", run: runRandomKey},
		{name: "dbsize", arity: 1, flags: []string{"readonly", "fast"},
			summary: "Returns the number of keys.", build: buildDBSize},
		{name: "flushdb", arity: -1, flags: []string{"write"},
			summary: "Deletes every key, in one revision.", build: buildFlush},
		{name: "flushall", arity: -1, flags: []string{"write"},
			summary: "Deletes every key, in one revision.", build: buildFlush},
	}
}

// buildDel deletes every key in one revision (one Mutate for one key, a txn
// for several). Mutate deletes rather than Delete ops, so DEL may share a
// MULTI with writes of the same keys.
func buildDel(args [][]byte) plan {
	ops := make([]command.TxnOp, len(args)-1)
	for i, k := range args[1:] {
		ops[i] = mutateOp(&command.MutateRequest{Op: command.MutateDelete, Key: k})
	}
	return plan{ops: ops, reply: func(c *conn, res []command.TxnOpResult) {
		var n int64
		for i := range res {
			n += res[i].Mutate.Int
		}
		c.w.Int(n)
	}}
}

func buildExists(args [][]byte) plan {
	ops := make([]command.TxnOp, len(args)-1)
	for i, k := range args[1:] {
		ops[i] = command.TxnOp{Range: &command.RangeRequest{Key: k, CountOnly: true}}
	}
	return plan{ops: ops, reply: func(c *conn, res []command.TxnOpResult) {
		var n int64
		for i := range res {
			n += res[i].Range.Count
		}
		c.w.Int(n)
	}}
}

// buildType answers string, ReJSON-RL (a JSON document, as RedisJSON
// names its type) or none.
func buildType(args [][]byte) plan {
	op := command.TxnOp{Range: &command.RangeRequest{Key: args[1], KeysOnly: true}}
	return plan{ops: []command.TxnOp{op}, reply: func(c *conn, res []command.TxnOpResult) {
		switch kv := firstKV(res[0].Range); {
		case kv == nil:
			c.w.SimpleString("none")
		case kv.Type == command.TypeDocument:
			c.w.SimpleString("ReJSON-RL")
		default:
			c.w.SimpleString("string")
		}
	}}
}

func buildRename(nx bool) func([][]byte) plan {
	return func(args [][]byte) plan {
		m := &command.MutateRequest{Op: command.MutateRename, Key: args[1], Dest: args[2], NX: nx}
		return plan{ops: []command.TxnOp{mutateOp(m)}, reply: func(c *conn, res []command.TxnOpResult) {
			r := res[0].Mutate
			switch {
			case r.Err != "":
				c.w.Error(mutateErrorReply(r.Err))
			case nx:
				c.w.Int(b2i(r.Written))
			default:
				c.ok()
			}
		}}
	}
}

func buildDBSize(args [][]byte) plan {
	op := command.TxnOp{Range: &command.RangeRequest{Key: allKeysStart, End: allKeysEnd, CountOnly: true}}
	return plan{ops: []command.TxnOp{op}, reply: func(c *conn, res []command.TxnOpResult) {
		c.w.Int(res[0].Range.Count)
	}}
}

// buildFlush deletes the whole keyspace in one revision (a range delete).
// ASYNC and SYNC are accepted and mean the same.
func buildFlush(args [][]byte) plan {
	if len(args) > 2 || len(args) == 2 && !eqFold(args[1], "async") && !eqFold(args[1], "sync") {
		return errPlan(errSyntax)
	}
	op := command.TxnOp{Delete: &command.DeleteRequest{Key: allKeysStart, End: allKeysEnd}}
	return plan{ops: []command.TxnOp{op}, reply: func(c *conn, _ []command.TxnOpResult) { c.ok() }}
}

// keySpan is the span of keys a glob pattern can match: those under its
// literal prefix.
func keySpan(pattern []byte) (start, end []byte) {
	prefix, _ := globPrefix(pattern)
	if len(prefix) == 0 {
		return allKeysStart, allKeysEnd
	}
	return prefix, command.PrefixEnd(prefix)
}

// keysPage is how many keys KEYS reads per range request.
const keysPage = 10000

// runKeys returns every key matching the pattern, from one consistent
// view: the first page is read at the connection's consistency, the
// following ones at that page's revision.
func runKeys(c *conn, args [][]byte) {
	pattern := args[1]
	start, end := keySpan(pattern)
	o := c.readOpts()
	var rev int64
	var out [][]byte
	for {
		r := &command.RangeRequest{Key: start, End: end, KeysOnly: true, Limit: keysPage, Revision: rev}
		res, cur, err := c.srv.svc.Range(c.ctx, r, o)
		if err != nil {
			c.replyErr(err)
			return
		}
		for _, kv := range res.KVs {
			if globMatch(pattern, kv.Key) {
				out = append(out, kv.Key)
			}
		}
		if !res.More || len(res.KVs) == 0 {
			break
		}
		start = append(bytes.Clone(res.KVs[len(res.KVs)-1].Key), 0)
		if rev == 0 {
			rev = cur
			o = service.ReadOptions{Consistency: service.Stale}
		}
	}
	c.w.ArrayLen(len(out))
	for _, k := range out {
		c.w.Bulk(k)
	}
}

// runScan implements SCAN cursor [MATCH pattern] [COUNT count] [TYPE
// type]. It walks the keyspace in key order, COUNT keys per call (10 by
// default), filtering with MATCH: every key present for the whole scan is
// returned exactly once. The cursor names the next key in the server's
// cursor table (see cursorTable); 0 starts and ends a scan.
func runScan(c *conn, args [][]byte) {
	cur, err := strconv.ParseUint(string(args[1]), 10, 64)
	if err != nil {
		c.w.Error(errInvalidCursor)
		return
	}
	var pattern []byte
	count := int64(10)
	typeOK := true
	for i := 2; i < len(args); i += 2 {
		if i+1 >= len(args) {
			c.w.Error(errSyntax)
			return
		}
		v := args[i+1]
		switch {
		case eqFold(args[i], "match"):
			pattern = v
		case eqFold(args[i], "count"):
			n, ok := command.ParseInteger(v)
			if !ok {
				c.w.Error(errNotInteger)
				return
			}
			if n < 1 {
				c.w.Error(errSyntax)
				return
			}
			count = min(n, service.MaxScanLimit)
		case eqFold(args[i], "type"):
			typeOK = eqFold(v, "string")
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	start, end := allKeysStart, allKeysEnd
	if pattern != nil {
		start, end = keySpan(pattern)
	}
	if cur != 0 {
		next, ok := c.srv.cursors.get(cur)
		if !ok {
			c.w.Error(errInvalidCursor + ": unknown or expired (Cairn cursors are kept by the node that issued them)")
			return
		}
		if bytes.Compare(next, start) > 0 {
			start = next
		}
	}
	var res *command.RangeResult
	if !isEnd(end) && bytes.Compare(start, end) >= 0 {
		res = &command.RangeResult{}
	} else {
		r := &command.RangeRequest{Key: start, End: end, KeysOnly: true, Limit: count}
		if res, _, err = c.srv.svc.Range(c.ctx, r, c.readOpts()); err != nil {
			c.replyErr(err)
			return
		}
	}
	var nextCursor uint64
	if res.More && len(res.KVs) > 0 {
		nextCursor = c.srv.cursors.put(append(bytes.Clone(res.KVs[len(res.KVs)-1].Key), 0))
	}
	var keys [][]byte
	for _, kv := range res.KVs {
		if typeOK && (pattern == nil || globMatch(pattern, kv.Key)) {
			keys = append(keys, kv.Key)
		}
	}
	c.w.ArrayLen(2)
	var buf [20]byte
	c.w.Bulk(strconv.AppendUint(buf[:0], nextCursor, 10))
	c.w.ArrayLen(len(keys))
	for _, k := range keys {
		c.w.Bulk(k)
	}
}

func isEnd(k []byte) bool { return len(k) == 1 && k[0] == 0 }

// runRandomKey picks a key uniformly among the first MaxScanLimit keys (all
// of them in a smaller keyspace): a count, then a keys-only read up to the
// chosen position.
func runRandomKey(c *conn, _ [][]byte) {
	o := c.readOpts()
	cnt, _, err := c.srv.svc.Range(c.ctx, &command.RangeRequest{Key: allKeysStart, End: allKeysEnd, CountOnly: true}, o)
	if err != nil {
		c.replyErr(err)
		return
	}
	if cnt.Count == 0 {
		c.w.Null()
		return
	}
	n := min(cnt.Count, service.MaxScanLimit)
	pick := rand.Int64N(n)
	o.Consistency = service.Stale // the barrier is behind us
	res, _, err := c.srv.svc.Range(c.ctx, &command.RangeRequest{Key: allKeysStart, End: allKeysEnd, KeysOnly: true, Limit: pick + 1}, o)
	if err != nil {
		c.replyErr(err)
		return
	}
	if len(res.KVs) == 0 { // everything was deleted in between
		c.w.Null()
		return
	}
	c.w.Bulk(res.KVs[len(res.KVs)-1].Key)
}
