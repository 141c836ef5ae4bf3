package testcluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/membership"
	"github.com/cairndb/cairn/internal/service"
)

func put(ctx context.Context, nd *Node, k, v string) (*command.Result, error) {
	return nd.Server.Service().Put(ctx, &command.PutRequest{Key: []byte(k), Value: []byte(v)})
}

func get(ctx context.Context, nd *Node, k string, o service.ReadOptions) (string, bool, error) {
	res, _, err := nd.Server.Service().Range(ctx, &command.RangeRequest{Key: []byte(k)}, o)
	if err != nil || len(res.KVs) == 0 {
		return "", false, err
	}
	return string(res.KVs[0].Value), true, nil
}

// acked records writes the cluster acknowledged.
type acked struct {
	mu sync.Mutex
	m  map[string]string
}

func (a *acked) add(k, v string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string]string{}
	}
	a.m[k] = v
}

// writeLoop writes unique keys through whichever running node pick
// returns until ctx ends, recording acknowledged writes.
func writeLoop(ctx context.Context, c *Cluster, prefix string, a *acked) int {
	n := 0
	for i := 0; ctx.Err() == nil; i++ {
		nodes := c.Running()
		if len(nodes) == 0 {
			continue
		}
		nd := nodes[i%len(nodes)]
		k, v := fmt.Sprintf("%s-%05d", prefix, i), fmt.Sprintf("v%d", i)
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := put(wctx, nd, k, v)
		cancel()
		if err == nil {
			a.add(k, v)
			n++
		}
	}
	return n
}

// checkAcked asserts every acknowledged write is on every running node.
func checkAcked(t *testing.T, c *Cluster, a *acked) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, nd := range c.Running() {
		data, _, err := Dump(nd)
		if err != nil {
			t.Fatalf("dump %s: %v", nd.Name, err)
		}
		for k, v := range a.m {
			if got, ok := data[k]; !ok || got != v {
				t.Fatalf("%s lost acknowledged write %s=%s (got %q, present %v)", nd.Name, k, v, got, ok)
			}
		}
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestWriteOnAnyNodeReadOnEvery(t *testing.T) {
	c := New(t, 3, Options{})
	ctx := ctxT(t, 20*time.Second)
	for i, nd := range c.Running() {
		if _, err := put(ctx, nd, fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)); err != nil {
			t.Fatalf("put via %s: %v", nd.Name, err)
		}
	}
	for _, nd := range c.Running() {
		for i := range 3 {
			v, ok, err := get(ctx, nd, fmt.Sprintf("k%d", i), service.ReadOptions{})
			if err != nil || !ok || v != fmt.Sprintf("v%d", i) {
				t.Fatalf("linearizable get k%d on %s = %q %v %v", i, nd.Name, v, ok, err)
			}
		}
	}
	c.WaitConverged(10 * time.Second)
}

func TestLeaderLossAndRestart(t *testing.T) {
	c := New(t, 3, Options{})
	ctx := ctxT(t, 60*time.Second)
	var a acked
	wctx, stop := context.WithCancel(ctx)
	done := make(chan int)
	go func() { done <- writeLoop(wctx, c, "w", &a) }()

	waitWrites(t, c, &a, 20)
	old := c.WaitLeader(5 * time.Second)
	c.Stop(old.Name)
	next := c.WaitLeader(10 * time.Second)
	if next.Name == old.Name {
		t.Fatalf("leader did not change")
	}
	waitWrites(t, c, &a, 40)
	c.Restart(old.Name)
	waitWrites(t, c, &a, 60)
	stop()
	if n := <-done; n == 0 {
		t.Fatal("no write succeeded")
	}
	c.WaitConverged(20 * time.Second)
	checkAcked(t, c, &a)
}

// waitWrites waits until at least n writes were acknowledged in total.
func waitWrites(t *testing.T, c *Cluster, a *acked, n int) {
	t.Helper()
	c.Eventually(20*time.Second, fmt.Sprintf("%d acknowledged writes", n), func() error {
		a.mu.Lock()
		defer a.mu.Unlock()
		if len(a.m) < n {
			return fmt.Errorf("%d so far", len(a.m))
		}
		return nil
	})
}

