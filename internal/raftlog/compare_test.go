package raftlog

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cairndb/cairn/internal/storage"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// TestCompareMemoryStorage drives random Append/Compact/ApplySnapshot
// sequences, sometimes several in one batch and sometimes with a reopen, on
// both Storage and raft.MemoryStorage, and checks that reads agree. Cache
// budgets vary so that reads are served from the cache, from Pebble and from
// both. Neighbouring groups must be left untouched.
func TestCompareMemoryStorage(t *testing.T) {
	for _, cache := range []int64{-1, 300, 0} {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("cache=%d/seed=%d", cache, seed), func(t *testing.T) {
				runCompare(t, rand.New(rand.NewPCG(seed, uint64(cache))), Options{CacheBytes: cache})
			})
		}
	}
}

const cmpGroup = 5

type cmpEnv struct {
	t    *testing.T
	rng  *rand.Rand
	fs   vfs.FS
	opts Options
	db   *storage.DB
	s    *Storage
	ms   *raft.MemoryStorage
	term uint64
}

func runCompare(t *testing.T, rng *rand.Rand, opts Options) {
	e := &cmpEnv{t: t, rng: rng, fs: vfs.NewMem(), opts: opts, ms: raft.NewMemoryStorage(), term: 1}
	e.open()
	defer func() { _ = e.db.Close() }()
	neighbours := e.fillNeighbours()

	for step := range 400 {
		b := e.db.NewBatch()
		ops := 1 + e.rng.IntN(3)
		for range ops {
			e.randomWrite(b, step)
		}
		if err := b.Commit(true); err != nil {
			t.Fatal(err)
		}
		b.Close()
		e.s.MarkDurable()
		if e.rng.IntN(20) == 0 {
			_ = e.db.Close()
			e.open()
		}
		e.check(step)
	}
	e.checkNeighbours(neighbours)
}

func (e *cmpEnv) open() {
	db, err := storage.Open("db", storage.Options{FS: e.fs})
	if err != nil {
		e.t.Fatal(err)
	}
	e.db = db
	if e.s, err = OpenWithOptions(db, cmpGroup, e.opts); err != nil {
		e.t.Fatal(err)
	}
}

// fillNeighbours writes logs for the groups around cmpGroup.
func (e *cmpEnv) fillNeighbours() map[uint64]*Storage {
	out := map[uint64]*Storage{}
	for _, g := range []uint64{cmpGroup - 1, cmpGroup + 1} {
		s, err := Open(e.db, g)
		if err != nil {
			e.t.Fatal(err)
		}
		b := e.db.NewBatch()
		if err := s.Append(b, []*pb.Entry{testEntry(1, 1, 0), testEntry(2, 1, 0)}); err != nil {
			e.t.Fatal(err)
		}
		if err := b.Commit(true); err != nil {
			e.t.Fatal(err)
		}
		b.Close()
		s.MarkDurable()
		out[g] = s
	}
	return out
}

func (e *cmpEnv) checkNeighbours(m map[uint64]*Storage) {
	for g := range m {
		s, err := Open(e.db, g)
		if err != nil {
			e.t.Fatal(err)
		}
		ents, err := s.Entries(1, 3, ^uint64(0))
		if err != nil || len(ents) != 2 {
			e.t.Fatalf("group %d: entries = %v, %v", g, ents, err)
		}
	}
}

// randomWrite applies one random write to both storages.
func (e *cmpEnv) randomWrite(b *storage.Batch, step int) {
	first, _ := e.ms.FirstIndex()
	last, _ := e.ms.LastIndex()
	switch r := e.rng.IntN(10); {
	case r < 7: // append, possibly overwriting a suffix or starting below first
		lo := last + 1
		if e.rng.IntN(3) == 0 {
			base := uint64(1)
			if first > 3 {
				base = first - 2
			}
			lo = base + e.rng.Uint64N(last+2-base)
		}
		if e.rng.IntN(4) == 0 {
			e.term++
		}
		ents := make([]*pb.Entry, 1+e.rng.IntN(8))
		for i := range ents {
			ents[i] = testEntry(lo+uint64(i), e.term, e.rng.IntN(60))
		}
		e.sameErr(step, "append", e.s.Append(b, ents), e.ms.Append(ents))
	case r < 9: // compact, possibly already compacted
		i := first - 1 + e.rng.Uint64N(last-first+2)
		e.sameErr(step, fmt.Sprintf("compact %d", i), e.s.Compact(b, i), e.ms.Compact(i))
	default: // snapshot inside or beyond the log (stale ones are in testdata:
		// MemoryStorage compares with its last snapshot, not its compaction point)
		i := first + e.rng.Uint64N(last-first+8)
		e.term++
		snap := &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(i), Term: new(e.term), ConfState: &pb.ConfState{Voters: []uint64{1}}}}
		e.sameErr(step, fmt.Sprintf("apply-snapshot %d", i), e.s.ApplySnapshot(b, snap), e.ms.ApplySnapshot(snap))
	}
}

func (e *cmpEnv) sameErr(step int, what string, got, want error) {
	e.t.Helper()
	if !errors.Is(got, want) {
		e.t.Fatalf("step %d: %s: got error %v, MemoryStorage %v", step, what, got, want)
	}
}

// check compares every read of both storages.
func (e *cmpEnv) check(step int) {
	t := e.t
	first, _ := e.ms.FirstIndex()
	last, _ := e.ms.LastIndex()
	gotFirst, _ := e.s.FirstIndex()
	gotLast, _ := e.s.LastIndex()
	if gotFirst != first || gotLast != last {
		t.Fatalf("step %d: first/last = %d/%d, want %d/%d", step, gotFirst, gotLast, first, last)
	}
	if n, _ := e.s.LogSize(); n != last-first+1 {
		t.Fatalf("step %d: LogSize entries = %d, want %d", step, n, last-first+1)
	}
	for i := max(first, 2) - 2; i <= last+2; i++ {
		got, gotErr := e.s.Term(i)
		want, wantErr := e.ms.Term(i)
		if got != want || !errors.Is(gotErr, wantErr) {
			t.Fatalf("step %d: Term(%d) = %d, %v; want %d, %v", step, i, got, gotErr, want, wantErr)
		}
	}
	for range 10 {
		lo := max(first, 1) - 1 + e.rng.Uint64N(last-first+2)
		hi := lo + 1 + e.rng.Uint64N(last-lo+1)
		maxSize := []uint64{0, 50, 200, ^uint64(0)}[e.rng.IntN(4)]
		got, gotErr := e.s.Entries(lo, hi, maxSize)
		want, wantErr := e.ms.Entries(lo, hi, maxSize)
		if !errors.Is(gotErr, wantErr) || fmtEntries(got) != fmtEntries(want) {
			t.Fatalf("step %d: Entries(%d, %d, %d) = %s, %v; want %s, %v",
				step, lo, hi, maxSize, fmtEntries(got), gotErr, fmtEntries(want), wantErr)
		}
		for i := range got {
			if string(got[i].GetData()) != string(want[i].GetData()) {
				t.Fatalf("step %d: entry %d data differs", step, got[i].GetIndex())
			}
		}
	}
}
