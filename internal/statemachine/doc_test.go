package statemachine

import (
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/document"
)

func docReq(op command.DocOp, key, path string, values ...string) *command.Request {
	m := &command.DocRequest{Op: op, Key: []byte(key), Path: []byte(path)}
	for _, v := range values {
		m.Values = append(m.Values, []byte(v))
	}
	return &command.Request{Doc: m}
}

func (e *env) one(r *command.Request) *command.Result {
	e.t.Helper()
	rs := e.apply(e.entry(r))
	if len(rs) != 1 {
		e.t.Fatalf("%d results", len(rs))
	}
	return rs[0]
}

func (e *env) get(key string) *command.KeyValue {
	e.t.Helper()
	kv, _, err := e.sm.Get([]byte(key), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return kv
}

func replyText(t *testing.T, r *command.DocResult) string {
	t.Helper()
	rep, err := document.DecodeReply(r.Reply)
	if err != nil {
		t.Fatal(err)
	}
	return rep.ToValue().String()
}

func TestDocApply(t *testing.T) {
	e := newEnv(t)
	r := e.one(docReq(command.DocSet, "d", "$", `{"n":1, "a":[]}`))
	if r.Err != "" || !r.Doc.Written || r.Revision != 1 {
		t.Fatalf("set: %+v %+v", r, r.Doc)
	}
	kv := e.get("d")
	if kv.Type != command.TypeDocument || string(kv.Value) != `{"n":1,"a":[]}` {
		t.Fatalf("stored %v %q", kv.Type, kv.Value)
	}

	r = e.one(docReq(command.DocNumIncrBy, "d", "$.n", "41"))
	if got := replyText(t, r.Doc); got != "[42]" || r.Revision != 2 {
		t.Fatalf("incr reply %s rev %d", got, r.Revision)
	}

	// Errors are data: nothing written, the revision unchanged.
	for _, c := range []struct {
		req  *command.Request
		code string
	}{
		{docReq(command.DocSet, "d", "$.[", "1"), string(document.CodeBadPath)},
		{docReq(command.DocSet, "d", "$.x", "{"), string(document.CodeSyntax)},
		{docReq(command.DocArrAppend, "d", ".n", "1"), string(document.CodeWrongType)},
		{docReq(command.DocSet, "d", ".x.y", "1"), string(document.CodeNoPath)},
		{docReq(command.DocSet, "new", ".x", "1"), string(document.CodeNewAtRoot)},
		{docReq(command.DocStrAppend, "d", "$.s", `"`+strings.Repeat("x", document.MaxSize)+`"`), string(document.CodeTooLarge)},
		{&command.Request{Doc: &command.DocRequest{Op: command.DocSet, Path: []byte("$")}}, command.ErrCodeInvalid},
	} {
		r := e.one(c.req)
		if r.Err != c.code || r.Revision != 2 {
			t.Errorf("%+v: err %q rev %d, want %q", c.req.Doc, r.Err, r.Revision, c.code)
		}
	}

	// Several doc ops on one key in one txn apply in order, one revision.
	r = e.one(&command.Request{Txn: &command.TxnRequest{Success: []command.TxnOp{
		{Doc: docReq(command.DocNumIncrBy, "d", ".n", "1").Doc},
		{Doc: docReq(command.DocArrAppend, "d", "$.a", "1", "2").Doc},
		{Doc: docReq(command.DocNumIncrBy, "d", ".n", "1").Doc},
		{Range: &command.RangeRequest{Key: []byte("d")}},
	}}})
	if r.Err != "" || r.Revision != 3 {
		t.Fatalf("txn: %+v", r)
	}
	if got := string(r.Txn.Results[3].Range.KVs[0].Value); got != `{"n":44,"a":[1,2]}` {
		t.Fatalf("txn read %s", got)
	}
	if kv := e.get("d"); kv.Version != 5 {
		t.Fatalf("version %d after 4 writes, want 5", kv.Version)
	}

	// String commands on a document are WRONGTYPE; RENAME keeps the type.
	r = e.one(&command.Request{Mutate: &command.MutateRequest{Op: command.MutateIncrBy, Key: []byte("d"), Int: 1}})
	if r.Err != command.ErrCodeWrongType {
		t.Fatalf("incr of a document: %q", r.Err)
	}
	r = e.one(&command.Request{Mutate: &command.MutateRequest{Op: command.MutateRename, Key: []byte("d"), Dest: []byte("d2")}})
	if r.Err != "" || e.get("d2").Type != command.TypeDocument {
		t.Fatalf("rename: %q %+v", r.Err, e.get("d2"))
	}

	// A plain put overwrites a document with bytes; doc ops then refuse it.
	e.one(&command.Request{Put: &command.PutRequest{Key: []byte("d2"), Value: []byte("plain")}})
	if kv := e.get("d2"); kv.Type != command.TypeBytes {
		t.Fatalf("put kept type %v", kv.Type)
	}
	if r = e.one(docReq(command.DocSet, "d2", "$", "1")); r.Err != command.ErrCodeWrongType {
		t.Fatalf("doc op on bytes: %q", r.Err)
	}

	// Deleting the root deletes the key.
	r = e.one(docReq(command.DocDel, "d2", "$"))
	if r.Err != command.ErrCodeWrongType {
		t.Fatalf("del of bytes: %q", r.Err)
	}
	e.one(docReq(command.DocSet, "d3", ".", `[1]`))
	r = e.one(docReq(command.DocDel, "d3", "."))
	if r.Err != "" || e.get("d3") != nil {
		t.Fatalf("del root: %q %+v", r.Err, e.get("d3"))
	}
}