func TestMinorityPartitionCannotWrite(t *testing.T) {
	c := New(t, 5, Options{})
	ctx := ctxT(t, 60*time.Second)
	leader := c.WaitLeader(5 * time.Second)
	var minority, majority []uint64
	var minorityNode *Node
	for _, nd := range c.Running() {
		if nd.ID != leader.ID && len(minority) < 2 {
			minority = append(minority, nd.ID)
			minorityNode = nd
			continue
		}
		majority = append(majority, nd.ID)
	}
	c.Net.Partition(majority, minority)

	// The majority side (with the leader) keeps accepting writes.
	if _, err := put(ctx, leader, "maj", "1"); err != nil {
		t.Fatalf("majority write: %v", err)
	}
	// The minority side fails clearly within a bounded time.
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err := put(wctx, minorityNode, "min", "1")
	cancel()
	if err == nil {
		t.Fatal("write on the minority side succeeded")
	}
	if !errors.Is(err, service.ErrTimeout) && !errors.Is(err, service.ErrNoLeader) {
		t.Fatalf("minority write error = %v, want timeout or no leader", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("minority write took %v", time.Since(start))
	}
	// A linearizable read on the minority side must not return stale data.
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if _, _, err := get(rctx, minorityNode, "maj", service.ReadOptions{}); err == nil {
		t.Fatal("linearizable read on the minority side succeeded")
	}
	cancel()

	c.Net.Heal()
	c.WaitLeader(10 * time.Second)
	c.WaitConverged(20 * time.Second)
	v, ok, err := get(ctx, minorityNode, "maj", service.ReadOptions{})
	if err != nil || !ok || v != "1" {
		t.Fatalf("after heal: %q %v %v", v, ok, err)
	}
	if _, ok, _ := get(ctx, leader, "min", service.ReadOptions{}); ok {
		// The minority write timed out: its outcome is unknown, but raft
		// can only have committed it through a majority, which it never had.
		t.Fatal("minority write was committed")
	}
}

func TestIsolatedLeaderStepsDown(t *testing.T) {
	c := New(t, 3, Options{})
	ctx := ctxT(t, 60*time.Second)
	old := c.WaitLeader(5 * time.Second)
	c.Net.Isolate(old.ID)
	// The old leader steps down (check quorum) and the others elect one.
	c.Eventually(10*time.Second, "old leader to step down", func() error {
		if old.Server.Node().IsLeader() {
			return errors.New("still leader")
		}
		return nil
	})
	var others []*Node
	for _, nd := range c.Running() {
		if nd.ID != old.ID {
			others = append(others, nd)
		}
	}
	c.Eventually(10*time.Second, "new leader among the others", func() error {
		l := others[0].Server.Node().Leader()
		if l == 0 || l == old.ID {
			return fmt.Errorf("leader %x", l)
		}
		return nil
	})
	if _, err := put(ctx, others[0], "k", "new"); err != nil {
		t.Fatalf("write on majority: %v", err)
	}
	c.Net.Heal()
	c.WaitConverged(20 * time.Second)
}

func TestMessageLossAndDelay(t *testing.T) {
	c := New(t, 3, Options{})
	ctx := ctxT(t, 90*time.Second)
	c.Net.SetSeed(1)
	for _, a := range c.Running() {
		for _, b := range c.Running() {
			if a.ID != b.ID {
				c.Net.Drop(a.ID, b.ID, 0.15)
				c.Net.Delay(a.ID, b.ID, 0, 5*time.Millisecond)
			}
		}
	}
	var a acked
	var wg sync.WaitGroup
	wctx, stop := context.WithTimeout(ctx, 3*time.Second)
	for w := range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); writeLoop(wctx, c, fmt.Sprintf("w%d", w), &a) }()
	}
	wg.Wait()
	stop()
	c.Net.Heal()
	c.WaitConverged(30 * time.Second)
	checkAcked(t, c, &a)
	if len(a.m) == 0 {
		t.Fatal("no write succeeded under loss")
	}
}

func TestRestartWholeClusterFromDisk(t *testing.T) {
	c := New(t, 3, Options{})
	ctx := ctxT(t, 60*time.Second)
	var a acked
	for i := range 50 {
		k := fmt.Sprintf("k%02d", i)
		if _, err := put(ctx, c.Running()[i%3], k, k); err != nil {
			t.Fatal(err)
		}
		a.add(k, k)
	}
	for _, nd := range c.Running() {
		c.Stop(nd.Name)
	}
	for _, name := range []string{"n1", "n2", "n3"} {
		c.Restart(name)
	}
	c.WaitLeader(10 * time.Second)
	c.WaitConverged(20 * time.Second)
	checkAcked(t, c, &a)
	if _, err := put(ctx, c.Running()[0], "after", "restart"); err != nil {
		t.Fatalf("write after restart: %v", err)
	}
}

