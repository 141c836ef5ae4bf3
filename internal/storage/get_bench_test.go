package storage

import (
	"fmt"
	"testing"
)

// Point reads through Pebble as the state machine does them: latest-version
// keys of 100k user keys (key:%010d, 256-byte values) and, as in a real
// store, as many history keys, all flushed and compacted into sstables.
//
//	go test ./internal/storage -run '^$' -bench Get -benchmem
//
// Custom metrics: block-cache-hit% and filter-skip% (share of sstable
// probes the bloom filter answered "absent") over the measured loop.
//
// The cache=64MiB case is the server's default (storage.Open, CacheSize
// 0). Pebble charges every memtable (32 MiB each here, plus one recycled
// memtable it keeps) against the block cache, so with the defaults the
// cache keeps almost nothing once the memtables have grown to full size;
// cache=128MiB shows what a larger cache buys.

const benchKeys = 100_000

func benchDB(b *testing.B, cache int64) (*DB, [][]byte, [][]byte) {
	b.Helper()
	d, err := Open(b.TempDir(), Options{CacheSize: cache})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close() })
	val := make([]byte, 256+24) // the record header of the state machine
	for i := range val {
		val[i] = byte('a' + i%26)
	}
	batch := d.NewBatch()
	for i := range benchKeys {
		k := fmt.Appendf(nil, "key:%010d", i)
		batch.Set(LatestKey(0, k), val)
		batch.Set(HistoryKey(0, k, uint64(i+1)), val)
		if batch.Len() > 4<<20 {
			if err := batch.Commit(false); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
	if err := batch.Commit(false); err != nil {
		b.Fatal(err)
	}
	batch.Close()
	if err := d.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := d.CompactRange([]byte{0}, []byte{0xff}); err != nil {
		b.Fatal(err)
	}
	hits := make([][]byte, 4096)
	misses := make([][]byte, 4096)
	for i := range hits {
		k := fmt.Appendf(nil, "key:%010d", i*7919%benchKeys)
		hits[i] = LatestKey(0, k)
		misses[i] = LatestKey(0, append(k, 'x')) // between two stored keys
	}
	// Warm the cache with one pass over the keys the loop will read.
	for _, k := range hits {
		if _, err := d.Get(k); err != nil {
			b.Fatal(err)
		}
	}
	return d, hits, misses
}

type cacheCounters struct{ hits, misses, filterHits, filterMisses int64 }

func counters(d *DB) cacheCounters {
	m := d.db.Metrics()
	return cacheCounters{m.BlockCache.Hits, m.BlockCache.Misses, m.Filter.Hits, m.Filter.Misses}
}

func reportCache(b *testing.B, d *DB, before cacheCounters) {
	after := counters(d)
	h, m := after.hits-before.hits, after.misses-before.misses
	if h+m > 0 {
		b.ReportMetric(100*float64(h)/float64(h+m), "block-cache-hit%")
	}
	fh, fm := after.filterHits-before.filterHits, after.filterMisses-before.filterMisses
	if fh+fm > 0 {
		b.ReportMetric(100*float64(fh)/float64(fh+fm), "filter-skip%")
	}
}

func BenchmarkGet(b *testing.B) {
	for _, cache := range []int64{0, 128 << 20} {
		name := "cache=64MiB"
		if cache > 0 {
			name = fmt.Sprintf("cache=%dMiB", cache>>20)
		}
		b.Run(name, func(b *testing.B) {
			d, hits, misses := benchDB(b, cache)
			b.Run("hit", func(b *testing.B) {
				before := counters(d)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := d.Get(hits[i&4095]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				reportCache(b, d, before)
			})
			b.Run("hit_nocopy", func(b *testing.B) {
				before := counters(d)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := d.GetFunc(hits[i&4095], func([]byte) error { return nil }); err != nil {
						b.Fatal(err)
					}
					i++
				}
				reportCache(b, d, before)
			})
			b.Run("miss_in_range", func(b *testing.B) {
				before := counters(d)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := d.Get(misses[i&4095]); err != ErrNotFound {
						b.Fatal(err)
					}
					i++
				}
				reportCache(b, d, before)
			})
		})
	}
}

// BenchmarkGetMemtable reads keys still in the memtable (recent writes).
func BenchmarkGetMemtable(b *testing.B) {
	d, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close() })
	batch := d.NewBatch()
	keys := make([][]byte, 4096)
	val := make([]byte, 280)
	for i := range keys {
		keys[i] = LatestKey(0, fmt.Appendf(nil, "key:%010d", i))
		batch.Set(keys[i], val)
	}
	if err := batch.Commit(false); err != nil {
		b.Fatal(err)
	}
	batch.Close()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := d.Get(keys[i&4095]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
