package testcluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
)

// TestHistory reads a key's versions through service.History (GET
// /v1/history) on a follower: its current life only, newest first, from
// a past revision, cut by a limit, and down to the compaction horizon.
func TestHistory(t *testing.T) {
	c := New(t, 3, Options{})
	defer c.Close()
	c.WaitLeader(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc := c.Running()[0].Server.Service()
	put := func(k, v string) int64 {
		res, err := svc.Put(ctx, &command.PutRequest{Key: []byte(k), Value: []byte(v)})
		if err != nil {
			t.Fatal(err)
		}
		return res.Revision
	}
	put("h", "old")
	if _, err := svc.Delete(ctx, &command.DeleteRequest{Key: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	put("h", "a")
	revB := put("h", "b")
	put("other", "x")
	put("h", "c")

	other := c.Running()[1].Server.Service()
	values := func(kvs []*command.KeyValue) (out []string) {
		for _, kv := range kvs {
			out = append(out, fmt.Sprintf("%s/v%d", kv.Value, kv.Version))
		}
		return out
	}
	kvs, rev, more, err := other.History(ctx, []byte("h"), 0, 0, service.ReadOptions{})
	if err != nil || more || rev < revB+2 || !slices.Equal(values(kvs), []string{"c/v3", "b/v2", "a/v1"}) {
		t.Fatalf("history: %q rev %d more %v: %v", values(kvs), rev, more, err)
	}
	kvs, rev, more, err = other.History(ctx, []byte("h"), revB+1, 1, service.ReadOptions{})
	if err != nil || !more || rev != revB+1 || !slices.Equal(values(kvs), []string{"b/v2"}) {
		t.Fatalf("history at %d, limit 1: %q rev %d more %v: %v", revB+1, values(kvs), rev, more, err)
	}
	if _, err := svc.Compact(ctx, revB); err != nil {
		t.Fatal(err)
	}
	// The follower applies the compaction in its own time: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		kvs, _, _, err = other.History(ctx, []byte("h"), 0, 0, service.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(kvs) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history after compaction to %d: %q", revB, values(kvs))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !slices.Equal(values(kvs), []string{"c/v3", "b/v2"}) {
		t.Fatalf("history after compaction: %q", values(kvs))
	}
	if kvs, _, _, err = other.History(ctx, []byte("nope"), 0, 0, service.ReadOptions{}); err != nil || len(kvs) != 0 {
		t.Fatalf("history of a missing key: %q %v", values(kvs), err)
	}
	if _, _, _, err = other.History(ctx, []byte("h"), 1<<40, 0, service.ReadOptions{}); !errors.Is(err, service.ErrFutureRevision) {
		t.Fatalf("history at a future revision: %v", err)
	}
}
