package respserver_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cairndb/cairn/internal/testcluster"
	"github.com/redis/go-redis/v9"
)

// TestClusterTTL checks Redis's expiry semantics through go-redis on a
// 3-node cluster: writes on one node, reads on another.
func TestClusterTTL(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{})
	rdbs := clients(t, c, 3)
	w, r := rdbs[0], rdbs[1]
	ctx := context.Background()
	hour := time.Hour

	inRange := func(what string, got, lo, hi int64) {
		t.Helper()
		if got < lo || got > hi {
			t.Fatalf("%s = %d, want in [%d, %d]", what, got, lo, hi)
		}
	}
	ttl := func(k string) int64 { return int64(must(r.TTL(ctx, k).Result()) / time.Second) }
	pttl := func(k string) int64 { return must(r.PTTL(ctx, k).Result()).Milliseconds() }

	// go-redis reports -1 and -2 as durations of -1ns and -2ns.
	eq(t, "TTL missing", must(r.TTL(ctx, "t:missing").Result()), time.Duration(-2))
	eq(t, "PTTL missing", must(r.PTTL(ctx, "t:missing").Result()), time.Duration(-2))
	eq(t, "SET", must(w.Set(ctx, "t:plain", "v", 0).Result()), "OK")
	eq(t, "TTL plain", must(r.TTL(ctx, "t:plain").Result()), time.Duration(-1))
	eq(t, "EXPIRETIME plain", must(r.ExpireTime(ctx, "t:plain").Result()), time.Duration(-1))

	// INFO keyspace counts the keys with a TTL and their mean TTL.
	keyspace := func() (keys, expires, avgTTL int64) {
		t.Helper()
		info := must(w.Info(ctx, "keyspace").Result())
		i := strings.Index(info, "db0:")
		if i < 0 {
			t.Fatalf("INFO keyspace:\n%s", info)
		}
		if _, err := fmt.Sscanf(info[i:], "db0:keys=%d,expires=%d,avg_ttl=%d", &keys, &expires, &avgTTL); err != nil {
			t.Fatalf("INFO keyspace %q: %v", info[i:], err)
		}
		return keys, expires, avgTTL
	}
	if k, e, a := keyspace(); k != 1 || e != 0 || a != 0 {
		t.Fatalf("INFO keyspace with one plain key: keys=%d expires=%d avg_ttl=%d", k, e, a)
	}
	must(w.Set(ctx, "t:info1", "v", 1000*time.Second).Result())
	must(w.Set(ctx, "t:info2", "v", 3000*time.Second).Result())
	if k, e, a := keyspace(); k != 3 || e != 2 {
		t.Fatalf("INFO keyspace: keys=%d expires=%d, want 3 and 2", k, e)
	} else {
		inRange("INFO keyspace avg_ttl", a, 1_990_000, 2_000_000)
	}
	must(w.Persist(ctx, "t:info1").Result())
	must(w.Del(ctx, "t:info2").Result())
	if k, e, _ := keyspace(); k != 2 || e != 0 {
		t.Fatalf("INFO keyspace after PERSIST and DEL: keys=%d expires=%d, want 2 and 0", k, e)
	}

	for _, tc := range []struct {
		name string
		set  func(k string) error
		lo   int64 // TTL bounds in ms
		hi   int64
	}{
		{"SET EX", func(k string) error { return w.Set(ctx, k, "v", 100*time.Second).Err() }, 99_000, 100_000},
		{"SET PX", func(k string) error { return w.Set(ctx, k, "v", 100_500*time.Millisecond).Err() }, 99_500, 100_500},
		{"SET EXAT", func(k string) error {
			return w.SetArgs(ctx, k, "v", redis.SetArgs{ExpireAt: time.Now().Add(200 * time.Second)}).Err()
		}, 198_000, 200_000},
		{"SETEX", func(k string) error { return w.SetEx(ctx, k, "v", 50*time.Second).Err() }, 49_000, 50_000},
		{"PSETEX", func(k string) error { return w.Do(ctx, "PSETEX", k, 5000, "v").Err() }, 4_000, 5_000},
		{"SET then EXPIRE", func(k string) error {
			w.Set(ctx, k, "v", 0)
			return w.Expire(ctx, k, 30*time.Second).Err()
		}, 29_000, 30_000},
		{"SET then PEXPIREAT", func(k string) error {
			w.Set(ctx, k, "v", 0)
			return w.PExpireAt(ctx, k, time.Now().Add(hour)).Err()
		}, 3_598_000, 3_600_000},
		{"SET PXAT", func(k string) error {
			return w.Do(ctx, "SET", k, "v", "PXAT", time.Now().Add(150*time.Second).UnixMilli()).Err()
		}, 149_000, 150_000},
		{"SET then PEXPIRE", func(k string) error {
			w.Set(ctx, k, "v", 0)
			return w.PExpire(ctx, k, 40_500*time.Millisecond).Err()
		}, 39_500, 40_500},
		{"SET then EXPIREAT", func(k string) error {
			w.Set(ctx, k, "v", 0)
			return w.ExpireAt(ctx, k, time.Now().Add(300*time.Second)).Err() // whole seconds
		}, 298_000, 300_000},
		{"SET GET EX", func(k string) error {
			w.Set(ctx, k, "old", 0)
			old, err := w.SetArgs(ctx, k, "v", redis.SetArgs{Get: true, TTL: 70 * time.Second}).Result()
			if err == nil && old != "old" {
				err = fmt.Errorf("SET GET EX returned %q, want the old value", old)
			}
			return err
		}, 69_000, 70_000},
		{"SET KEEPTTL GET", func(k string) error {
			w.Set(ctx, k, "old", 80*time.Second)
			old, err := w.Do(ctx, "SET", k, "v", "KEEPTTL", "GET").Text()
			if err == nil && old != "old" {
				err = fmt.Errorf("SET KEEPTTL GET returned %q, want the old value", old)
			}
			return err
		}, 79_000, 80_000},
	} {
		k := "t:" + tc.name
		before := time.Now().UnixMilli()
		if err := tc.set(k); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		inRange(tc.name+" PTTL", pttl(k), tc.lo, tc.hi)
		inRange(tc.name+" TTL", ttl(k), tc.lo/1000, (tc.hi+999)/1000)
		at := must(r.PExpireTime(ctx, k).Result()).Milliseconds()
		inRange(tc.name+" PEXPIRETIME", at, before+tc.lo, time.Now().UnixMilli()+tc.hi)
		eq(t, tc.name+" GET", must(r.Get(ctx, k).Result()), "v")
	}

	// EXPIRE's conditions; -1/-2 replies; PERSIST.
	k := "t:cond"
	w.Set(ctx, k, "v", 0)
	eq(t, "EXPIRE XX on persistent", must(w.ExpireXX(ctx, k, hour).Result()), false)
	eq(t, "EXPIRE GT on persistent", must(w.ExpireGT(ctx, k, hour).Result()), false)
	eq(t, "EXPIRE NX", must(w.ExpireNX(ctx, k, hour).Result()), true)
	eq(t, "EXPIRE NX again", must(w.ExpireNX(ctx, k, 2*hour).Result()), false)
	eq(t, "EXPIRE GT shorter", must(w.ExpireGT(ctx, k, hour/2).Result()), false)
	eq(t, "EXPIRE GT longer", must(w.ExpireGT(ctx, k, 2*hour).Result()), true)
	eq(t, "EXPIRE LT longer", must(w.ExpireLT(ctx, k, 3*hour).Result()), false)
	eq(t, "EXPIRE LT shorter", must(w.ExpireLT(ctx, k, hour).Result()), true)
	eq(t, "EXPIRE XX", must(w.ExpireXX(ctx, k, hour).Result()), true)
	inRange("EXPIRETIME", int64(must(r.ExpireTime(ctx, k).Result())/time.Second), time.Now().Add(hour).Unix()-2, time.Now().Add(hour).Unix()+1)
	eq(t, "INCR keeps TTL", must(w.Do(ctx, "SET", k, "1", "KEEPTTL").Result()), any("OK"))
	must(w.Incr(ctx, k).Result())
	inRange("TTL after INCR", ttl(k), 3590, 3600)
	must(w.Rename(ctx, k, "t:cond2").Result())
	inRange("TTL after RENAME", ttl("t:cond2"), 3590, 3600)
	eq(t, "PERSIST", must(w.Persist(ctx, "t:cond2").Result()), true)
	eq(t, "PERSIST again", must(w.Persist(ctx, "t:cond2").Result()), false)
	eq(t, "TTL persisted", must(r.TTL(ctx, "t:cond2").Result()), time.Duration(-1))
	w.Expire(ctx, "t:cond2", hour)
	w.Set(ctx, "t:cond2", "x", 0)
	eq(t, "SET drops TTL", must(r.TTL(ctx, "t:cond2").Result()), time.Duration(-1))
	eq(t, "EXPIRE missing", must(w.Expire(ctx, "t:missing", hour).Result()), false)
	eq(t, "PERSIST missing", must(w.Persist(ctx, "t:missing").Result()), false)
	// A time in the past deletes at once.
	eq(t, "EXPIRE negative", must(w.Expire(ctx, "t:cond2", -time.Second).Result()), true)
	eq(t, "EXISTS after", must(r.Exists(ctx, "t:cond2").Result()), int64(0))
	// SET NX EX on an existing key does not touch its TTL.
	w.Set(ctx, "t:nx", "v", 0)
	eq(t, "SET NX EX existing", must(w.SetNX(ctx, "t:nx", "w", hour).Result()), false)
	eq(t, "TTL after failed SET NX EX", must(r.TTL(ctx, "t:nx").Result()), time.Duration(-1))
	// Errors, as Redis words them.
	for _, args := range [][]any{{"SET", "x", "v", "EX", 0}, {"SET", "x", "v", "PX", -1}, {"SETEX", "x", 0, "v"}} {
		err := w.Do(ctx, args...).Err()
		if err == nil || err.Error() != fmt.Sprintf("ERR invalid expire time in '%s' command", map[bool]string{true: "set", false: "setex"}[args[0] == "SET"]) {
			t.Fatalf("%v: %v", args, err)
		}
	}
	if err := w.Do(ctx, "EXPIRE", "x", 10, "NX", "XX").Err(); err == nil {
		t.Fatal("EXPIRE NX XX accepted")
	}

	// Expiry: short TTLs vanish, on every node, in one replicated deletion.
	start := time.Now()
	for i := range 20 {
		must(w.Set(ctx, fmt.Sprintf("t:short%d", i), "v", 300*time.Millisecond).Result())
	}
	must(w.Set(ctx, "t:long", "v", hour).Result())
	c.Eventually(10*time.Second, "short keys to be reaped", func() error {
		for _, rdb := range rdbs {
			n, err := rdb.Exists(ctx, "t:short0", "t:short19").Result()
			if err != nil {
				return err
			}
			if n != 0 {
				return errors.New("still there")
			}
		}
		return nil
	})
	if time.Since(start) < 300*time.Millisecond {
		t.Fatal("keys vanished before their TTL")
	}
	c.Eventually(10*time.Second, "the deletions to be replicated", func() error {
		for _, nd := range c.Running() {
			// A read at an explicit revision is not filtered by the
			// serving node's clock: it shows what is stored.
			svc := nd.Server.Service()
			res, _, err := svc.Range(ctx, &command.RangeRequest{Key: []byte("t:short"), End: []byte("t:shoru"), Revision: svc.Revision()},
				service.ReadOptions{Consistency: service.Stale})
			if err != nil {
				return err
			}
			if res.Count != 0 {
				return fmt.Errorf("%s still stores %d short-lived keys", nd.Name, res.Count)
			}
		}
		return nil
	})
	c.WaitConverged(10 * time.Second)
	eq(t, "long-lived key", must(r.Get(ctx, "t:long").Result()), "v")
}
