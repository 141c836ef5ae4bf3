package respserver_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/testcluster"
	"github.com/redis/go-redis/v9"
)

// Integration tests: go-redis (RESP2 and RESP3) against an in-process
// 3-node cluster, clients spread over every node (followers forward
// writes to the leader and read through ReadIndex).

func newClient(t *testing.T, addr string, proto int) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, DialTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func clients(t *testing.T, c *testcluster.Cluster, proto int) []*redis.Client {
	var out []*redis.Client
	for _, nd := range c.Running() {
		out = append(out, newClient(t, nd.Server.RESPAddr(), proto))
	}
	return out
}

func TestClusterGoRedis(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{})
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			rdbs := clients(t, c, proto)
			ctx := context.Background()
			p := fmt.Sprintf("p%d:", proto)
			t.Run("commands", func(t *testing.T) { testCommands(t, ctx, rdbs, p) })
			t.Run("pipeline", func(t *testing.T) { testGoRedisPipeline(t, ctx, rdbs, p) })
			t.Run("incr", func(t *testing.T) { testConcurrentIncr(t, ctx, rdbs, p) })
			t.Run("watch", func(t *testing.T) { testWatch(t, ctx, rdbs, p) })
		})
	}
}

// must returns v, panicking (which fails the test with a stack trace) if
// err is set.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// testCommands runs every supported command through go-redis's typed API:
// writes on one node, reads on another (linearizable by default).
func testCommands(t *testing.T, ctx context.Context, rdbs []*redis.Client, p string) {
	w, r := rdbs[0], rdbs[1]
	k := func(s string) string { return p + s }

	eq(t, "PING", must(w.Ping(ctx).Result()), "PONG")
	eq(t, "ECHO", must(w.Echo(ctx, "hi").Result()), "hi")
	eq(t, "SET", must(w.Set(ctx, k("a"), "1", 0).Result()), "OK")
	eq(t, "GET", must(r.Get(ctx, k("a")).Result()), "1")
	if _, err := r.Get(ctx, k("missing")).Result(); err != redis.Nil {
		t.Fatalf("GET missing: %v", err)
	}
	eq(t, "SETNX", must(w.SetNX(ctx, k("a"), "2", 0).Result()), false)
	eq(t, "SET XX", must(w.SetXX(ctx, k("a"), "3", 0).Result()), true)
	eq(t, "SET GET", must(w.SetArgs(ctx, k("a"), "4", redis.SetArgs{Get: true}).Result()), "3")
	eq(t, "SET EX", must(w.Set(ctx, k("a"), "5", time.Minute).Result()), "OK")
	eq(t, "GETSET", must(w.GetSet(ctx, k("a"), "6").Result()), "5")
	eq(t, "GETDEL", must(w.GetDel(ctx, k("a")).Result()), "6")
	eq(t, "MSET", must(w.MSet(ctx, k("m1"), "x", k("m2"), "y").Result()), "OK")
	got := must(r.MGet(ctx, k("m1"), k("m2"), k("m3")).Result())
	if len(got) != 3 || got[0] != "x" || got[1] != "y" || got[2] != nil {
		t.Fatalf("MGET = %v", got)
	}
	eq(t, "MSETNX", must(w.MSetNX(ctx, k("m1"), "z", k("m4"), "w").Result()), false)
	eq(t, "APPEND", must(w.Append(ctx, k("s"), "hello").Result()), int64(5))
	eq(t, "STRLEN", must(r.StrLen(ctx, k("s")).Result()), int64(5))
	eq(t, "GETRANGE", must(r.GetRange(ctx, k("s"), 1, -2).Result()), "ell")
	eq(t, "SETRANGE", must(w.SetRange(ctx, k("s"), 5, "!").Result()), int64(6))
	eq(t, "INCR", must(w.Incr(ctx, k("n")).Result()), int64(1))
	eq(t, "INCRBY", must(w.IncrBy(ctx, k("n"), 10).Result()), int64(11))
	eq(t, "DECR", must(w.Decr(ctx, k("n")).Result()), int64(10))
	eq(t, "DECRBY", must(w.DecrBy(ctx, k("n"), 4).Result()), int64(6))
	eq(t, "INCRBYFLOAT", must(w.IncrByFloat(ctx, k("n"), 0.5).Result()), 6.5)
	if err := w.Incr(ctx, k("s")).Err(); err == nil || err.Error() != "ERR value is not an integer or out of range" {
		t.Fatalf("INCR of a string: %v", err)
	}
	eq(t, "EXISTS", must(r.Exists(ctx, k("s"), k("n"), k("nope")).Result()), int64(2))
	eq(t, "TYPE", must(r.Type(ctx, k("s")).Result()), "string")
	eq(t, "RENAME", must(w.Rename(ctx, k("s"), k("s2")).Result()), "OK")
	eq(t, "RENAMENX", must(w.RenameNX(ctx, k("s2"), k("n")).Result()), false)
	if err := w.Rename(ctx, k("nope"), k("x")).Err(); err == nil || err.Error() != "ERR no such key" {
		t.Fatalf("RENAME of a missing key: %v", err)
	}
	keys := must(r.Keys(ctx, p+"m*").Result())
	slices.Sort(keys)
	if !slices.Equal(keys, []string{k("m1"), k("m2")}) {
		t.Fatalf("KEYS = %v", keys)
	}
	var scanned []string
	iter := r.Scan(ctx, 0, p+"*", 2).Iterator()
	for iter.Next(ctx) {
		scanned = append(scanned, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(scanned)
	if want := []string{k("m1"), k("m2"), k("n"), k("s2")}; !slices.Equal(scanned, want) {
		t.Fatalf("SCAN = %v, want %v", scanned, want)
	}
	eq(t, "DEL", must(w.Del(ctx, k("m1"), k("m2"), k("nope")).Result()), int64(2))
	eq(t, "UNLINK", must(w.Unlink(ctx, k("n")).Result()), int64(1))
	if n := must(r.DBSize(ctx).Result()); n < 1 {
		t.Fatalf("DBSIZE = %d", n)
	}
	if _, err := r.RandomKey(ctx).Result(); err != nil {
		t.Fatalf("RANDOMKEY: %v", err)
	}
	if tm := must(r.Time(ctx).Result()); time.Since(tm).Abs() > time.Minute {
		t.Fatalf("TIME = %v", tm)
	}
	if id := must(r.ClientID(ctx).Result()); id < 1 {
		t.Fatalf("CLIENT ID = %d", id)
	}
	info := must(r.Info(ctx, "replication").Result())
	if !containsAny(info, "role:master", "role:slave") {
		t.Fatalf("INFO replication:\n%s", info)
	}
	if cmds := must(r.Command(ctx).Result()); cmds["get"] == nil || cmds["get"].Arity != 2 {
		t.Fatalf("COMMAND: get = %+v", cmds["get"])
	}
	// READONLY: stale reads on this connection (a dedicated one).
	conn := r.Conn()
	defer conn.Close()
	eq(t, "READONLY", must(conn.ReadOnly(ctx).Result()), "OK")
	eq(t, "SET via readonly conn", must(conn.Set(ctx, k("ro"), "v", 0).Result()), "OK")
	eq(t, "stale GET of own write", must(conn.Get(ctx, k("ro")).Result()), "v")
	eq(t, "READWRITE", must(conn.ReadWrite(ctx).Result()), "OK")
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		for i := 0; i+len(sub) <= len(s); i++ {
			if s[i:i+len(sub)] == sub {
				return true
			}
		}
	}
	return false
}

func testGoRedisPipeline(t *testing.T, ctx context.Context, rdbs []*redis.Client, p string) {
	for i, rdb := range rdbs {
		pipe := rdb.Pipeline()
		for j := range 200 {
			pipe.Set(ctx, fmt.Sprintf("%spipe:%d:%d", p, i, j), j, 0)
		}
		get := pipe.Get(ctx, fmt.Sprintf("%spipe:%d:%d", p, i, 199))
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("pipeline on node %d: %v", i, err)
		}
		eq(t, "GET in pipeline", get.Val(), "199")
	}
}

