package testcluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/service"
)

// TestWriteWaitsForALeader: a write to a node that knows no leader is
// dropped by raft without entering the log, so the service proposes it
// again once a leader is known instead of failing at once: here the write
// is issued while two of three nodes are down and succeeds when they come
// back, within its deadline.
func TestWriteWaitsForALeader(t *testing.T) {
	c := New(t, 3, Options{})
	ctx := context.Background()
	nodes := c.Running()
	survivor := nodes[0]
	c.Stop(nodes[1].Name)
	c.Stop(nodes[2].Name)
	c.Eventually(10*time.Second, "the survivor to know no leader", func() error {
		if l := survivor.Server.Node().Leader(); l != 0 {
			return errors.New("still has a leader")
		}
		return nil
	})
	done := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		_, err := put(wctx, survivor, "k", "v")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the write returned with no quorum: %v", err)
	case <-time.After(300 * time.Millisecond): // several drop-and-retry rounds
	}
	c.Restart(nodes[1].Name)
	c.Restart(nodes[2].Name)
	if err := <-done; err != nil {
		t.Fatalf("write after the quorum came back: %v", err)
	}
	if v, ok, err := get(ctx, survivor, "k", service.ReadOptions{}); err != nil || !ok || v != "v" {
		t.Fatalf("get k = %q %v %v", v, ok, err)
	}
}
