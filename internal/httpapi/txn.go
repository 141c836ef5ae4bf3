package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/cairndb/cairn/internal/command"
)

// The raw value of a compare is a string for target "value", an integer
// for the revision and version targets and for "unchanged_since" (the
// revision), and a boolean for "exists". End and Prefix make an
// "unchanged_since" compare cover a range, as for a range read.
type compareJSON struct {
	Key    string          `json:"key"`
	Target string          `json:"target"`
	Result string          `json:"result"`
	Value  json.RawMessage `json:"value"`
	End    string          `json:"end"`
	Prefix bool            `json:"prefix"`
}

type txnOpJSON struct {
	Put    *putOp    `json:"put,omitempty"`
	Delete *deleteOp `json:"delete,omitempty"`
	Range  *rangeOp  `json:"range,omitempty"`
}

type txnBody struct {
	Compare  []compareJSON `json:"compare"`
	Success  []txnOpJSON   `json:"success"`
	Failure  []txnOpJSON   `json:"failure"`
	Encoding string        `json:"encoding"`
}

type txnOpResultJSON struct {
	Put    *putResultJSON    `json:"put,omitempty"`
	Delete *deleteResultJSON `json:"delete,omitempty"`
	Range  *rangeResultJSON  `json:"range,omitempty"`
}

var compareTargets = map[string]command.CompareTarget{
	"value":           command.CompareValue,
	"version":         command.CompareVersion,
	"create_revision": command.CompareCreateRevision,
	"mod_revision":    command.CompareModRevision,
	"exists":          command.CompareExists,
	"unchanged_since": command.CompareUnchangedSince,
}

var compareResults = map[string]command.CompareResult{
	"=":  command.CompareEqual,
	"!=": command.CompareNotEqual,
	"<":  command.CompareLess,
	">":  command.CompareGreater,
}

// POST /v1/kv/txn
func (a *api) txn(r *http.Request) (response, error) {
	var b txnBody
	if err := decodeBody(r, &b); err != nil {
		return response{}, err
	}
	c, err := parseEncoding(b.Encoding)
	if err != nil {
		return response{}, err
	}
	req := &command.TxnRequest{}
	for i := range b.Compare {
		cmp, err := c.compare(&b.Compare[i])
		if err != nil {
			return response{}, err
		}
		req.Compares = append(req.Compares, cmp)
	}
	if req.Success, err = c.txnOps(b.Success); err != nil {
		return response{}, err
	}
	if req.Failure, err = c.txnOps(b.Failure); err != nil {
		return response{}, err
	}
	res, err := a.svc.Txn(r.Context(), req)
	if err == nil {
		err = resultError(res)
	}
	if err != nil {
		return response{}, err
	}
	tr := res.Txn
	if tr == nil {
		tr = &command.TxnResult{}
	}
	ops := req.Failure
	if tr.Succeeded {
		ops = req.Success
	}
	rc := responseCodec(c, txnKVs(tr), txnNextKeys(tr)...)
	out := make([]txnOpResultJSON, 0, len(tr.Results))
	for i, or := range tr.Results {
		keysOnly := i < len(ops) && ops[i].Range != nil && ops[i].Range.KeysOnly
		var j txnOpResultJSON
		switch {
		case or.Put != nil:
			j.Put = rc.putResult(or.Put)
		case or.Delete != nil:
			j.Delete = rc.deleteResult(or.Delete)
		case or.Range != nil:
			j.Range = rc.rangeResult(or.Range, keysOnly)
		}
		out = append(out, j)
	}
	return response{rev: res.Revision, body: struct {
		header
		Succeeded bool              `json:"succeeded"`
		Responses []txnOpResultJSON `json:"responses"`
	}{header{res.Revision, rc.String()}, tr.Succeeded, out}}, nil
}

func (c codec) compare(j *compareJSON) (command.Compare, error) {
	cmp := command.Compare{Target: compareTargets[j.Target], Result: compareResults[j.Result]}
	if cmp.Target == 0 {
		return cmp, badRequest("unknown compare target %q (want value, version, create_revision, mod_revision, exists or unchanged_since)", j.Target)
	}
	if cmp.Result == 0 {
		return cmp, badRequest("unknown compare result %q (want =, !=, < or >)", j.Result)
	}
	var err error
	if cmp.Target == command.CompareUnchangedSince {
		if cmp.Key, cmp.Value, err = keyRange(c, j.Key, j.End, j.Prefix); err != nil {
			return cmp, err
		}
	} else if j.End != "" || j.Prefix {
		return cmp, badRequest("compare: end and prefix apply to target unchanged_since only")
	} else if cmp.Key, err = c.decode("compare key", j.Key); err != nil {
		return cmp, err
	}
	if len(j.Value) == 0 {
		j.Value = json.RawMessage("null")
	}
	switch cmp.Target {
	case command.CompareValue:
		var s *string
		if json.Unmarshal(j.Value, &s) != nil || s == nil {
			return cmp, badRequest("compare value: want a string for target value")
		}
		cmp.Value, err = c.decode("compare value", *s)
		if cmp.Value == nil {
			cmp.Value = []byte{}
		}
	case command.CompareExists:
		var b *bool
		if json.Unmarshal(j.Value, &b) != nil || b == nil {
			return cmp, badRequest("compare value: want true or false for target exists")
		}
		if cmp.Result != command.CompareEqual && cmp.Result != command.CompareNotEqual {
			return cmp, badRequest("compare result: target exists allows only = and !=")
		}
		if *b {
			cmp.Int = 1
		}
	default:
		var n *int64
		if json.Unmarshal(j.Value, &n) != nil || n == nil {
			return cmp, badRequest("compare value: want an integer for target %s", j.Target)
		}
		cmp.Int = *n
		if cmp.Target == command.CompareUnchangedSince && len(cmp.Key) > 0 && !command.ValidCompare(&cmp) {
			return cmp, badRequest("compare unchanged_since: want result =, a revision >= 0 and a non-empty range")
		}
	}
	return cmp, err
}

func (c codec) txnOps(js []txnOpJSON) ([]command.TxnOp, error) {
	var ops []command.TxnOp
	for i := range js {
		j := &js[i]
		var op command.TxnOp
		var err error
		n := 0
		if j.Put != nil {
			n++
			op.Put, err = c.putRequest(j.Put)
		}
		if j.Delete != nil && err == nil {
			n++
			op.Delete, err = c.deleteRequest(j.Delete)
		}
		if j.Range != nil && err == nil {
			n++
			op.Range, err = c.rangeRequest(j.Range)
		}
		if err != nil {
			return nil, err
		}
		if n != 1 {
			return nil, badRequest("txn op %d: want exactly one of put, delete, range", i)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// txnKVs lists every key-value in a txn result, to choose its encoding.
func txnKVs(tr *command.TxnResult) []*command.KeyValue {
	var kvs []*command.KeyValue
	for _, r := range tr.Results {
		switch {
		case r.Put != nil && r.Put.PrevKV != nil:
			kvs = append(kvs, r.Put.PrevKV)
		case r.Delete != nil:
			kvs = append(kvs, r.Delete.PrevKVs...)
		case r.Range != nil:
			kvs = append(kvs, r.Range.KVs...)
		}
	}
	return kvs
}

func txnNextKeys(tr *command.TxnResult) [][]byte {
	var keys [][]byte
	for _, r := range tr.Results {
		if r.Range != nil && r.Range.More && len(r.Range.KVs) > 0 {
			keys = append(keys, nextKey(r.Range.KVs[len(r.Range.KVs)-1].Key))
		}
	}
	return keys
}
