package testcluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/client"
	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/query"
	"github.com/cairndb/cairn/internal/service"
	"github.com/redis/go-redis/v9"
)

// TestUndoRedoAcrossClientsAndFailover: changes made through HTTP, RESP,
// scripts and document ops form one history; undo and redo through any of
// them, on any node, before and after the leader fails, walk it back and
// forth; a new change clears the redo stack; an undo that would resurrect
// an expired key is refused.
func TestUndoRedoAcrossClientsAndFailover(t *testing.T) {
	c := New(t, 3, Options{})
	defer c.Close()
	leader := c.WaitLeader(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var others []*Node
	for _, nd := range c.Running() {
		if nd.ID != leader.ID {
			others = append(others, nd)
		}
	}
	cl, err := client.New(client.Config{Endpoints: []string{others[0].Server.HTTPAddr(), others[1].Server.HTTPAddr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rdb := redis.NewClient(&redis.Options{Addr: others[1].Server.RESPAddr(), Protocol: 2})
	defer rdb.Close()
	script := func(nd *Node, s string) {
		t.Helper()
		if _, err := nd.Server.Service().Query(ctx, s, query.Options{}); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	value := func(key string) string {
		t.Helper()
		resp, err := cl.Get(ctx, []byte(key))
		if errors.Is(err, client.ErrKeyNotFound) {
			return "<none>"
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.KVs) == 0 {
			return "<none>"
		}
		return string(resp.KVs[0].Value)
	}
	expect := func(what string, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if got := value(k); got != v {
				t.Fatalf("%s: %s = %s, want %s", what, k, got, v)
			}
		}
	}

	// Four changes, four ways.
	if _, err := cl.Put(ctx, []byte("a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, "b", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	script(others[0], "db['c'] = [1, 2]")
	if err := rdb.Do(ctx, "JSON.SET", "c", "$[0]", "9").Err(); err != nil {
		t.Fatal(err)
	}
	expect("start", map[string]string{"a": "1", "b": "1", "c": "[9,2]"})

	// Undo the document op over RESP, the script over HTTP.
	if res, err := rdb.Do(ctx, "CAIRN.UNDO").Slice(); err != nil || len(res) != 3 || res[2] != int64(1) {
		t.Fatalf("CAIRN.UNDO = %v, %v", res, err)
	}
	expect("undo JSON.SET", map[string]string{"c": "[1,2]"})
	if _, err := cl.Undo(ctx); err != nil {
		t.Fatal(err)
	}
	expect("undo script", map[string]string{"c": "<none>", "b": "1"})

	// The leader dies; a script on a survivor undoes the RESP SET.
	c.Stop(leader.Name)
	c.WaitLeader(10 * time.Second)
	script(others[0], "db.undo()")
	expect("undo after failover", map[string]string{"a": "1", "b": "<none>", "c": "<none>"})

	// Redo, most recently undone first, through every interface.
	if _, err := cl.Redo(ctx); err != nil {
		t.Fatal(err)
	}
	expect("redo SET", map[string]string{"b": "1", "c": "<none>"})
	if err := rdb.Do(ctx, "CAIRN.REDO").Err(); err != nil {
		t.Fatal(err)
	}
	expect("redo script", map[string]string{"c": "[1,2]"})
	script(others[1], "db.redo()")
	expect("redo JSON.SET", map[string]string{"a": "1", "b": "1", "c": "[9,2]"})
	if _, err := cl.Redo(ctx); !errors.Is(err, client.ErrNothingToRedo) {
		t.Fatalf("redo with nothing undone: %v", err)
	}

	// A new change clears the redo stack.
	if _, err := cl.Undo(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Put(ctx, []byte("x"), []byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Do(ctx, "CAIRN.REDO").Err(); err == nil || !strings.Contains(err.Error(), "nothing to redo") {
		t.Fatalf("redo after a new change: %v", err)
	}

	// An undo that would bring back an expired key is refused.
	if err := rdb.Set(ctx, "e", "v", 200*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	c.Eventually(10*time.Second, "e expired and reaped", func() error {
		// A read at an explicit revision sees stored data: expired but
		// not yet reaped keys are hidden only from reads at the latest.
		for _, nd := range c.Running() {
			svc := nd.Server.Service()
			res, _, err := svc.Range(ctx, &command.RangeRequest{Key: []byte("e"), Revision: svc.Revision()},
				service.ReadOptions{Consistency: service.Stale})
			if err != nil || len(res.KVs) != 0 {
				return fmt.Errorf("%s still stores e (%v)", nd.Name, err)
			}
		}
		return nil
	})
	if _, err := cl.Undo(ctx); !errors.Is(err, client.ErrUndoConflict) || !strings.Contains(err.Error(), `"e"`) {
		t.Fatalf("undo past an expiry: %v", err)
	}
	if err := rdb.Do(ctx, "CAIRN.UNDO").Err(); err == nil || !strings.HasPrefix(err.Error(), "CONFLICT") {
		t.Fatalf("CAIRN.UNDO past an expiry: %v", err)
	}
	expect("after refused undos", map[string]string{"e": "<none>", "x": "new"})
}
