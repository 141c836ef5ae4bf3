package testcluster

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
)

func incr(ctx context.Context, nd *Node, k string) (*command.Result, error) {
	return nd.Server.Service().Mutate(ctx, &command.MutateRequest{Op: command.MutateIncrBy, Key: []byte(k), Int: 1})
}

// TestWritesRideOutLeaderTransfers: writers on every node increment their
// own counter one write at a time while leadership moves six times.
// Proposals forwarded to a leader that is handing over are dropped by raft
// and entries it appended may be truncated: the service proposes the same
// request again at each leader change, and the state machine's dedup
// window applies it once. No write may fail, and each counter must equal
// the number of increments acknowledged (a double apply would exceed it).
func TestWritesRideOutLeaderTransfers(t *testing.T) {
	c := New(t, 3, Options{})
	leader := c.WaitLeader(10 * time.Second)
	nodes := c.Running()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	acks := make([]int64, len(nodes))
	errs := make(chan error, len(nodes))
	for i, nd := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "counter-" + nd.Name
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				r, err := incr(ctx, nd, key)
				cancel()
				if err != nil {
					errs <- fmt.Errorf("%s: increment %d: %w", nd.Name, acks[i]+1, err)
					return
				}
				acks[i]++
				if r.Mutate.Int != acks[i] {
					errs <- fmt.Errorf("%s: increment %d returned %d", nd.Name, acks[i], r.Mutate.Int)
					return
				}
			}
		}()
	}

	ctx := context.Background()
	for i := range 6 {
		time.Sleep(50 * time.Millisecond) // let writes flow under this leader
		var to *Node
		for _, nd := range nodes {
			if nd.ID != leader.ID {
				to = nd
				if i%2 == 1 {
					break // alternate between the two followers
				}
			}
		}
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := leader.Server.Service().TransferLeader(tctx, to.ID); err != nil {
			cancel()
			t.Fatalf("transfer %d to %s: %v", i, to.Name, err)
		}
		cancel()
		leader = c.WaitLeader(10 * time.Second)
		if leader.ID != to.ID {
			t.Logf("transfer %d: leader is %s, not %s", i, leader.Name, to.Name)
		}
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for i, nd := range nodes {
		v, ok, err := get(ctx, leader, "counter-"+nd.Name, service.ReadOptions{})
		if err != nil || !ok {
			t.Fatalf("get counter-%s: %v %v", nd.Name, ok, err)
		}
		if n, _ := strconv.ParseInt(v, 10, 64); n != acks[i] {
			t.Errorf("counter-%s = %s, acknowledged %d increments", nd.Name, v, acks[i])
		}
		if acks[i] == 0 {
			t.Errorf("%s made no write", nd.Name)
		}
	}
}

// TestRestartedNodeWithLowIDCounter: a node's request ID counter is seeded
// from the clock, which after a restart may be below the counters its dedup
// window already holds. Its first write comes back stale_request; the
// service moves the counter past the window and proposes it again under a
// new ID, so the write succeeds.
func TestRestartedNodeWithLowIDCounter(t *testing.T) {
	c := New(t, 3, Options{})
	c.WaitLeader(10 * time.Second)
	nd := c.Running()[1]
	ctx := context.Background()
	var last uint64
	for i := range 3 {
		r, err := put(ctx, nd, "k", strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		last = r.ID
	}
	c.Stop(nd.Name)
	c.Restart(nd.Name)
	nd = c.Node(nd.Name)
	high, ok, err := nd.Server.Service().DedupHigh()
	if err != nil || !ok || high < last&command.IDCounterMask {
		t.Fatalf("DedupHigh after restart = %d %v %v, want >= %d", high, ok, err, last&command.IDCounterMask)
	}
	if high <= command.DedupWindow {
		t.Skipf("the clock seeded the counter at %d: too low to force it below the window", high)
	}
	nd.Server.Service().SetIDCounterForTest(0) // the next ID is counter 1
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := put(wctx, nd, "k", "after")
	if err != nil {
		t.Fatalf("first write after the restart: %v", err)
	}
	if c := r.ID & command.IDCounterMask; !command.CounterAfter(c, high) {
		t.Fatalf("the write applied with counter %d, not past the window's %d", c, high)
	}
	if v, ok, err := get(ctx, nd, "k", service.ReadOptions{}); err != nil || !ok || v != "after" {
		t.Fatalf("k = %q %v %v", v, ok, err)
	}
}

// TestReproposedWriteAppliesOnce: a follower that cannot hear the leader
// proposes an increment; the leader commits it, but the follower learns
// nothing, so it proposes the same request again (every election timeout,
// and when it hears the leader again). The copies must be refused: the
// counter ends at 1 and the write returns 1.
func TestReproposedWriteAppliesOnce(t *testing.T) {
	c := New(t, 3, Options{})
	leader := c.WaitLeader(10 * time.Second)
	var f *Node
	for _, nd := range c.Running() {
		if nd.ID != leader.ID {
			f = nd
			break
		}
	}
	ctx := context.Background()
	c.Net.Cut(leader.ID, f.ID) // f's proposals still reach the leader
	type res struct {
		r   *command.Result
		err error
	}
	done := make(chan res, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		r, err := incr(wctx, f, "n")
		done <- res{r, err}
	}()
	stale := service.ReadOptions{Consistency: service.Stale}
	c.Eventually(10*time.Second, "the leader to apply the increment", func() error {
		if v, ok, err := get(ctx, leader, "n", stale); err != nil || !ok || v != "1" {
			return fmt.Errorf("n = %q %v %v", v, ok, err)
		}
		return nil
	})
	// Several election timeouts: f proposes the increment again meanwhile.
	time.Sleep(4 * c.ElectionTimeout())
	c.Net.Heal()
	got := <-done
	if got.err != nil {
		t.Fatalf("increment: %v", got.err)
	}
	if got.r.Mutate.Int != 1 {
		t.Errorf("increment returned %d, want 1", got.r.Mutate.Int)
	}
	leader = c.WaitLeader(10 * time.Second)
	if v, ok, err := get(ctx, leader, "n", service.ReadOptions{}); err != nil || !ok || v != "1" {
		t.Fatalf("n = %q %v %v, want 1: applied more than once", v, ok, err)
	}
}
