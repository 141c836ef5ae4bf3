package respserver

import (
	"math"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
)

func stringCommands() []*spec {
	return []*spec{
		{name: "get", arity: 2, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: 1,
			summary: "Returns the string value of a key.", build: buildGet, run: runGet},
		{name: "set", arity: -3, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: 1,
			summary: "Sets the string value of a key (NX, XX, GET).", build: buildSet, run: runSet, put: true},
		{name: "put", arity: 3, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: 1,
			summary: "Legacy line protocol alias of SET key value.", build: buildSet, run: runSet, put: true},
		{name: "setnx", arity: 3, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1,
			summary: "Sets the value of a key only when it does not exist.", build: buildSetNX},
		{name: "getset", arity: 3, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1,
			summary: "Sets a key and returns its previous value.", build: buildGetSet},
		{name: "getdel", arity: 2, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 1,
			summary: "Returns the value of a key and deletes it.", build: buildGetDel},
		{name: "mget", arity: -2, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: -1,
			summary: "Returns the values of keys, atomically.", build: buildMGet},
		{name: "mset", arity: -3, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: -1, step: 2,
			summary: "Sets several keys in one revision.", build: buildMSet},
		{name: "msetnx", arity: -3, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: -1, step: 2,
			summary: "Sets several keys only when none exists.", run: runMSetNX},
		{name: "append", arity: 3, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1,
			summary: "Appends to the value of a key.", build: buildAppend},
		{name: "strlen", arity: 2, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: 1,
			summary: "Returns the length of a value.", build: buildStrlen},
		{name: "incr", arity: 2, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1,
			summary: "Increments an integer value by one.", build: buildIncr(1)},
		{name: "decr", arity: 2, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1,
			summary: "Decrements an integer value by one.", build: buildIncr(-1)},
		{name: "incrby", arity: 3, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1,
			summary: "Increments an integer value by a number.", build: buildIncrBy(false)},
		{name: "decrby", arity: 3, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1,
			summary: "Decrements an integer value by a number.", build: buildIncrBy(true)},
		{name: "incrbyfloat", arity: 3, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1,
			summary: "Increments a floating point value.", build: buildIncrByFloat},
		{name: "getrange", arity: 4, flags: []string{"readonly"}, firstKey: 1, lastKey: 1,
			summary: "Returns a substring of a value.", build: buildGetRange},
		{name: "setrange", arity: 4, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: 1,
			summary: "Overwrites part of a value from an offset.", build: buildSetRange},
	}
}

// runGet is GET's fast path: one point read, no allocation of its own. On
// the inline (telnet) protocol a missing key is the error "key not found",
// as the line protocol of the Python prototypes replied.
func runGet(c *conn, args [][]byte) {
	kv, _, err := c.srv.svc.Get(c.ctx, args[1], c.readOpts())
	switch {
	case err != nil:
		c.replyErr(err)
	case kv == nil && c.cmd.Inline:
		c.w.Error(errInlineMissing)
	default:
		c.stringOrNull(kv)
	}
}

func buildGet(args [][]byte) plan {
	return plan{ops: []command.TxnOp{pointRead(args[1])}, reply: func(c *conn, res []command.TxnOpResult) {
		c.stringOrNull(firstKV(res[0].Range))
	}}
}

// stringOrNull is bulkOrNull for the string commands: a key holding a
// JSON document is WRONGTYPE, as in Redis.
func (c *conn) stringOrNull(kv *command.KeyValue) {
	if kv != nil && kv.Type != command.TypeBytes {
		c.w.Error(errWrongType)
		return
	}
	c.bulkOrNull(kv)
}

// runSet is SET's fast path: a plain SET is a Put built in the connection's
// reusable request (the service encodes it before returning, so the
// arguments need no copy). SET with options is a Mutate.
func runSet(c *conn, args [][]byte) {
	if len(args) > 3 {
		c.execPlan(buildSet(args))
		return
	}
	c.put = command.PutRequest{Key: args[1], Value: args[2]}
	r, err := c.srv.svc.Put(c.ctx, &c.put)
	c.put = command.PutRequest{}
	if err != nil {
		c.replyErr(err)
		return
	}
	c.wrote(r.Revision)
	c.ok()
}

type setOptions struct {
	nx, xx, get bool
	keepTTL     bool
	expireAt    int64 // Unix ms; 0 = none
	now         int64 // this node's clock when the command was parsed
}

