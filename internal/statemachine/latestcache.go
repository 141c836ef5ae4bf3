package statemachine

import (
	"hash/maphash"
	"sync"
)

// latestCache holds encoded latest records by their storage key, so the
// hottest operations — a GET at the latest revision, and the read of the
// previous version every write does while applying — skip Pebble. Pebble's
// memtable is a skiplist holding every version and raft entry written since
// the last flush; profiles of GET and of followers' apply loops showed most
// of their CPU in its seeks.
//
// Coherence: the applier is the only writer of latest records. It updates
// the cache after each apply batch commits and before the applied index is
// published, so a reader that has waited for an index finds records at
// least that new. Readers fill the cache on a miss, but only if no update
// reached the key's shard between their Pebble read and the fill (a shard
// generation counter), so a fill can never resurrect an older record.
// Snapshot installation clears everything (invalidateAll).
//
// Entries are immutable byte slices, replaced whole; readers decode them
// without copying under the shard's read lock. Eviction is random within a
// shard once it exceeds its share of the byte budget.
type latestCache struct {
	seed   maphash.Seed
	budget int // bytes per shard
	shards [cacheShards]cacheShard
}

const (
	cacheShards = 64
	// maxCachedRecord bounds one entry: large values would evict many
	// small ones and gain little over Pebble's block cache.
	maxCachedRecord = 16 << 10
	// entryOverhead approximates the map, header and allocation rounding
	// cost of one entry (measured with a heap profile of 1M cached keys).
	entryOverhead = 112
)

type cacheShard struct {
	mu    sync.RWMutex
	gen   uint64 // bumped by every applier update and invalidation
	bytes int
	m     map[string][]byte
	_     [24]byte // keep shards on separate cache lines
}

// newLatestCache returns a cache of about budget bytes, or nil (every
// method of a nil cache is a no-op miss) when budget <= 0.
func newLatestCache(budget int64) *latestCache {
	if budget <= 0 {
		return nil
	}
	c := &latestCache{seed: maphash.MakeSeed(), budget: int(budget / cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[string][]byte)
	}
	return c
}

func (c *latestCache) shard(key []byte) *cacheShard {
	return &c.shards[maphash.Bytes(c.seed, key)%cacheShards]
}

func (c *latestCache) shardString(key string) *cacheShard {
	return &c.shards[maphash.String(c.seed, key)%cacheShards]
}

// get calls fn with the cached record of key under the shard's read lock
// and reports whether there was one. fn must not retain rec. On a miss it
// returns the shard generation to pass to fill.
func (c *latestCache) get(key []byte, fn func(rec []byte) error) (hit bool, gen uint64, err error) {
	if c == nil {
		return false, 0, nil
	}
	s := c.shard(key)
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.m[string(key)]
	if !ok {
		return false, s.gen, nil
	}
	return true, 0, fn(rec)
}

// fill caches rec (copied) for key if the shard has not changed since gen
// was read. Readers call it after a miss.
func (c *latestCache) fill(key, rec []byte, gen uint64) {
	if c == nil || len(rec) > maxCachedRecord {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return
	}
	if _, ok := s.m[string(key)]; ok {
		return
	}
	s.insert(string(key), append([]byte(nil), rec...), c.budget)
}

// update records the applier's new latest record of key (nil: the key was
// deleted). rec is owned by the cache from here.
func (c *latestCache) update(key string, rec []byte) {
	if c == nil {
		return
	}
	s := c.shardString(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	if old, ok := s.m[key]; ok {
		delete(s.m, key)
		s.bytes -= len(key) + len(old) + entryOverhead
	}
	if rec != nil && len(rec) <= maxCachedRecord {
		s.insert(key, rec, c.budget)
	}
}

func (s *cacheShard) insert(key string, rec []byte, budget int) {
	s.m[key] = rec
	s.bytes += len(key) + len(rec) + entryOverhead
	for k, v := range s.m {
		if s.bytes <= budget {
			break
		}
		if k == key {
			continue
		}
		delete(s.m, k)
		s.bytes -= len(k) + len(v) + entryOverhead
	}
}

// invalidateAll empties the cache; fills that started before are refused.
func (c *latestCache) invalidateAll() {
	if c == nil {
		return
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.gen++
		clear(s.m)
		s.bytes = 0
		s.mu.Unlock()
	}
}
