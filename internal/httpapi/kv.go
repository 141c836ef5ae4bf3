package httpapi

import (
	"io"
	"net/http"
	"strings"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
)

// Request bodies. Every byte field is a string in the request's encoding.

type putOp struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	PrevKV bool   `json:"prev_kv"`
	Lease  int64  `json:"lease"`
}

type deleteOp struct {
	Key    string `json:"key"`
	End    string `json:"end"`
	Prefix bool   `json:"prefix"`
	PrevKV bool   `json:"prev_kv"`
}

type rangeOp struct {
	Key       string `json:"key"`
	End       string `json:"end"`
	Prefix    bool   `json:"prefix"`
	Limit     int64  `json:"limit"`
	Revision  int64  `json:"revision"`
	KeysOnly  bool   `json:"keys_only"`
	CountOnly bool   `json:"count_only"`
}

type putBody struct {
	putOp
	Encoding string `json:"encoding"`
}

// Response bodies. The top-level ones embed an op result after the
// revision and encoding.

type putResultJSON struct {
	PrevKV *kvJSON `json:"prev_kv,omitempty"`
}

type deleteResultJSON struct {
	Deleted int64     `json:"deleted"`
	PrevKVs []*kvJSON `json:"prev_kvs,omitempty"`
}

type rangeResultJSON struct {
	KVs     []*kvJSON `json:"kvs"`
	More    bool      `json:"more"`
	Count   int64     `json:"count"`
	NextKey *string   `json:"next_key,omitempty"` // when more: where the next page starts
}

type header struct {
	Revision int64  `json:"revision"`
	Encoding string `json:"encoding"`
}

func (c codec) putResult(r *command.PutResult) *putResultJSON {
	if r == nil {
		return &putResultJSON{}
	}
	return &putResultJSON{PrevKV: c.kv(r.PrevKV, false)}
}

func (c codec) deleteResult(r *command.DeleteResult) *deleteResultJSON {
	if r == nil {
		return &deleteResultJSON{}
	}
	j := &deleteResultJSON{Deleted: r.Deleted}
	if len(r.PrevKVs) > 0 {
		j.PrevKVs = c.kvs(r.PrevKVs, false)
	}
	return j
}

func (c codec) rangeResult(r *command.RangeResult, keysOnly bool) *rangeResultJSON {
	if r == nil {
		return &rangeResultJSON{KVs: []*kvJSON{}}
	}
	j := &rangeResultJSON{KVs: c.kvs(r.KVs, keysOnly), More: r.More, Count: r.Count}
	if r.More && len(r.KVs) > 0 {
		s := c.encode(nextKey(r.KVs[len(r.KVs)-1].Key))
		j.NextKey = &s
	}
	return j
}

// GET /v1/kv
func (a *api) getKV(r *http.Request) (response, error) {
	q, err := parseQuery(r, "key", "end", "prefix", "limit", "revision", "consistency",
		"min_revision", "keys_only", "count_only", "encoding")
	if err != nil {
		return response{}, err
	}
	c, err := parseEncoding(q.str("encoding"))
	if err != nil {
		return response{}, err
	}
	req := &command.RangeRequest{
		Limit:     q.int("limit"),
		Revision:  q.int("revision"),
		KeysOnly:  q.bool("keys_only"),
		CountOnly: q.bool("count_only"),
	}
	opts := service.ReadOptions{MinRevision: q.int("min_revision")}
	switch cons := q.str("consistency"); cons {
	case "", "linearizable":
	case "stale":
		opts.Consistency = service.Stale
	default:
		return response{}, badRequest("unknown consistency %q (want linearizable or stale)", cons)
	}
	prefix := q.bool("prefix")
	if q.err != nil {
		return response{}, q.err
	}
	if req.Key, req.End, err = keyRange(c, q.str("key"), q.str("end"), prefix); err != nil {
		return response{}, err
	}
	res, rev, err := a.svc.Range(r.Context(), req, opts)
	if err != nil {
		return response{rev: rev}, err
	}
	if len(req.End) == 0 && res.Count == 0 && len(res.KVs) == 0 {
		return response{rev: rev}, errKeyNotFound
	}
	var next []byte
	if res.More && len(res.KVs) > 0 {
		next = nextKey(res.KVs[len(res.KVs)-1].Key)
	}
	rc := responseCodec(c, res.KVs, next)
	return response{rev: rev, body: struct {
		header
		*rangeResultJSON
	}{header{rev, rc.String()}, rc.rangeResult(res, req.KeysOnly)}}, nil
}