// parseSetOptions reads SET's options. EX/PX are relative to this node's
// clock; the absolute expiry goes into the command (ttl.go).
func parseSetOptions(opts [][]byte) (setOptions, string) {
	var o setOptions
	ttl := false
	for i := 0; i < len(opts); i++ {
		a := opts[i]
		switch {
		case eqFold(a, "nx") && !o.xx:
			o.nx = true
		case eqFold(a, "xx") && !o.nx:
			o.xx = true
		case eqFold(a, "get"):
			o.get = true
		case eqFold(a, "keepttl") && !ttl:
			ttl, o.keepTTL = true, true
		case (eqFold(a, "ex") || eqFold(a, "px") || eqFold(a, "exat") || eqFold(a, "pxat")) && !ttl && i+1 < len(opts):
			i++
			n, ok := command.ParseInteger(opts[i])
			if !ok {
				return o, errNotInteger
			}
			o.now = nowMillis()
			at, ok := expireAt(a, n, o.now)
			if !ok || n <= 0 {
				return o, "ERR invalid expire time in 'set' command"
			}
			o.expireAt = at
			ttl = true
		default:
			return o, errSyntax
		}
	}
	return o, ""
}

func buildSet(args [][]byte) plan {
	o, msg := parseSetOptions(args[3:])
	if msg != "" {
		return errPlan(msg)
	}
	m := &command.MutateRequest{Op: command.MutateSet, Key: args[1], Value: args[2], NX: o.nx, XX: o.xx, PrevValue: o.get, KeepTTL: o.keepTTL}
	ops := []command.TxnOp{mutateOp(m)}
	if o.expireAt != 0 {
		ops = append(ops, expireIfWritten(args[1], o.expireAt, o.now))
	}
	return plan{ops: ops, reply: func(c *conn, res []command.TxnOpResult) {
		r := res[0].Mutate
		switch {
		case r.Err != "": // SET ... GET of a JSON document: WRONGTYPE
			c.w.Error(mutateErrorReply(r.Err))
		case o.get && r.Existed:
			c.w.Bulk(r.Prev)
		case o.get, !r.Written:
			c.w.Null()
		default:
			c.ok()
		}
	}}
}

func buildSetNX(args [][]byte) plan {
	m := &command.MutateRequest{Op: command.MutateSet, Key: args[1], Value: args[2], NX: true}
	return plan{ops: []command.TxnOp{mutateOp(m)}, reply: func(c *conn, res []command.TxnOpResult) {
		c.w.Int(b2i(res[0].Mutate.Written))
	}}
}

func buildGetSet(args [][]byte) plan {
	m := &command.MutateRequest{Op: command.MutateSet, Key: args[1], Value: args[2], PrevValue: true}
	return plan{ops: []command.TxnOp{mutateOp(m)}, reply: replyPrev}
}

func buildGetDel(args [][]byte) plan {
	m := &command.MutateRequest{Op: command.MutateDelete, Key: args[1], PrevValue: true}
	return plan{ops: []command.TxnOp{mutateOp(m)}, reply: replyPrev}
}

// replyPrev answers GETSET and GETDEL: the previous value, nil, or the
// error (WRONGTYPE for a JSON document, which is left alone).
func replyPrev(c *conn, res []command.TxnOpResult) {
	switch r := res[0].Mutate; {
	case r.Err != "":
		c.w.Error(mutateErrorReply(r.Err))
	case r.Existed:
		c.w.Bulk(r.Prev)
	default:
		c.w.Null()
	}
}

func buildMGet(args [][]byte) plan {
	ops := make([]command.TxnOp, len(args)-1)
	for i, k := range args[1:] {
		ops[i] = pointRead(k)
	}
	return plan{ops: ops, reply: func(c *conn, res []command.TxnOpResult) {
		c.w.ArrayLen(len(res))
		for i := range res {
			kv := firstKV(res[i].Range)
			if kv != nil && kv.Type != command.TypeBytes {
				kv = nil // MGET answers nil for keys that are not strings
			}
			c.bulkOrNull(kv)
		}
	}}
}

// buildMSet writes every pair in one revision. Mutate ops (not Puts) so a
// key may repeat, the last value winning, as in Redis.
func buildMSet(args [][]byte) plan {
	if len(args)%2 != 1 {
		return errPlan(errArity("mset"))
	}
	ops := make([]command.TxnOp, 0, len(args)/2)
	for i := 1; i < len(args); i += 2 {
		ops = append(ops, mutateOp(&command.MutateRequest{Op: command.MutateSet, Key: args[i], Value: args[i+1]}))
	}
	return plan{ops: ops, reply: func(c *conn, _ []command.TxnOpResult) { c.ok() }}
}

