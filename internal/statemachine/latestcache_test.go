package statemachine

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/storage"
)

func TestLatestCacheFillAfterUpdateRefused(t *testing.T) {
	c := newLatestCache(1 << 20)
	k := []byte("k")
	hit, gen, _ := c.get(k, nil)
	if hit {
		t.Fatal("hit in an empty cache")
	}
	c.update("k", []byte("new")) // the applier wins the race
	c.fill(k, []byte("old"), gen)
	var got []byte
	if hit, _, _ := c.get(k, func(rec []byte) error { got = bytes.Clone(rec); return nil }); !hit || string(got) != "new" {
		t.Fatalf("got hit=%v %q, want the applier's record", hit, got)
	}
	c.update("k", nil) // deleted
	if hit, gen, _ = c.get(k, nil); hit {
		t.Fatal("deleted key still cached")
	}
	c.invalidateAll()
	c.fill(k, []byte("stale"), gen) // read before the invalidation
	if hit, _, _ := c.get(k, nil); hit {
		t.Fatal("a fill older than invalidateAll was kept")
	}
}

func TestLatestCacheBudget(t *testing.T) {
	c := newLatestCache(cacheShards * 4096)
	val := bytes.Repeat([]byte("v"), 200)
	for i := range 10000 {
		c.update(strconv.Itoa(i), bytes.Clone(val))
	}
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		if s.bytes > c.budget {
			t.Fatalf("shard %d holds %d bytes, budget %d", i, s.bytes, c.budget)
		}
		n += len(s.m)
	}
	if n == 0 || n > cacheShards*4096/200 {
		t.Fatalf("%d entries cached", n)
	}
	// Records too large to cache are dropped, not stored.
	c.update("big", make([]byte, maxCachedRecord+1))
	if hit, _, _ := c.get([]byte("big"), nil); hit {
		t.Fatal("oversized record cached")
	}
	var nilCache *latestCache // disabled: every call is a miss
	nilCache.update("k", val)
	nilCache.fill([]byte("k"), val, 0)
	nilCache.invalidateAll()
	if hit, _, _ := nilCache.get([]byte("k"), nil); hit {
		t.Fatal("nil cache hit")
	}
}

// TestLatestCacheReadsNeverGoBack races readers against applies: a reader
// that has seen applied index i must then read a value written at index
// >= i, whether from the cache or from Pebble, and deletes must not be
// resurrected by a reader's fill.
func TestLatestCacheReadsNeverGoBack(t *testing.T) {
	e := newEnv(t)
	const keys, rounds = 4, 400
	var stop atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				k := []byte(fmt.Sprintf("k%d", (i+r)%keys))
				floor := e.sm.AppliedIndex()
				kv, _, err := e.sm.Get(k, 0)
				if err != nil {
					errc <- err
					return
				}
				if kv == nil {
					continue // deleted in this round
				}
				v, _ := strconv.ParseUint(string(kv.Value), 10, 64)
				// Each entry writes every key, so a key's value is at least
				// the index applied before the read began (minus the
				// delete entries, which are at odd rounds' ends).
				if v+2 < floor {
					errc <- fmt.Errorf("%s = %d after applied index %d", k, v, floor)
					return
				}
			}
		}()
	}
	for round := 0; round < rounds; round++ {
		var reqs []*command.Request
		idx := e.index + 1
		for k := range keys {
			reqs = append(reqs, &command.Request{Put: &command.PutRequest{Key: []byte(fmt.Sprintf("k%d", k)), Value: []byte(strconv.FormatUint(idx, 10))}})
		}
		e.apply(e.entry(reqs...))
		if round%50 == 49 {
			e.apply(e.entry(&command.Request{Delete: &command.DeleteRequest{Key: []byte("k"), End: []byte("l")}}))
			for k := range keys {
				if kv, _, err := e.sm.Get([]byte(fmt.Sprintf("k%d", k)), 0); err != nil || kv != nil {
					t.Fatalf("k%d after delete: %v %v", k, kv, err)
				}
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

// TestLatestCacheSnapshotRestore: records cached before a snapshot is
// installed must not be served after it.
func TestLatestCacheSnapshotRestore(t *testing.T) {
	src, dst := newEnv(t), newEnv(t)
	put := func(e *env, v string) {
		e.apply(e.entry(&command.Request{Put: &command.PutRequest{Key: []byte("k"), Value: []byte(v)}}))
	}
	put(src, "from-snapshot")
	put(dst, "cached")
	if kv, _, _ := dst.sm.Get([]byte("k"), 0); string(kv.Value) != "cached" {
		t.Fatalf("before restore: %v", kv)
	}
	body, index, err := src.sm.OpenSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	b := dst.db.NewBatch()
	defer b.Close()
	if err := dst.sm.Restore(b, body, index, src.sm.ConfState()); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	if err := dst.sm.Reload(); err != nil {
		t.Fatal(err)
	}
	if kv, _, _ := dst.sm.Get([]byte("k"), 0); kv == nil || string(kv.Value) != "from-snapshot" {
		t.Fatalf("after restore: %v", kv)
	}
	put(dst, "after") // the applier must not start from a stale cached version
	if kv, _, _ := dst.sm.Get([]byte("k"), 0); kv.Version != 2 || string(kv.Value) != "after" {
		t.Fatalf("after restore and put: %+v", kv)
	}
}

// checkLatestCache fails t if a cached record differs from the stored one:
// env.apply runs it after every Apply, so every state machine test also
// checks that all writes of latest records went through setLatest.
func checkLatestCache(t testing.TB, sm *StateMachine) {
	t.Helper()
	checkNoLatestNamespace(t, sm.db)
	c := sm.cache
	if c == nil {
		return
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		for k, rec := range s.m {
			var stored []byte
			uk, err := storage.LatestUserKey([]byte(k))
			var found bool
			if err == nil {
				var buf []byte
				found, err = newestVersion(sm.db, sm.group, uk, &buf, func(b []byte) error { stored = bytes.Clone(b); return nil })
			}
			if err != nil || !found || !bytes.Equal(stored, rec) {
				s.mu.RUnlock()
				t.Fatalf("latest cache holds %x for %q, store has %x (found %v, %v)", rec, k, stored, found, err)
			}
		}
		s.mu.RUnlock()
	}
}

// checkNoLatestNamespace fails if anything was written to the retired latest
// namespace (storage format 1): records live only in history.
func checkNoLatestNamespace(t testing.TB, db *storage.DB) {
	t.Helper()
	lo, _ := storage.RetiredLatestSpan(0)
	hi, _ := storage.HistorySpan(0) // the next namespace: every group's latest keys are in [lo, hi)
	it := db.NewIter(lo, hi)
	if it.First() {
		t.Errorf("the retired latest namespace holds %q", it.Key())
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
}
