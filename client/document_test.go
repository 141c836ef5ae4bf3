package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/cairndb/cairn/client"
)

func TestDocuments(t *testing.T) {
	n := newNode(t)
	c := newClient(t, n.srv.URL)
	ctx := context.Background()
	key := "user/1 é" // escaped into the URL path

	if r, err := c.DocSet(ctx, key, "", json.RawMessage(`{"name":"ann","tags":[]}`), false, false); err != nil || !r.Written {
		t.Fatalf("set: %+v %v", r, err)
	}
	if r, err := c.DocSet(ctx, key, "$.name", json.RawMessage(`"x"`), true, false); err != nil || r.Written {
		t.Fatalf("set nx of an existing path: %+v %v", r, err)
	}
	r, err := c.Doc(ctx, key, client.DocOp{Op: "arrappend", Path: "$.tags", Values: []json.RawMessage{[]byte(`1`), []byte(`2`)}})
	if err != nil || string(r.Result) != "[2]" {
		t.Fatalf("arrappend: %+v %v", r, err)
	}
	if _, err := c.DocMerge(ctx, key, "", json.RawMessage(`{"age":31}`)); err != nil {
		t.Fatal(err)
	}
	v, err := c.DocGet(ctx, key, "")
	if err != nil || string(v) != `{"name":"ann","tags":[1,2],"age":31}` {
		t.Fatalf("get: %s %v", v, err)
	}
	if v, err = c.DocGet(ctx, key, "/tags/1", client.WithSerializable()); err != nil || string(v) != "2" {
		t.Fatalf("get pointer: %s %v", v, err)
	}
	r, err = c.Doc(ctx, key, client.DocOp{Op: "type", Path: "$.*"})
	if err != nil || string(r.Result) != `["string","array","integer"]` {
		t.Fatalf("type: %+v %v", r, err)
	}

	if _, err := c.DocGet(ctx, key, ".nope"); !errors.Is(err, client.ErrPathNotFound) {
		t.Fatalf("missing path: %v", err)
	}
	if _, err := c.DocGet(ctx, "nokey", ""); !errors.Is(err, client.ErrKeyNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := c.Doc(ctx, key, client.DocOp{Op: "numincrby", Path: ".name", Values: []json.RawMessage{[]byte(`1`)}}); !errors.Is(err, client.ErrDocument) {
		t.Fatalf("wrong type at path: %v", err)
	}
	if _, err := c.Put(ctx, []byte("plain"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DocGet(ctx, "plain", ""); !errors.Is(err, client.ErrWrongType) {
		t.Fatalf("plain key: %v", err)
	}
	if r, err := c.DocDelete(ctx, key, ""); err != nil || string(r.Result) != "1" {
		t.Fatalf("delete: %+v %v", r, err)
	}
}
