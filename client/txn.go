package client

import (
	"context"
	"fmt"
)

// Cmp is one condition of a txn: build it with Compare(Value(key), "=", v)
// and the like.
type Cmp struct {
	key    []byte
	end    []byte // UnchangedSince
	prefix bool   // UnchangedSince
	target string
	result string
	value  any
	err    error
}

// Value is the value of key, for Compare (a missing key's value is empty).
func Value(key []byte) Cmp { return Cmp{key: key, target: "value"} }

// Version is the version of key, for Compare (0 when missing).
func Version(key []byte) Cmp { return Cmp{key: key, target: "version"} }

// CreateRevision is the creation revision of key, for Compare (0 when missing).
func CreateRevision(key []byte) Cmp { return Cmp{key: key, target: "create_revision"} }

// ModRevision is the last-modified revision of key, for Compare (0 when missing).
func ModRevision(key []byte) Cmp { return Cmp{key: key, target: "mod_revision"} }

// Exists is whether key exists, for Compare with "=" or "!=" and a bool.
func Exists(key []byte) Cmp { return Cmp{key: key, target: "exists"} }

// UnchangedSince is the condition "no write of key since a revision", for
// Compare with "=" and the revision: it fails if key was put, deleted or
// expired after it, even if it ended as it was (created then deleted), or
// if the revision is below the compaction horizon. WithPrefix, WithRange
// and WithFromKey make it cover a range of keys, so a key created in it
// fails it too.
func UnchangedSince(key []byte, opts ...OpOption) Cmp {
	o := newOp(opts)
	return Cmp{key: key, target: "unchanged_since", end: o.end, prefix: o.prefix}
}

// Compare completes a condition: result is "=", "!=", "<" or ">", and v is
// a []byte or string for Value, an integer for Version, CreateRevision,
// ModRevision and UnchangedSince, and a bool for Exists. A bad combination
// is reported by Commit.
func Compare(cmp Cmp, result string, v any) Cmp {
	cmp.result = result
	switch result {
	case "=", "!=", "<", ">":
	default:
		cmp.err = fmt.Errorf("cairn: compare %s: unknown relation %q", cmp.target, result)
		return cmp
	}
	var ok bool
	switch cmp.target {
	case "value":
		switch x := v.(type) {
		case []byte:
			cmp.value, ok = b64(x), true
		case string:
			cmp.value, ok = b64([]byte(x)), true
		}
	case "exists":
		cmp.value, ok = v.(bool)
		if result != "=" && result != "!=" {
			cmp.err = fmt.Errorf("cairn: compare exists: only = and != apply")
			return cmp
		}
	case "unchanged_since":
		cmp.value, ok = toInt64(v)
		if result != "=" {
			cmp.err = fmt.Errorf("cairn: compare unchanged_since: only = applies")
			return cmp
		}
	default:
		cmp.value, ok = toInt64(v)
	}
	if !ok {
		cmp.err = fmt.Errorf("cairn: compare %s: unsupported operand %T", cmp.target, v)
	}
	return cmp
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case uint32:
		return int64(x), true
	}
	return 0, false
}

// Op is one operation of a txn branch.
type Op struct {
	put *putWire
	del *deleteWire
	get *rangeWire
}

// OpPut is a Put in a txn (WithPrevKV, WithLease apply).
func OpPut(key, value []byte, opts ...OpOption) Op {
	o := newOp(opts)
	return Op{put: &putWire{Key: key, Value: value, PrevKV: o.prevKV, Lease: o.lease}}
}

// OpGet is a Get in a txn, read at the txn's revision unless WithRevision
// (WithPrefix, WithRange, WithLimit, WithKeysOnly, WithCountOnly apply).
func OpGet(key []byte, opts ...OpOption) Op {
	o := newOp(opts)
	return Op{get: &rangeWire{Key: key, End: o.end, Prefix: o.prefix, Limit: o.limit,
		Revision: o.rev, KeysOnly: o.keysOnly, CountOnly: o.countOnly}}
}

