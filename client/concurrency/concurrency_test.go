package concurrency_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cairndb/cairn/client"
	"github.com/cairndb/cairn/client/concurrency"
	"github.com/cairndb/cairn/internal/testcluster"
)

func newClients(t *testing.T) (*testcluster.Cluster, []*client.Client) {
	t.Helper()
	c := testcluster.New(t, 3, testcluster.Options{})
	var out []*client.Client
	for _, nd := range c.Running() {
		cl, err := client.New(client.Config{Endpoints: []string{nd.Server.HTTPAddr()}, RequestTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		out = append(out, cl)
	}
	return c, out
}

// newSession starts a session with ttl on c, closed when the test ends.
func newSession(t *testing.T, c *client.Client, ttl time.Duration) *concurrency.Session {
	t.Helper()
	s, err := concurrency.NewSession(c, concurrency.WithTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestLeaseAPI(t *testing.T) {
	tc, cls := newClients(t)
	c := cls[0]
	ctx := context.Background()
	g, err := c.Grant(ctx, 2*time.Second)
	if err != nil || g.ID == 0 || g.TTL != 2000 {
		t.Fatalf("grant: %+v %v", g, err)
	}
	if _, err := c.Put(ctx, []byte("k"), []byte("v"), client.WithLease(g.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, []byte("k2"), []byte("v"), client.WithLease(g.ID+100)); !errors.Is(err, client.ErrLeaseNotFound) {
		t.Fatalf("put with a missing lease: %v", err)
	}
	// A leader that takes office after the grant (the cluster has just
	// started) gives the lease TTL + election timeout from that moment.
	maxRemaining := int64(2000 + tc.ElectionTimeout().Milliseconds())
	ttl, err := cls[1].TimeToLive(ctx, g.ID, true)
	if err != nil || ttl.TTL != 2000 || ttl.Remaining > maxRemaining || len(ttl.Keys) != 1 || string(ttl.Keys[0]) != "k" {
		t.Fatalf("time to live: %+v %v", ttl, err)
	}
	if ls, err := cls[2].Leases(ctx); err != nil || len(ls) != 1 || ls[0].ID != g.ID {
		t.Fatalf("leases: %+v %v", ls, err)
	}
	kctx, cancel := context.WithCancel(ctx)
	ch, err := cls[1].KeepAlive(kctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r := <-ch; r.TTL != 2000 {
		t.Fatalf("keepalive: %+v", r)
	}
	cancel()
	if err := c.Revoke(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, []byte("k")); !errors.Is(err, client.ErrKeyNotFound) {
		t.Fatalf("leased key after revoke: %v", err)
	}
	if _, err := c.TimeToLive(ctx, g.ID, false); !errors.Is(err, client.ErrLeaseNotFound) {
		t.Fatalf("revoked lease: %v", err)
	}
}

func TestMutex(t *testing.T) {
	_, cls := newClients(t)
	ctx := context.Background()
	s1 := newSession(t, cls[0], time.Second)
	s2 := newSession(t, cls[1], time.Second)
	m1, m2 := concurrency.NewMutex(s1, "db"), concurrency.NewMutex(s2, "db")
	if err := m1.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m2.TryLock(ctx); !errors.Is(err, concurrency.ErrLocked) {
		t.Fatalf("TryLock of a held mutex: %v", err)
	}
	if _, err := m1.Fenced(ctx, client.OpPut([]byte("data"), []byte("1"))); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	go func() { got <- m2.Lock(lctx) }()
	// Held across several keep-alive periods: the session keeps the lease.
	select {
	case err := <-got:
		t.Fatalf("second Lock returned while the first session holds it: %v", err)
	case <-time.After(3 * time.Second):
	}
	old := m1.Token()
	// The first session stops renewing: the lock passes within TTL + slack.
	s1.Orphan()
	start := time.Now()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("lock not passed on after the holder's lease expired")
	}
	t.Logf("lock passed %v after the holder stopped renewing (TTL 1s)", time.Since(start))
	if m2.Token() <= old {
		t.Fatalf("new token %d not above old %d", m2.Token(), old)
	}
	if _, err := m1.Fenced(ctx, client.OpPut([]byte("data"), []byte("stale"))); !errors.Is(err, client.ErrFenced) {
		t.Fatalf("stale holder's write: %v", err)
	}
	if _, err := m2.Fenced(ctx, client.OpPut([]byte("data"), []byte("2"))); err != nil {
		t.Fatal(err)
	}
	if err := m2.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	// A free mutex is taken at once (a few raft round trips, which a slow
	// machine under the race detector can stretch well past 200ms); one
	// that wrongly waited would never be granted, as nobody releases it.
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m2.Lock(tctx); err != nil {
		t.Fatalf("relock of a free mutex: %v", err)
	}
}

func TestElection(t *testing.T) {
	_, cls := newClients(t)
	ctx := context.Background()
	s1 := newSession(t, cls[0], 2*time.Second)
	s2 := newSession(t, cls[1], 2*time.Second)
	e1, e2 := concurrency.NewElection(s1, "svc"), concurrency.NewElection(s2, "svc")
	octx, cancel := context.WithCancel(ctx)
	defer cancel()
	obs := concurrency.NewElection(s2, "svc").Observe(octx)
	// observe waits for the observer to report want.
	observe := func(want string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case v := <-obs:
				if v == want {
					return
				}
			case <-timeout:
				t.Fatalf("leader %q never observed", want)
			}
		}
	}
	observe("")
	if err := e1.Campaign(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	observe("a")
	done := make(chan error, 1)
	go func() { done <- e2.Campaign(ctx, "b") }()
	if err := e1.Proclaim(ctx, "a2"); err != nil {
		t.Fatal(err)
	}
	observe("a2")
	if err := e1.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second candidate not elected after the first resigned")
	}
	observe("b")
	if l, err := e2.Leader(ctx); err != nil || l != "b" {
		t.Fatalf("leader %q %v", l, err)
	}
	if err := e1.Proclaim(ctx, "x"); !errors.Is(err, concurrency.ErrNotLeader) {
		t.Fatalf("proclaim after resign: %v", err)
	}
}

// TestElectionObserveEveryChange: Observe delivers every leader change in
// order, even back-to-back proclamations (it watches; a poller would skip
// values that lived shorter than its interval).
func TestElectionObserveEveryChange(t *testing.T) {
	_, cls := newClients(t)
	ctx := context.Background()
	s1 := newSession(t, cls[0], 2*time.Second)
	e1 := concurrency.NewElection(s1, "fast")
	octx, cancel := context.WithCancel(ctx)
	defer cancel()
	obs := concurrency.NewElection(s1, "fast").Observe(octx)
	next := func() string {
		t.Helper()
		select {
		case v := <-obs:
			return v
		case <-time.After(10 * time.Second):
			t.Fatal("no leader change observed")
			return ""
		}
	}
	if v := next(); v != "" {
		t.Fatalf("first observed %q, want no leader", v)
	}
	if err := e1.Campaign(ctx, "v0"); err != nil {
		t.Fatal(err)
	}
	want := []string{"v0"}
	for i := 1; i <= 5; i++ {
		v := fmt.Sprintf("v%d", i)
		if err := e1.Proclaim(ctx, v); err != nil {
			t.Fatal(err)
		}
		want = append(want, v)
	}
	if err := e1.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	want = append(want, "")
	for _, w := range want {
		if v := next(); v != w {
			t.Fatalf("observed %q, want %q (all of %q in order)", v, w, want)
		}
	}
}

// TestElectionLeaderSessionExpires: a leader whose session stops being
// kept alive (Orphan: the process hangs) loses the election when its lease
// expires; the waiting candidate is elected, and the old leader's Proclaim
// is refused with ErrNotLeader rather than overwriting the new value.
func TestElectionLeaderSessionExpires(t *testing.T) {
	_, cls := newClients(t)
	ctx := context.Background()
	s1 := newSession(t, cls[0], time.Second)
	s2 := newSession(t, cls[1], 10*time.Second)
	e1, e2 := concurrency.NewElection(s1, "svc"), concurrency.NewElection(s2, "svc")
	if err := e1.Campaign(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e2.Campaign(ctx, "b") }()
	s1.Orphan() // stop keeping the lease alive
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the waiting candidate was not elected after the leader's lease expired")
	}
	if l, err := e2.Leader(ctx); err != nil || l != "b" {
		t.Fatalf("leader %q %v", l, err)
	}
	if err := e1.Proclaim(ctx, "a2"); !errors.Is(err, concurrency.ErrNotLeader) {
		t.Fatalf("proclaim by the expired leader: %v", err)
	}
	if l, err := e2.Leader(ctx); err != nil || l != "b" {
		t.Fatalf("leader after the stale proclaim: %q %v", l, err)
	}
}
