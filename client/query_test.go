package client_test

import (
	"context"
	"errors"
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
