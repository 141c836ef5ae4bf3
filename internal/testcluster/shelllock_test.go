package testcluster

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/query"
	"github.com/cairndb/cairn/internal/service"
)

// TestDBLockDeadSession: the database lock of db.lock() is freed when its
// session dies without unlocking, by revocation or by expiry (no dead
// client deadlock), and passes to the session waiting for it.
func TestDBLockDeadSession(t *testing.T) {
	c := New(t, 3, Options{})
	defer c.Close()
	c.WaitLeader(10 * time.Second)
	ctx := context.Background()
	nodes := c.Running()
	svc := func(i int) *service.Service { return nodes[i%len(nodes)].Server.Service() }
	grant := func(ttl time.Duration) int64 {
		t.Helper()
		st, err := svc(0).LeaseGrant(ctx, 0, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return st.ID
	}
	lock := func(i int, lease int64, script string) (int64, error) {
		res, err := svc(i).Query(ctx, script, query.Options{Lease: lease})
		if err != nil {
			return 0, err
		}
		return strconv.ParseInt(string(res.Value), 10, 64)
	}
	a, b := grant(30*time.Second), grant(30*time.Second)
	tokA, err := lock(1, a, "db.lock()")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock(2, b, "db.lock(timeout=0)"); !errors.Is(err, service.ErrLockBusy) {
		t.Fatalf("b locks while a holds: %v", err)
	}
	// Revoked without unlocking (a shell's exit): b's waiting lock succeeds.
	got := make(chan error, 1)
	go func() {
		_, err := lock(2, b, "db.lock(timeout=8)")
		got <- err
	}()
	waitQueued(t, svc(0), 2)
	if _, err := svc(0).LeaseRevoke(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("b after a's revoke: %v", err)
	}
	if tok, lease, ok, _ := svc(0).LockHolder(ctx, []byte(query.DBLockName)); !ok || lease != b || tok <= tokA {
		t.Fatalf("holder %d lease %d ok %v, want b %d", tok, lease, ok, b)
	}
	// Expired (a shell killed): a lease nobody keeps alive frees the lock
	// within its TTL.
	if _, err := svc(0).Query(ctx, "db.unlock()", query.Options{Lease: b}); err != nil {
		t.Fatal(err)
	}
	dead := grant(time.Second)
	if _, err := lock(1, dead, "db.lock()"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := lock(2, b, "db.lock(timeout=8)"); err != nil {
		t.Fatalf("b after the dead session's lease expired: %v", err)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("the lock passed after %v", d)
	}
}

// waitQueued waits until the database lock has n waiters.
func waitQueued(t *testing.T, svc *service.Service, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ws, err := svc.LockWaiters(context.Background(), []byte(query.DBLockName))
		if err != nil {
			t.Fatal(err)
		}
		if len(ws) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want %d", len(ws), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
