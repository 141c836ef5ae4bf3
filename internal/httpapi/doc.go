package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/document"
	"github.com/cairndb/cairn/internal/service"
)

// JSON documents under /v1/doc/{key} (docs/DOCUMENTS.md):
//
//	GET    ?path=P                   the value at P (legacy/Pointer/Python: the value; $...: every match)
//	PUT    ?path=P[&nx=1|&xx=1]      body: a JSON value, set at P
//	PATCH  ?path=P                   body: an RFC 7386 merge patch, merged at P
//	DELETE ?path=P                   delete at P (the root: the key)
//	POST                             body: {"op":..., "path":..., "values":[...], "index":n, "stop":n}
//	                                 any other operation (arrappend, numincrby, type, arrlen ...)
//
// The path is in any spelling package document accepts; it defaults to the
// root. Successful responses carry {"revision":n, "result":<reply>} (GET:
// "value"); a failed operation is an error whose code is the document
// code (doc_no_path, doc_wrong_type ...): 404 for a missing path,
// key_not_found for a missing key, 409 wrong_type for a key that is not a
// document (docs/DOCUMENTS.md#errors).

type docResponse struct {
	Revision int64           `json:"revision"`
	Written  *bool           `json:"written,omitempty"`
	Value    json.RawMessage `json:"value,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
}

type docOpBody struct {
	Op          string            `json:"op"`
	Path        string            `json:"path"`
	Values      []json.RawMessage `json:"values"`
	Index       *int64            `json:"index"`
	Stop        int64             `json:"stop"`
	NX          bool              `json:"nx"`
	XX          bool              `json:"xx"`
	Consistency string            `json:"consistency"`
}

// docOps names the operations of POST (the RedisJSON command names).
var docOps = map[string]document.OpKind{
	"set": document.OpSet, "del": document.OpDel, "arrappend": document.OpArrAppend,
	"arrinsert": document.OpArrInsert, "arrpop": document.OpArrPop, "arrtrim": document.OpArrTrim,
	"numincrby": document.OpNumIncrBy, "nummultby": document.OpNumMultBy, "strappend": document.OpStrAppend,
	"merge": document.OpMerge, "clear": document.OpClear, "toggle": document.OpToggle,
	"get": document.OpGet, "type": document.OpType, "arrlen": document.OpArrLen, "arrindex": document.OpArrIndex,
	"strlen": document.OpStrLen, "objkeys": document.OpObjKeys, "objlen": document.OpObjLen,
}

var errNotDocument = &apiError{Status: http.StatusConflict, Code: "wrong_type", Message: "the key holds a value that is not a JSON document"}

// docError translates a document error (from a read evaluated here or a
// write's result).
func docError(code, msg string) error {
	if code == command.ErrCodeWrongType {
		return errNotDocument
	}
	status := http.StatusBadRequest
	switch document.Code(code) {
	case document.CodeNoPath:
		status = http.StatusNotFound
	case document.CodeNoSuchKey:
		return &apiError{Status: http.StatusNotFound, Code: "key_not_found", Message: msg}
	case document.CodeTooLarge:
		status = http.StatusRequestEntityTooLarge
	}
	return &apiError{Status: status, Code: code, Message: msg}
}

func docKey(r *http.Request) ([]byte, error) {
	k := r.PathValue("key")
	if k == "" {
		return nil, service.ErrKeyEmpty
	}
	return []byte(k), nil
}

func readConsistency(s string) (service.ReadOptions, error) {
	switch s {
	case "", "linearizable":
		return service.ReadOptions{}, nil
	case "stale":
		return service.ReadOptions{Consistency: service.Stale}, nil
	}
	return service.ReadOptions{}, badRequest("unknown consistency %q (want linearizable or stale)", s)
}

// readDoc reads and parses the document at key.
func (a *api) readDoc(r *http.Request, key []byte, o service.ReadOptions) (*document.Value, int64, error) {
	res, rev, err := a.svc.Range(r.Context(), &command.RangeRequest{Key: key}, o)
	if err != nil {
		return nil, rev, err
	}
	if len(res.KVs) == 0 {
		return nil, rev, errKeyNotFound
	}
	kv := res.KVs[0]
	if kv.Type != command.TypeDocument {
		return nil, rev, errNotDocument
	}
	doc, err := document.Parse(kv.Value)
	if err != nil {
		return nil, rev, err
	}
	return doc, rev, nil
}

// evalRead runs a read op on the stored document.
func (a *api) evalRead(r *http.Request, key []byte, op *document.Op, o service.ReadOptions) (document.Reply, int64, error) {
	doc, rev, err := a.readDoc(r, key, o)
	if err != nil {
		return document.Reply{}, rev, err
	}
	_, rep, _, err := document.Apply(doc, op)
	if err != nil {
		return rep, rev, docError(string(document.CodeOf(err)), err.Error())
	}
	return rep, rev, nil
}

// GET /v1/doc/{key}?path=...
func (a *api) getDoc(r *http.Request) (response, error) {
	key, err := docKey(r)
	if err != nil {
		return response{}, err
	}
	q, err := parseQuery(r, "path", "consistency")
	if err != nil {
		return response{}, err
	}
	o, err := readConsistency(q.str("consistency"))
	if err != nil {
		return response{}, err
	}
	p, err := document.ParsePath(q.str("path"))
	if err != nil {
		return response{}, docError(string(document.CodeBadPath), err.Error())
	}
	doc, rev, err := a.readDoc(r, key, o)
	if err != nil {
		return response{rev: rev}, err
	}
	found, err := p.Find(doc)
	if err != nil {
		return response{rev: rev}, docError(string(document.CodeOf(err)), err.Error())
	}
	var v *document.Value
	if p.Multi {
		v = document.NewArray(found...)
	} else if len(found) == 0 {
		return response{rev: rev}, docError(string(document.CodeNoPath), "Path '"+p.Text+"' does not exist")
	} else {
		v = found[0]
	}
	return response{rev: rev, body: docResponse{Revision: rev, Value: v.AppendJSON(nil)}}, nil
}

// readBody returns the raw request body (a JSON value).
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, err
		}
		return nil, badRequest("reading request body: %v", err)
	}
	return b, nil
}

// write proposes a document write and shapes its reply.
func (a *api) docWrite(r *http.Request, m *command.DocRequest) (response, error) {
	res, err := a.svc.Doc(r.Context(), m)
	if res != nil && res.Doc != nil && res.Doc.Err != "" {
		return response{rev: res.Revision}, docError(res.Doc.Err, res.Doc.Msg)
	}
	if err != nil {
		rev := int64(0)
		if res != nil {
			rev = res.Revision
		}
		return response{rev: rev}, err
	}
	if res.Doc == nil {
		return response{rev: res.Revision}, errors.New("httpapi: document write returned no result")
	}
	rep, err := document.DecodeReply(res.Doc.Reply)
	if err != nil {
		return response{rev: res.Revision}, err
	}
	written := res.Doc.Written
	return response{rev: res.Revision, body: docResponse{Revision: res.Revision, Written: &written,
		Result: rep.ToValue().AppendJSON(nil)}}, nil
}

// PUT /v1/doc/{key}?path=...&nx=&xx=
func (a *api) putDoc(r *http.Request) (response, error) {
	key, err := docKey(r)
	if err != nil {
		return response{}, err
	}
	q, err := parseQuery(r, "path", "nx", "xx")
	if err != nil {
		return response{}, err
	}
	m := &command.DocRequest{Op: command.DocSet, Key: key, Path: []byte(q.str("path")), NX: q.bool("nx"), XX: q.bool("xx")}
	if q.err != nil {
		return response{}, q.err
	}
	if m.NX && m.XX {
		return response{}, invalid("nx and xx together")
	}
	body, err := readBody(r)
	if err != nil {
		return response{}, err
	}
	m.Values = [][]byte{body}
	return a.docWrite(r, m)
}

// PATCH /v1/doc/{key}?path=...
func (a *api) patchDoc(r *http.Request) (response, error) {
	key, err := docKey(r)
	if err != nil {
		return response{}, err
	}
	q, err := parseQuery(r, "path")
	if err != nil {
		return response{}, err
	}
	body, err := readBody(r)
	if err != nil {
		return response{}, err
	}
	return a.docWrite(r, &command.DocRequest{Op: command.DocMerge, Key: key, Path: []byte(q.str("path")), Values: [][]byte{body}})
}

// DELETE /v1/doc/{key}?path=...
func (a *api) deleteDoc(r *http.Request) (response, error) {
	key, err := docKey(r)
	if err != nil {
		return response{}, err
	}
	q, err := parseQuery(r, "path")
	if err != nil {
		return response{}, err
	}
	return a.docWrite(r, &command.DocRequest{Op: command.DocDel, Key: key, Path: []byte(q.str("path"))})
}

// POST /v1/doc/{key}
func (a *api) postDoc(r *http.Request) (response, error) {
	key, err := docKey(r)
	if err != nil {
		return response{}, err
	}
	var b docOpBody
	if err := decodeBody(r, &b); err != nil {
		return response{}, err
	}
	kind, ok := docOps[b.Op]
	if !ok {
		return response{}, invalid("unknown document op %q", b.Op)
	}
	values := make([][]byte, len(b.Values))
	for i, v := range b.Values {
		values[i] = v
	}
	index := int64(0)
	if b.Index != nil {
		index = *b.Index
	} else if kind == document.OpArrPop {
		index = -1
	}
	if kind.IsWrite() {
		return a.docWrite(r, &command.DocRequest{Op: command.DocOp(kind), Key: key, Path: []byte(b.Path),
			Values: values, Index: index, Stop: b.Stop, NX: b.NX, XX: b.XX})
	}
	o, err := readConsistency(b.Consistency)
	if err != nil {
		return response{}, err
	}
	p, err := document.ParsePath(b.Path)
	if err != nil {
		return response{}, docError(string(document.CodeBadPath), err.Error())
	}
	op := &document.Op{Kind: kind, Path: p, Index: index, Stop: b.Stop}
	for _, v := range values {
		pv, err := document.Parse(v)
		if err != nil {
			return response{}, docError(string(document.CodeOf(err)), err.Error())
		}
		op.Values = append(op.Values, pv)
	}
	rep, rev, err := a.evalRead(r, key, op, o)
	if err != nil {
		return response{rev: rev}, err
	}
	out := rep.ToValue()
	if kind == document.OpGet && rep.Kind == document.ReplyBulk {
		if v, err := document.ParseString(rep.Str); err == nil {
			out = v // GET's reply is JSON text; send it as JSON
		}
	}
	return response{rev: rev, body: docResponse{Revision: rev, Result: out.AppendJSON(nil)}}, nil
}