// runMSetNX is one txn: if no key exists, set them all. It is not
// available inside MULTI (a txn has one condition).
func runMSetNX(c *conn, args [][]byte) {
	if len(args)%2 != 1 {
		c.w.Error(errArity("msetnx"))
		return
	}
	t := &command.TxnRequest{}
	for i := 1; i < len(args); i += 2 {
		t.Compares = append(t.Compares, command.Compare{Key: args[i], Target: command.CompareExists, Result: command.CompareEqual, Int: 0})
		t.Success = append(t.Success, mutateOp(&command.MutateRequest{Op: command.MutateSet, Key: args[i], Value: args[i+1]}))
	}
	r, err := c.srv.svc.Txn(c.ctx, t)
	if err != nil {
		c.replyErr(err)
		return
	}
	c.wrote(r.Revision)
	c.w.Int(b2i(r.Txn.Succeeded))
}

// replyMutateInt writes a mutate's Int, or its error.
func replyMutateInt(c *conn, res []command.TxnOpResult) {
	r := res[0].Mutate
	if r.Err != "" {
		c.w.Error(mutateErrorReply(r.Err))
		return
	}
	c.w.Int(r.Int)
}

func buildAppend(args [][]byte) plan {
	m := &command.MutateRequest{Op: command.MutateAppend, Key: args[1], Value: args[2]}
	return plan{ops: []command.TxnOp{mutateOp(m)}, reply: replyMutateInt}
}

func buildStrlen(args [][]byte) plan {
	return plan{ops: []command.TxnOp{pointRead(args[1])}, reply: func(c *conn, res []command.TxnOpResult) {
		var n int
		if kv := firstKV(res[0].Range); kv != nil {
			if kv.Type != command.TypeBytes {
				c.w.Error(errWrongType)
				return
			}
			n = len(kv.Value)
		}
		c.w.Int(int64(n))
	}}
}

func incrPlan(key []byte, delta int64) plan {
	m := &command.MutateRequest{Op: command.MutateIncrBy, Key: key, Int: delta}
	return plan{ops: []command.TxnOp{mutateOp(m)}, reply: replyMutateInt}
}

func buildIncr(delta int64) func([][]byte) plan {
	return func(args [][]byte) plan { return incrPlan(args[1], delta) }
}

func buildIncrBy(decr bool) func([][]byte) plan {
	return func(args [][]byte) plan {
		n, ok := command.ParseInteger(args[2])
		if !ok {
			return errPlan(errNotInteger)
		}
		if decr {
			if n == math.MinInt64 {
				return errPlan("ERR decrement would overflow")
			}
			n = -n
		}
		return incrPlan(args[1], n)
	}
}

func buildIncrByFloat(args [][]byte) plan {
	f, ok := command.ParseFloat(args[2])
	if !ok {
		return errPlan(errNotFloat)
	}
	if math.IsInf(f, 0) {
		return errPlan(errNaNOrInf)
	}
	m := &command.MutateRequest{Op: command.MutateIncrByFloat, Key: args[1], Float: f, Value: args[2]}
	return plan{ops: []command.TxnOp{mutateOp(m)}, reply: func(c *conn, res []command.TxnOpResult) {
		r := res[0].Mutate
		if r.Err != "" {
			c.w.Error(mutateErrorReply(r.Err))
			return
		}
		c.w.Bulk(r.Value)
	}}
}

func buildGetRange(args [][]byte) plan {
	start, ok1 := command.ParseInteger(args[2])
	end, ok2 := command.ParseInteger(args[3])
	if !ok1 || !ok2 {
		return errPlan(errNotInteger)
	}
	return plan{ops: []command.TxnOp{pointRead(args[1])}, reply: func(c *conn, res []command.TxnOpResult) {
		var v []byte
		if kv := firstKV(res[0].Range); kv != nil {
			if kv.Type != command.TypeBytes {
				c.w.Error(errWrongType)
				return
			}
			v = kv.Value
		}
		c.w.Bulk(substr(v, start, end))
	}}
}

// substr is GETRANGE's slicing, as Redis 7 computes it: negative indexes
// count from the end, the range is clamped, an empty result is "".
func substr(v []byte, start, end int64) []byte {
	n := int64(len(v))
	if start < 0 && end < 0 && start > end {
		return nil
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if n == 0 || start > end {
		return nil
	}
	return v[start : end+1]
}

func buildSetRange(args [][]byte) plan {
	off, ok := command.ParseInteger(args[2])
	if !ok {
		return errPlan(errNotInteger)
	}
	if off < 0 {
		return errPlan(errOffsetRange)
	}
	if n := len(args[3]); n > 0 && (off > service.MaxValueSize || off+int64(n) > service.MaxValueSize) {
		return errPlan(errTooLarge)
	}
	m := &command.MutateRequest{Op: command.MutateSetRange, Key: args[1], Int: off, Value: args[3]}
	return plan{ops: []command.TxnOp{mutateOp(m)}, reply: replyMutateInt}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
