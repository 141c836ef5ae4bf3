package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cairndb/cairn/client"
)

func TestQuery(t *testing.T) {
	n := newNode(t)
	c := newClient(t, n.srv.URL)
	ctx := context.Background()
	r, err := c.QueryTxn(ctx, "db['n'] = 41\nprint('hi')\ndb['n'] + 1")
	if err != nil || string(r.Value) != "42" || !r.Committed || r.Output != "hi\n" || r.Attempts != 1 {
		t.Fatalf("txn: %+v %v", r, err)
	}
	r, err = c.Query(ctx, "db.keys()", client.QueryStale())
	if err != nil || string(r.Value) != `["n"]` || r.Committed {
		t.Fatalf("query: %+v %v", r, err)
	}
	r, err = c.Query(ctx, "db['n']", client.QueryAt(r.Revision))
	if err != nil || string(r.Value) != "41" {
		t.Fatalf("query at: %+v %v", r, err)
	}
	r, err = c.Query(ctx, "m = 1", client.WithSession(&client.Session{Globals: map[string]string{"k": "2"}}))
	if err != nil || r.Value != nil || r.Session.Globals["m"] != "1" || r.Session.Globals["k"] != "2" {
		t.Fatalf("session: %+v %v", r, err)
	}
	_, err = c.Query(ctx, "db['n'] = 1")
	var ce *client.Error
	if !errors.Is(err, client.ErrScript) || !errors.As(err, &ce) || ce.Code != "read_only" || ce.Line != 1 {
		t.Fatalf("write in a query: %v", err)
	}
	_, err = c.QueryTxn(ctx, "x = 1\ny = (")
	if !errors.As(err, &ce) || ce.Code != "syntax_error" || ce.Line != 2 {
		t.Fatalf("syntax error: %v", err)
	}
	if _, err = c.QueryTxn(ctx, "db.undo()"); !errors.Is(err, client.ErrNotAvailable) {
		t.Fatalf("undo: %v", err)
	}
}

func TestHistory(t *testing.T) {
	n := newNode(t)
	c := newClient(t, n.srv.URL)
	ctx := context.Background()
	key := []byte{'h', 0xff}
	for _, v := range []string{"old", "a", "b", "c"} {
		if _, err := c.Put(ctx, key, []byte(v)); err != nil {
			t.Fatal(err)
		}
		if v == "old" {
			if _, err := c.Delete(ctx, key); err != nil { // a previous life: not listed
				t.Fatal(err)
			}
		}
	}
	if _, err := c.Put(ctx, []byte("other"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	values := func(h *client.HistoryResponse) (out []string) {
		for _, kv := range h.Versions {
			out = append(out, fmt.Sprintf("%s@%d/v%d", kv.Value, kv.ModRevision, kv.Version))
		}
		return out
	}
	h, err := c.History(ctx, key)
	if err != nil || h.Revision != 6 || h.More || !slices.Equal(values(h), []string{"c@5/v3", "b@4/v2", "a@3/v1"}) {
		t.Fatalf("history: %+v %v", h, err)
	}
	h, err = c.History(ctx, key, client.WithRevision(4), client.WithLimit(1))
	if err != nil || h.Revision != 4 || !h.More || !slices.Equal(values(h), []string{"b@4/v2"}) {
		t.Fatalf("history at 4, limit 1: %+v %v", h, err)
	}
	n.svc.Compact(4)
	h, err = c.History(ctx, key)
	if err != nil || !slices.Equal(values(h), []string{"c@5/v3", "b@4/v2"}) {
		t.Fatalf("history after compaction: %+v %v", h, err)
	}
	if h, err = c.History(ctx, []byte("nope")); err != nil || len(h.Versions) != 0 {
		t.Fatalf("history of a missing key: %+v %v", h, err)
	}
	if _, err = c.History(ctx, key, client.WithRevision(99)); !errors.Is(err, client.ErrFutureRevision) {
		t.Fatalf("history at a future revision: %v", err)
	}
}