func TestSnapshotCatchUp(t *testing.T) {
	c := New(t, 3, Options{CompactEntries: 40, CatchUpEntries: 10})
	ctx := ctxT(t, 60*time.Second)
	leader := c.WaitLeader(5 * time.Second)
	var lagging *Node
	for _, nd := range c.Running() {
		if nd.ID != leader.ID {
			lagging = nd
			break
		}
	}
	c.Stop(lagging.Name)
	var a acked
	for i := range 300 {
		k := fmt.Sprintf("s%03d", i)
		if _, err := put(ctx, leader, k, k); err != nil {
			t.Fatal(err)
		}
		a.add(k, k)
	}
	if first, _ := leader.Server.RaftLog().FirstIndex(); first < 100 {
		t.Fatalf("leader log not compacted: first index %d", first)
	}
	c.Restart(lagging.Name)
	c.WaitConverged(30 * time.Second)
	checkAcked(t, c, &a)
	if first, _ := c.Node(lagging.Name).Server.RaftLog().FirstIndex(); first < 100 {
		t.Fatalf("lagging node caught up without a snapshot (first index %d)", first)
	}
}

func TestMembershipChangesWhileWriting(t *testing.T) {
	c := New(t, 3, Options{})
	ctx := ctxT(t, 90*time.Second)
	var a acked
	wctx, stop := context.WithCancel(ctx)
	done := make(chan int)
	go func() { done <- writeLoop(wctx, c, "m", &a) }()
	waitWrites(t, c, &a, 10)

	n4 := c.Add("n4", false)
	c.Eventually(20*time.Second, "n4 promoted to voter", func() error {
		for _, m := range mustMembers(t, c) {
			if m.ID == n4.ID && !m.Learner {
				return nil
			}
		}
		return errors.New("n4 still a learner")
	})
	waitWrites(t, c, &a, 30)

	replica := c.Add("r1", true)
	waitWrites(t, c, &a, 40)

	leader := c.WaitLeader(5 * time.Second)
	victim := c.Node("n2")
	if err := leader.Server.Service().Remove(ctx, victim.ID); err != nil {
		t.Fatalf("remove n2: %v", err)
	}
	c.Stop("n2")
	waitWrites(t, c, &a, 60)
	stop()
	<-done
	c.WaitConverged(30 * time.Second)
	checkAcked(t, c, &a)

	for _, m := range mustMembers(t, c) {
		switch m.ID {
		case victim.ID:
			t.Fatal("removed member still listed")
		case replica.ID:
			if !m.Learner {
				t.Fatal("read-only replica was promoted")
			}
		}
	}
	// The replica serves stale reads, with read-your-writes by revision.
	res, err := put(ctx, c.Node("n1"), "ryw", "x")
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := get(ctx, replica, "ryw", service.ReadOptions{Consistency: service.Stale, MinRevision: res.Revision})
	if err != nil || !ok || v != "x" {
		t.Fatalf("replica read-your-writes: %q %v %v", v, ok, err)
	}
}

func mustMembers(t *testing.T, c *Cluster) []membership.Member {
	t.Helper()
	ms, err := c.WaitLeader(5 * time.Second).Server.Service().Members(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestCompactedRevisionRead(t *testing.T) {
	c := New(t, 1, Options{})
	ctx := ctxT(t, 20*time.Second)
	nd := c.Running()[0]
	var revs []int64
	for i := range 5 {
		res, err := put(ctx, nd, "k", fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, res.Revision)
	}
	old, _, err := nd.Server.Service().Range(ctx, &command.RangeRequest{Key: []byte("k"), Revision: revs[1]}, service.ReadOptions{})
	if err != nil || string(old.KVs[0].Value) != "1" {
		t.Fatalf("read at revision %d: %v %v", revs[1], old, err)
	}
	if _, err := nd.Server.Service().Compact(ctx, revs[3]); err != nil {
		t.Fatal(err)
	}
	_, _, err = nd.Server.Service().Range(ctx, &command.RangeRequest{Key: []byte("k"), Revision: revs[1]}, service.ReadOptions{})
	if !errors.Is(err, service.ErrCompacted) {
		t.Fatalf("read below compaction: err = %v, want ErrCompacted", err)
	}
	cur, _, err := nd.Server.Service().Range(ctx, &command.RangeRequest{Key: []byte("k"), Revision: revs[3]}, service.ReadOptions{})
	if err != nil || string(cur.KVs[0].Value) != "3" {
		t.Fatalf("read at compaction revision: %v %v", cur, err)
	}
}
