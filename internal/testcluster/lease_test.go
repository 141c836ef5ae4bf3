package testcluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
)

// TestLeaseFailover: leases kept alive through a follower survive the
// leader's crash (none expires early), and all expire once no longer kept
// alive, on every node.
func TestLeaseFailover(t *testing.T) {
	c := New(t, 3, Options{})
	ctx := context.Background()
	leader := c.WaitLeader(10 * time.Second)
	var follower *Node
	for _, nd := range c.Running() {
		if nd.Name != leader.Name {
			follower = nd
			break
		}
	}
	svc := follower.Server.Service()
	const ttl = time.Second
	var ids []int64
	for i := range 3 {
		st, err := svc.LeaseGrant(ctx, 0, ttl)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
		if _, err := svc.Put(ctx, &command.PutRequest{Key: fmt.Appendf(nil, "leased%d", i), Value: []byte("v"), Lease: st.ID}); err != nil {
			t.Fatal(err)
		}
	}
	// An unleased key with a leased neighbour: only leased keys go.
	if _, err := svc.Put(ctx, &command.PutRequest{Key: []byte("plain"), Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var lastMu sync.Mutex
	var last time.Time // start of the last successful keep-alive
	var wg sync.WaitGroup
	// The client keeps each lease alive through the follower every TTL/4,
	// one goroutine per lease, so a renewal slowed down (a loaded machine,
	// the election) delays no other lease's renewal.
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				kctx, cancel := context.WithTimeout(ctx, ttl/4)
				start := time.Now()
				if _, err := svc.LeaseKeepAlive(kctx, id); err == nil { // may fail during the election
					lastMu.Lock()
					if start.After(last) {
						last = start
					}
					lastMu.Unlock()
				}
				cancel()
				select {
				case <-stop:
					return
				case <-time.After(ttl/4 - min(time.Since(start), ttl/4)):
				}
			}
		}()
	}

	granted := time.Now()
	c.Stop(leader.Name)
	c.WaitLeader(10 * time.Second)
	// For 3 TTLs after the crash, every leased key stays.
	for time.Since(granted) < 3*ttl {
		for i := range ids {
			v, ok, err := get(ctx, follower, fmt.Sprintf("leased%d", i), service.ReadOptions{})
			if err != nil {
				continue // a read may time out across the election
			}
			if !ok || v != "v" {
				t.Fatalf("leased%d expired early, %v after grant", i, time.Since(granted))
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	stopped := last
	// Not kept alive any more: all go within TTL + election timeout + slack.
	c.Eventually(10*time.Second, "leases to expire", func() error {
		leases, err := svc.Leases(ctx)
		if err != nil {
			return err
		}
		if len(leases) != 0 {
			return fmt.Errorf("%d leases left", len(leases))
		}
		return nil
	})
	if d := time.Since(stopped); d < ttl-100*time.Millisecond {
		t.Fatalf("leases expired %v after the last keep-alive, TTL %v", d, ttl)
	}
	c.Restart(leader.Name)
	c.WaitConverged(10 * time.Second)
	data, _, err := Dump(c.Node(leader.Name))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 1 || data["plain"] != "v" {
		t.Fatalf("data after expiry: %v", data)
	}
}

// TestLocksFIFOAndFencing: blocking waiters on different nodes are served
// in FIFO order; a holder whose lease expires loses the lock and its
// fenced writes are refused.
func TestLocksFIFOAndFencing(t *testing.T) {
	c := New(t, 3, Options{})
	ctx := context.Background()
	nodes := c.Running()
	name := []byte("db")
	type holder struct {
		i     int
		token int64
	}
	first, err := nodes[0].Server.Service().LeaseGrant(ctx, 0, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tok0, err := nodes[0].Server.Service().Lock(ctx, name, first.ID, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan holder, 3)
	for i := range 3 {
		svc := nodes[i].Server.Service()
		st, err := svc.LeaseGrant(ctx, 0, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			tok, err := svc.Lock(lctx, name, st.ID, time.Minute, false)
			if err != nil {
				t.Error(err)
				got <- holder{i, 0}
				return
			}
			got <- holder{i, tok}
		}()
		// Queue them one after another.
		c.Eventually(5*time.Second, "waiter queued", func() error {
			if n := queued(t, nodes[0], name); n != i+2 {
				return fmt.Errorf("%d waiters", n)
			}
			return nil
		})
	}
	try, _ := nodes[1].Server.Service().LeaseGrant(ctx, 0, 10*time.Second)
	if _, err := nodes[1].Server.Service().Lock(ctx, name, try.ID, 0, false); !errors.Is(err, service.ErrLockBusy) {
		t.Fatalf("try-lock on a held lock: %v", err)
	}
	prev := tok0
	release := func(svc *service.Service, tok int64) {
		if err := svc.Unlock(ctx, name, tok); err != nil {
			t.Fatal(err)
		}
	}
	release(nodes[0].Server.Service(), tok0)
	for want := range 3 {
		h := <-got
		if h.i != want || h.token <= prev {
			t.Fatalf("holder %d with token %d after token %d, want waiter %d", h.i, h.token, prev, want)
		}
		fence := &command.FenceRequest{Name: name, Token: prev, Ops: []command.TxnOp{{Put: &command.PutRequest{Key: []byte("x"), Value: []byte("stale")}}}}
		if _, err := nodes[h.i].Server.Service().Fence(ctx, fence); !errors.Is(err, service.ErrFenced) {
			t.Fatalf("write with the previous token: %v", err)
		}
		fence.Token = h.token
		if _, err := nodes[h.i].Server.Service().Fence(ctx, fence); err != nil {
			t.Fatalf("write with the holder's token: %v", err)
		}
		prev = h.token
		release(nodes[h.i].Server.Service(), h.token)
	}
}

func queued(t *testing.T, nd *Node, name []byte) int {
	t.Helper()
	ws, err := nd.Server.Service().LockWaiters(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return len(ws)
}
