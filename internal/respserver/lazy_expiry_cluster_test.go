package respserver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/server"
	"github.com/cairndb/cairn/internal/testcluster"
	"github.com/redis/go-redis/v9"
)

// TestClusterLazyExpiry checks that a key whose TTL has passed is absent for
// the commands that read before they write and inside MULTI, as in Redis,
// before the leader has reaped it: the reaper is slowed to once an hour, so
// every expired key here is still stored when the commands run.
func TestClusterLazyExpiry(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{Configure: func(cfg *server.Config) {
		cfg.LessorInterval = time.Hour
	}})
	rdbs := clients(t, c, 3)
	w, r := rdbs[0], rdbs[1]
	ctx := context.Background()

	// setExpired writes k=v with a 50 ms TTL and waits until w's node
	// hides it (its clock is past the expiry; it stamps its proposals with
	// that clock).
	setExpired := func(k, v string) {
		t.Helper()
		must(w.Set(ctx, k, v, 50*time.Millisecond).Result())
		deadline := time.Now().Add(5 * time.Second)
		for must(w.Exists(ctx, k).Result()) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s still visible after its TTL", k)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	setExpired("lx:n", "5")
	eq(t, "INCR of an expired key", must(w.Incr(ctx, "lx:n").Result()), int64(1))
	eq(t, "GET elsewhere", must(r.Get(ctx, "lx:n").Result()), "1")
	eq(t, "TTL after INCR", must(r.TTL(ctx, "lx:n").Result()), time.Duration(-1))

	setExpired("lx:nx", "old")
	eq(t, "SET NX on an expired key", must(w.SetNX(ctx, "lx:nx", "new", 0).Result()), true)
	eq(t, "GET after SET NX", must(r.Get(ctx, "lx:nx").Result()), "new")

	setExpired("lx:setnx", "old")
	eq(t, "SETNX on an expired key", must(w.Do(ctx, "SETNX", "lx:setnx", "new").Int64()), int64(1))

	setExpired("lx:app", "abc")
	eq(t, "APPEND to an expired key", must(w.Append(ctx, "lx:app", "x").Result()), int64(1))

	setExpired("lx:gs", "old")
	if _, err := w.GetSet(ctx, "lx:gs", "new").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GETSET of an expired key: %v, want nil", err)
	}

	setExpired("lx:multi", "old")
	cmds, err := w.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Get(ctx, "lx:multi")
		pipe.Exists(ctx, "lx:multi")
		return nil
	})
	if !errors.Is(err, redis.Nil) {
		t.Fatalf("MULTI GET EXEC: %v, want nil reply", err)
	}
	if err := cmds[0].Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET in MULTI of an expired key: %v", cmds[0])
	}
	eq(t, "EXISTS in MULTI", cmds[1].(*redis.IntCmd).Val(), int64(0))
}