// PUT /v1/kv
func (a *api) putKV(r *http.Request) (response, error) {
	var b putBody
	if err := decodeBody(r, &b); err != nil {
		return response{}, err
	}
	c, err := parseEncoding(b.Encoding)
	if err != nil {
		return response{}, err
	}
	req, err := c.putRequest(&b.putOp)
	if err != nil {
		return response{}, err
	}
	return a.put(r, c, req)
}

// PUT /v1/kv/{key...}: the raw body is the value and the rest of the
// (unescaped, uncleaned) path is the key.
func (a *api) putRaw(r *http.Request) (response, error) {
	q, err := parseQuery(r, "prev_kv", "lease", "encoding")
	if err != nil {
		return response{}, err
	}
	c, err := parseEncoding(q.str("encoding"))
	if err != nil {
		return response{}, err
	}
	req := &command.PutRequest{PrevKV: q.bool("prev_kv"), Lease: q.int("lease")}
	if q.err != nil {
		return response{}, q.err
	}
	if req.Key, err = c.decode("key", strings.TrimPrefix(r.URL.Path, rawKeyPrefix)); err != nil {
		return response{}, err
	}
	if req.Value, err = io.ReadAll(r.Body); err != nil {
		return response{}, err
	}
	return a.put(r, c, req)
}

func (a *api) put(r *http.Request, c codec, req *command.PutRequest) (response, error) {
	res, err := a.svc.Put(r.Context(), req)
	if err == nil {
		err = resultError(res)
	}
	if err != nil {
		return response{}, err
	}
	var prev []*command.KeyValue
	if res.Put != nil && res.Put.PrevKV != nil {
		prev = append(prev, res.Put.PrevKV)
	}
	rc := responseCodec(c, prev)
	return response{rev: res.Revision, body: struct {
		header
		*putResultJSON
	}{header{res.Revision, rc.String()}, rc.putResult(res.Put)}}, nil
}

// DELETE /v1/kv
func (a *api) deleteKV(r *http.Request) (response, error) {
	q, err := parseQuery(r, "key", "end", "prefix", "prev_kv", "encoding")
	if err != nil {
		return response{}, err
	}
	c, err := parseEncoding(q.str("encoding"))
	if err != nil {
		return response{}, err
	}
	op := deleteOp{Key: q.str("key"), End: q.str("end"), Prefix: q.bool("prefix"), PrevKV: q.bool("prev_kv")}
	if q.err != nil {
		return response{}, q.err
	}
	req, err := c.deleteRequest(&op)
	if err != nil {
		return response{}, err
	}
	res, err := a.svc.Delete(r.Context(), req)
	if err == nil {
		err = resultError(res)
	}
	if err != nil {
		return response{}, err
	}
	var prev []*command.KeyValue
	if res.Delete != nil {
		prev = res.Delete.PrevKVs
	}
	rc := responseCodec(c, prev)
	return response{rev: res.Revision, body: struct {
		header
		*deleteResultJSON
	}{header{res.Revision, rc.String()}, rc.deleteResult(res.Delete)}}, nil
}

func (c codec) putRequest(op *putOp) (*command.PutRequest, error) {
	key, err := c.decode("key", op.Key)
	if err != nil {
		return nil, err
	}
	value, err := c.decode("value", op.Value)
	if err != nil {
		return nil, err
	}
	if op.Lease < 0 {
		return nil, badRequest("lease must not be negative")
	}
	return &command.PutRequest{Key: key, Value: value, PrevKV: op.PrevKV, Lease: op.Lease}, nil
}

func (c codec) deleteRequest(op *deleteOp) (*command.DeleteRequest, error) {
	key, end, err := keyRange(c, op.Key, op.End, op.Prefix)
	if err != nil {
		return nil, err
	}
	return &command.DeleteRequest{Key: key, End: end, PrevKV: op.PrevKV}, nil
}

func (c codec) rangeRequest(op *rangeOp) (*command.RangeRequest, error) {
	key, end, err := keyRange(c, op.Key, op.End, op.Prefix)
	if err != nil {
		return nil, err
	}
	if op.Limit < 0 || op.Revision < 0 {
		return nil, badRequest("limit and revision must not be negative")
	}
	return &command.RangeRequest{Key: key, End: end, Limit: op.Limit, Revision: op.Revision,
		KeysOnly: op.KeysOnly, CountOnly: op.CountOnly}, nil
}
