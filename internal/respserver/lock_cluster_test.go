package respserver_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/testcluster"
	"github.com/redis/go-redis/v9"
)

// TestClusterLockCommands runs the RESP lock commands through go-redis on
// a 3-node cluster: try-locks, FIFO waiters promoted on UNLOCK and on
// REVOKE with increasing tokens, fenced writes, KEEPALIVE of a revoked
// lease.
func TestClusterLockCommands(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rdbs := clients(t, c, 3)
	svc := c.Running()[0].Server.Service()
	const name = "L"
	ints := func(what string, cmd *redis.Cmd) (int64, int64) {
		t.Helper()
		v, err := cmd.Result()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		a, ok := v.([]any)
		if !ok || len(a) != 2 {
			t.Fatalf("%s = %#v, want [token, lease]", what, v)
		}
		tok, ok1 := a[0].(int64)
		lease, ok2 := a[1].(int64)
		if !ok1 || !ok2 || tok <= 0 || lease <= 0 {
			t.Fatalf("%s = %#v, want two positive integers", what, v)
		}
		return tok, lease
	}
	wantErr := func(what string, err error, prefix string) {
		t.Helper()
		if err == nil || !strings.HasPrefix(err.Error(), prefix) {
			t.Fatalf("%s: error %v, want one starting with %q", what, err, prefix)
		}
	}
	waiters := func(n int) {
		t.Helper()
		c.Eventually(20*time.Second, fmt.Sprintf("%d waiters of the lock", n), func() error {
			ws, err := svc.LockWaiters(ctx, []byte(name))
			if err != nil {
				return err
			}
			if len(ws) != n {
				return fmt.Errorf("%d waiters", len(ws))
			}
			return nil
		})
	}

	tok1, lease1 := ints("CAIRN.LOCK", rdbs[0].Do(ctx, "CAIRN.LOCK", name, 60000))
	wantErr("second try-LOCK", rdbs[1].Do(ctx, "CAIRN.LOCK", name, 60000).Err(), "LOCKED")
	wantErr("try-LOCK with WAIT 0", rdbs[2].Do(ctx, "CAIRN.LOCK", name, 60000, "WAIT", 0).Err(), "LOCKED")
	waiters(1) // the failed tries left the queue

	// Two blocking waiters, queued one after the other on two nodes, on
	// clients whose read timeout outlasts the wait.
	type grant struct {
		tok, lease int64
		err        error
	}
	wait := func(node int) <-chan grant {
		rdb := redis.NewClient(&redis.Options{Addr: c.Running()[node].Server.RESPAddr(), Protocol: 3,
			ReadTimeout: 50 * time.Second, MaxRetries: -1})
		t.Cleanup(func() { rdb.Close() })
		ch := make(chan grant, 1)
		go func() {
			v, err := rdb.Do(ctx, "CAIRN.LOCK", name, 60000, "WAIT", 40000).Result()
			var g grant
			if g.err = err; err == nil {
				a, _ := v.([]any)
				if len(a) == 2 {
					g.tok, _ = a[0].(int64)
					g.lease, _ = a[1].(int64)
				}
			}
			ch <- g
		}()
		return ch
	}
	w1 := wait(1)
	waiters(2)
	w2 := wait(2)
	waiters(3)

	// The holder writes through its fence; every node reads the write.
	eq(t, "FENCE SET", must(rdbs[0].Do(ctx, "CAIRN.FENCE", name, tok1, "SET", "fk", "v1").Result()), any("OK"))
	for i, r := range rdbs {
		eq(t, fmt.Sprintf("GET on node %d", i), must(r.Get(ctx, "fk").Result()), "v1")
	}
	eq(t, "KEEPALIVE of the holder's lease", must(rdbs[1].Do(ctx, "CAIRN.KEEPALIVE", lease1).Int64()) > 0, true)

	// UNLOCK promotes the first waiter only.
	eq(t, "UNLOCK", must(rdbs[0].Do(ctx, "CAIRN.UNLOCK", name, tok1).Int64()), int64(1))
	g1 := <-w1
	if g1.err != nil || g1.tok <= tok1 || g1.lease <= 0 {
		t.Fatalf("first waiter got %+v, want a token above %d", g1, tok1)
	}
	select {
	case g := <-w2:
		t.Fatalf("second waiter promoted while the first holds the lock: %+v", g)
	default:
	}
	eq(t, "UNLOCK of a released token", must(rdbs[0].Do(ctx, "CAIRN.UNLOCK", name, tok1).Int64()), int64(0))
	eq(t, "UNLOCK of an unknown token", must(rdbs[0].Do(ctx, "CAIRN.UNLOCK", name, 1<<40).Int64()), int64(0))

	// The old holder's token is fenced off; the new holder's writes.
	wantErr("FENCE with a stale token", rdbs[2].Do(ctx, "CAIRN.FENCE", name, tok1, "SET", "fk", "stale").Err(), "FENCED")
	wantErr("FENCE DEL with a stale token", rdbs[2].Do(ctx, "CAIRN.FENCE", name, tok1, "DEL", "fk").Err(), "FENCED")
	eq(t, "GET after fenced writes", must(rdbs[1].Get(ctx, "fk").Result()), "v1")
	must(rdbs[0].Set(ctx, "fk2", "x", 0).Result())
	eq(t, "FENCE DEL", must(rdbs[2].Do(ctx, "CAIRN.FENCE", name, g1.tok, "DEL", "fk", "fk2", "fk-missing").Int64()), int64(2))
	eq(t, "EXISTS after FENCE DEL", must(rdbs[0].Exists(ctx, "fk", "fk2").Result()), int64(0))

	// REVOKE of the holder's lease promotes the next waiter.
	eq(t, "REVOKE", must(rdbs[1].Do(ctx, "CAIRN.REVOKE", g1.lease).Result()), any("OK"))
	g2 := <-w2
	if g2.err != nil || g2.tok <= g1.tok {
		t.Fatalf("second waiter got %+v, want a token above %d", g2, g1.tok)
	}
	wantErr("KEEPALIVE of a revoked lease", rdbs[0].Do(ctx, "CAIRN.KEEPALIVE", g1.lease).Err(), "ERR lease not found")
	wantErr("FENCE with the revoked holder's token", rdbs[0].Do(ctx, "CAIRN.FENCE", name, g1.tok, "SET", "fk", "x").Err(), "FENCED")

	// REVOKE frees the lock: a try-lock succeeds, with a larger token.
	eq(t, "REVOKE of the last holder", must(rdbs[2].Do(ctx, "CAIRN.REVOKE", g2.lease).Result()), any("OK"))
	tok4, lease4 := ints("CAIRN.LOCK after REVOKE", rdbs[0].Do(ctx, "CAIRN.LOCK", name, 60000))
	if tok4 <= g2.tok {
		t.Fatalf("token %d after %d", tok4, g2.tok)
	}
	// LEASE: a second lock on the same lease.
	tok5, lease5 := ints("CAIRN.LOCK LEASE", rdbs[1].Do(ctx, "CAIRN.LOCK", "L2", 60000, "LEASE", lease4))
	eq(t, "LOCK LEASE reuses the lease", lease5, lease4)
	eq(t, "REVOKE", must(rdbs[1].Do(ctx, "CAIRN.REVOKE", lease4).Result()), any("OK"))
	for _, l := range []string{name, "L2"} {
		if _, _, held, err := svc.LockHolder(ctx, []byte(l)); err != nil || held {
			t.Fatalf("lock %s held after its lease was revoked (%v)", l, err)
		}
	}
	eq(t, "UNLOCK after REVOKE", must(rdbs[0].Do(ctx, "CAIRN.UNLOCK", "L2", tok5).Int64()), int64(0))
	// Syntax.
	wantErr("LOCK bad ttl", rdbs[0].Do(ctx, "CAIRN.LOCK", name, "x").Err(), "ERR value is not an integer")
	wantErr("LOCK bad option", rdbs[0].Do(ctx, "CAIRN.LOCK", name, 1000, "NOPE", 1).Err(), "ERR syntax error")
	wantErr("FENCE bad op", rdbs[0].Do(ctx, "CAIRN.FENCE", name, 1, "GET", "k").Err(), "ERR syntax error")
}
