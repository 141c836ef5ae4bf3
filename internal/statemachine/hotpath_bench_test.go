package statemachine

import (
	"fmt"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/raftnode"
	"github.com/cairndb/cairn/internal/storage"
)

// Hot-path benchmarks of the state machine on a real on-disk Pebble with
// the server's defaults (64 MiB block cache, 32 MiB memtables), unlike
// newEnv's 1 MiB in-memory store. Values are 256 bytes and keys
// key:%010d, as `cairn bench` writes them. Run:
//
//	go test ./internal/statemachine -run '^$' -bench 'Hot' -benchmem

const hotValueSize = 256

func hotKey(i int) []byte { return fmt.Appendf(nil, "key:%010d", i) }

type hotEnv struct {
	db    *storage.DB
	sm    *StateMachine
	index uint64
	id    uint64
}

func newHotEnv(b *testing.B) *hotEnv { return newHotEnvCache(b, 0) }

// newHotEnvCache is newHotEnv with a block cache of cache bytes (0: the
// default, 64 MiB, of which Pebble's memtable reservations leave almost
// nothing; see internal/storage/get_bench_test.go).
func newHotEnvCache(b *testing.B, cache int64) *hotEnv {
	b.Helper()
	db, err := storage.Open(b.TempDir(), storage.Options{CacheSize: cache})
	if err != nil {
		b.Fatal(err)
	}
	sm, err := Open(db, 0, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sm.Close(); _ = db.Close() })
	return &hotEnv{db: db, sm: sm}
}

// putEntry returns one entry holding a Put of every key in keys.
func (h *hotEnv) putEntry(keys []int, val []byte) raftnode.Entry {
	h.index++
	e := raftnode.Entry{Index: h.index, Term: 1}
	for _, k := range keys {
		h.id++
		e.Proposals = append(e.Proposals, command.EncodeRequest(nil,
			&command.Request{ID: h.id, Put: &command.PutRequest{Key: hotKey(k), Value: val}}))
	}
	return e
}

// load writes keys [0, n) in entries of 256 puts.
func (h *hotEnv) load(b *testing.B, n int) {
	b.Helper()
	val := make([]byte, hotValueSize)
	for lo := 0; lo < n; lo += 256 {
		var ks []int
		for k := lo; k < min(lo+256, n); k++ {
			ks = append(ks, k)
		}
		if err := h.sm.Apply([]raftnode.Entry{h.putEntry(ks, val)}); err != nil {
			b.Fatal(err)
		}
	}
}

// settle flushes the memtable and compacts everything, so that no
// background compaction runs during the measurement (it would replace
// sstables and so empty the block cache under the benchmark).
func (h *hotEnv) settle(b *testing.B) {
	b.Helper()
	if err := h.db.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := h.db.CompactRange([]byte{0}, []byte{0xff}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkHotApplyPuts applies one entry of n Puts (256 B values, keys
// spread over 10k) per iteration: a raft Ready's worth of pipelined SETs.
// ns/op and allocs/op are per entry; ns/put per Put.
func BenchmarkHotApplyPuts(b *testing.B) {
	for _, n := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("puts=%d", n), func(b *testing.B) { benchApplyPuts(b, n, 0, 0) })
	}
	// The same with a block cache that survives the memtable reservations.
	b.Run("puts=64/cache=128MiB", func(b *testing.B) { benchApplyPuts(b, 64, 128<<20, 0) })
	// Puts carrying the proposer's clock, as the service proposes them: each
	// first checks whether its key is due for lazy expiry.
	b.Run("puts=64/now", func(b *testing.B) { benchApplyPuts(b, 64, 0, 1798761600000) })
}

func benchApplyPuts(b *testing.B, n int, cache, now int64) {
	h := newHotEnvCache(b, cache)
	val := make([]byte, hotValueSize)
	props := make([][]byte, n)
	for i := range props {
		props[i] = command.EncodeRequest(nil, &command.Request{ID: benchID(uint64(i + 1)), Now: now,
			Put: &command.PutRequest{Key: hotKey(i * 7919 % 10000), Value: val}})
	}
	entries := []raftnode.Entry{{Term: 1, Proposals: props}}
	b.SetBytes(int64(n * hotValueSize))
	b.ReportAllocs()
	for b.Loop() {
		h.index++
		entries[0].Index = h.index
		renumber(props, h.index*uint64(n))
		if err := h.sm.Apply(entries); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/put")
}

// BenchmarkHotGet is the point read behind GET: StateMachine.Get at the
// latest revision on 100k keys flushed to sstables (hit), and of absent
// keys inside the stored key range (miss: the bloom filters answer).
func BenchmarkHotGet(b *testing.B) {
	b.Run("cache=64MiB", func(b *testing.B) { benchHotGet(b, 0) })
	b.Run("cache=128MiB", func(b *testing.B) { benchHotGet(b, 128<<20) })
}

func benchHotGet(b *testing.B, cache int64) {
	h := newHotEnvCache(b, cache)
	const n = 100_000
	h.load(b, n)
	h.settle(b)
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = hotKey(i * 7919 % n)
	}
	missing := make([][]byte, 1024)
	for i := range missing {
		missing[i] = append(hotKey(i*7919%n), 'x') // sorts between two stored keys
	}
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			kv, _, err := h.sm.Get(keys[i&1023], 0)
			if err != nil || kv == nil {
				b.Fatal(kv, err)
			}
			i++
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			kv, _, err := h.sm.Get(missing[i&1023], 0)
			if err != nil || kv != nil {
				b.Fatal(kv, err)
			}
			i++
		}
	})
}

// BenchmarkHotRange100 reads 100 consecutive keys with values (latest, on
// a snapshot), keys only, count only, and at an older revision (history).
func BenchmarkHotRange100(b *testing.B) {
	h := newHotEnv(b)
	const n = 100_000
	h.load(b, n)
	old := h.sm.Revision()
	h.load(b, 1000) // a newer version of the first 1000 keys
	h.settle(b)
	for _, c := range []struct {
		name string
		req  command.RangeRequest
	}{
		{"values", command.RangeRequest{Limit: 100}},
		{"keys_only", command.RangeRequest{Limit: 100, KeysOnly: true}},
		{"count_only", command.RangeRequest{CountOnly: true}},
		{"at_old_revision", command.RangeRequest{Limit: 100, Revision: old}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				start := (i * 7919) % (n - 100)
				if c.name == "at_old_revision" {
					start = (i * 7) % 900 // inside the rewritten keys
				}
				req := c.req
				req.Key, req.End = hotKey(start), hotKey(start+100)
				res, _, err := h.sm.Range(&req)
				if err != nil || res.Count != 100 {
					b.Fatal(res, err)
				}
				i++
			}
		})
	}
}

// BenchmarkHotRangeVersions reads 100 consecutive keys (latest, values)
// when each key has about 100 uncompacted versions: the worst case of
// reading the latest revision from the history namespace, which skips each
// key's older versions.
func BenchmarkHotRangeVersions(b *testing.B) {
	h := newHotEnv(b)
	const n, versions = 1000, 100
	for range versions {
		h.load(b, n)
	}
	h.settle(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		start := (i * 7919) % (n - 100)
		req := command.RangeRequest{Key: hotKey(start), End: hotKey(start + 100), Limit: 100}
		res, _, err := h.sm.Range(&req)
		if err != nil || res.Count != 100 || res.KVs[0].Version != versions {
			b.Fatal(res, err)
		}
		i++
	}
}
