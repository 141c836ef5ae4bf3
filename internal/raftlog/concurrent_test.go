package raftlog

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairndb/cairn/internal/storage"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// TestConcurrentReaders runs readers against a writer that appends,
// overwrites, compacts and applies snapshots. Readers may see
// ErrCompacted/ErrUnavailable, but every entry they get must be well formed
// and contiguous. Run with -race.
func TestConcurrentReaders(t *testing.T) {
	db, err := storage.Open("db", storage.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	s, err := OpenWithOptions(db, 1, Options{CacheBytes: 2 << 10})
	if err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 0))
			for !stop.Load() {
				if err := readOnce(s, rng); err != nil {
					errc <- err
					return
				}
			}
		}()
	}

	rng := rand.New(rand.NewPCG(42, 42))
	term := uint64(1)
	for step := range 2000 {
		b := db.NewBatch()
		first, _ := s.FirstIndex()
		last, _ := s.LastIndex()
		var err error
		switch r := rng.IntN(20); {
		case r < 15:
			lo := last + 1
			if r < 3 && last >= first {
				lo = first + rng.Uint64N(last-first+1)
				term++
			}
			ents := make([]*pb.Entry, 1+rng.IntN(5))
			for i := range ents {
				ents[i] = testEntry(lo+uint64(i), term, rng.IntN(200))
			}
			err = s.Append(b, ents)
		case r < 19:
			if last > first {
				err = s.Compact(b, first+rng.Uint64N(last-first))
			}
		default:
			term++
			err = s.ApplySnapshot(b, &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(last + 3), Term: new(term)}})
		}
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if err := b.Commit(true); err != nil {
			t.Fatal(err)
		}
		b.Close()
		s.MarkDurable()
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func readOnce(s *Storage, rng *rand.Rand) error {
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	s.LogSize()
	if last < first {
		return nil
	}
	i := first - 1 + rng.Uint64N(last-first+2)
	if _, err := s.Term(i); err != nil && !isRaceErr(err) {
		return fmt.Errorf("Term(%d): %w", i, err)
	}
	lo := first + rng.Uint64N(last-first+1)
	ents, err := s.Entries(lo, last+1, 1<<10)
	if err != nil {
		if isRaceErr(err) {
			return nil
		}
		return fmt.Errorf("Entries(%d, %d): %w", lo, last+1, err)
	}
	if len(ents) == 0 {
		return fmt.Errorf("Entries(%d, %d): no entries", lo, last+1)
	}
	for k, e := range ents {
		if e.GetIndex() != lo+uint64(k) {
			return fmt.Errorf("Entries(%d, %d): entry %d has index %d", lo, last+1, k, e.GetIndex())
		}
		if fmtEntries([]*pb.Entry{e}) != fmt.Sprintf("%d/%d", e.GetIndex(), e.GetTerm()) {
			return fmt.Errorf("Entries(%d, %d): malformed entry %s", lo, last+1, fmtEntries([]*pb.Entry{e}))
		}
	}
	return nil
}

// isRaceErr reports an error a reader may get when the log changes under it.
func isRaceErr(err error) bool {
	return errors.Is(err, raft.ErrCompacted) || errors.Is(err, raft.ErrUnavailable)
}