// OpDelete is a Delete in a txn (WithPrefix, WithRange, WithPrevKV apply).
func OpDelete(key []byte, opts ...OpOption) Op {
	o := newOp(opts)
	return Op{del: &deleteWire{Key: key, End: o.end, Prefix: o.prefix, PrevKV: o.prevKV}}
}

// Txn is a transaction being built: If(compares).Then(ops).Else(ops).Commit().
// The whole txn is atomic and takes one revision.
type Txn struct {
	c         *Client
	ctx       context.Context
	cmps      []Cmp
	then, els []Op
}

// Txn starts a transaction.
func (c *Client) Txn(ctx context.Context) *Txn { return &Txn{c: c, ctx: ctx} }

// If adds conditions; all must hold for Then to run. Calls accumulate.
func (t *Txn) If(cmps ...Cmp) *Txn { t.cmps = append(t.cmps, cmps...); return t }

// Then adds operations run when every condition holds.
func (t *Txn) Then(ops ...Op) *Txn { t.then = append(t.then, ops...); return t }

// Else adds operations run when a condition fails.
func (t *Txn) Else(ops ...Op) *Txn { t.els = append(t.els, ops...); return t }

// TxnResponse is the result of a txn.
type TxnResponse struct {
	Revision  int64         `json:"revision"`
	Succeeded bool          `json:"succeeded"` // the conditions held and Then ran
	Responses []*OpResponse `json:"responses"` // one per op of the branch that ran
}

// OpResponse is the result of one txn op; the field matching the op is set.
// Their Revision fields are the txn's revision.
type OpResponse struct {
	Put    *PutResponse    `json:"put,omitempty"`
	Delete *DeleteResponse `json:"delete,omitempty"`
	Get    *GetResponse    `json:"range,omitempty"`
}

type cmpWire struct {
	Key    []byte `json:"key"`
	End    []byte `json:"end,omitempty"`
	Prefix bool   `json:"prefix,omitempty"`
	Target string `json:"target"`
	Result string `json:"result"`
	Value  any    `json:"value"`
}

type opWire struct {
	Put    *putWire    `json:"put,omitempty"`
	Delete *deleteWire `json:"delete,omitempty"`
	Range  *rangeWire  `json:"range,omitempty"`
}

type txnWire struct {
	Compare  []cmpWire `json:"compare,omitempty"`
	Success  []opWire  `json:"success,omitempty"`
	Failure  []opWire  `json:"failure,omitempty"`
	Encoding string    `json:"encoding"`
}

// Commit sends the txn. A txn without writes is a read and is retried like
// Get; one with writes is a write.
func (t *Txn) Commit() (*TxnResponse, error) {
	w := txnWire{Encoding: "base64"}
	for _, c := range t.cmps {
		if c.err != nil {
			return nil, c.err
		}
		if c.result == "" {
			return nil, fmt.Errorf("cairn: compare %s: use Compare to set the relation", c.target)
		}
		w.Compare = append(w.Compare, cmpWire{Key: c.key, End: c.end, Prefix: c.prefix, Target: c.target, Result: c.result, Value: c.value})
	}
	safe := true
	branch := func(ops []Op) []opWire {
		var out []opWire
		for _, o := range ops {
			safe = safe && o.put == nil && o.del == nil
			out = append(out, opWire{Put: o.put, Delete: o.del, Range: o.get})
		}
		return out
	}
	w.Success, w.Failure = branch(t.then), branch(t.els)
	var resp TxnResponse
	if err := t.c.do(t.ctx, call{method: "POST", path: "/v1/kv/txn", body: w, out: &resp, safe: safe}); err != nil {
		return nil, err
	}
	for _, r := range resp.Responses {
		switch {
		case r.Put != nil:
			r.Put.Revision = resp.Revision
		case r.Delete != nil:
			r.Delete.Revision = resp.Revision
		case r.Get != nil:
			r.Get.Revision = resp.Revision
		}
	}
	return &resp, nil
}