// testConcurrentIncr: INCR from many clients on every node sums exactly.
func testConcurrentIncr(t *testing.T, ctx context.Context, rdbs []*redis.Client, p string) {
	const workers, each = 4, 25
	key := p + "counter"
	var wg sync.WaitGroup
	for _, rdb := range rdbs {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					if err := rdb.Incr(ctx, key).Err(); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	for i, rdb := range rdbs {
		eq(t, fmt.Sprintf("counter on node %d", i), must(rdb.Get(ctx, key).Result()), strconv.Itoa(len(rdbs)*workers*each))
	}
}

// testWatch: optimistic increments with WATCH/MULTI/EXEC from every node,
// retried on conflict, sum exactly, and conflicts do happen.
func testWatch(t *testing.T, ctx context.Context, rdbs []*redis.Client, p string) {
	key := p + "watched"
	const workers, each = 3, 10
	var mu sync.Mutex
	conflicts := 0
	var wg sync.WaitGroup
	for _, rdb := range rdbs {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					for {
						err := rdb.Watch(ctx, func(tx *redis.Tx) error {
							n, err := tx.Get(ctx, key).Int()
							if err != nil && err != redis.Nil {
								return err
							}
							_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
								pipe.Set(ctx, key, n+1, 0)
								return nil
							})
							return err
						}, key)
						if errors.Is(err, redis.TxFailedErr) {
							mu.Lock()
							conflicts++
							mu.Unlock()
							continue
						}
						if err != nil {
							t.Error(err)
							return
						}
						break
					}
				}
			}()
		}
	}
	wg.Wait()
	eq(t, "watched counter", must(rdbs[0].Get(ctx, key).Result()), strconv.Itoa(len(rdbs)*workers*each))
	t.Logf("%d WATCH conflicts retried", conflicts)

	// A deterministic conflict: a write between WATCH and EXEC.
	rdb := rdbs[0]
	err := rdb.Watch(ctx, func(tx *redis.Tx) error {
		if err := rdbs[1].Set(ctx, key, "changed", 0).Err(); err != nil {
			return err
		}
		_, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Set(ctx, key, "mine", 0)
			return nil
		})
		return err
	}, key)
	if !errors.Is(err, redis.TxFailedErr) {
		t.Fatalf("EXEC after a conflicting write: %v", err)
	}
	eq(t, "value after the failed EXEC", must(rdb.Get(ctx, key).Result()), "changed")
	// MULTI without WATCH: all commands in one txn, replies in order.
	cmds, err := rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, p+"tx", "1", 0)
		pipe.Incr(ctx, p+"tx")
		pipe.Get(ctx, p+"tx")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "GET in MULTI", cmds[2].(*redis.StringCmd).Val(), "2")
}
