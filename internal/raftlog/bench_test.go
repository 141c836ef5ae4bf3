package raftlog

import (
	"fmt"
	"testing"

	"github.com/cairndb/cairn/internal/storage"
	"github.com/cockroachdb/pebble/v2/vfs"
	pb "go.etcd.io/raft/v3/raftpb"
)

func benchStorage(b *testing.B, opts Options) (*storage.DB, *Storage) {
	b.Helper()
	db, err := storage.Open("db", storage.Options{FS: vfs.NewMem()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	s, err := OpenWithOptions(db, 1, opts)
	if err != nil {
		b.Fatal(err)
	}
	return db, s
}

func benchAppend(b *testing.B, db *storage.DB, s *Storage, lo uint64, n, size int) {
	ents := make([]*pb.Entry, n)
	for i := range ents {
		ents[i] = testEntry(lo+uint64(i), 1, size)
	}
	batch := db.NewBatch()
	defer batch.Close()
	if err := s.Append(batch, ents); err != nil {
		b.Fatal(err)
	}
	if err := batch.Commit(false); err != nil {
		b.Fatal(err)
	}
	s.MarkDurable()
}

// BenchmarkAppend measures one Ready's worth of appends (10 entries of 256
// bytes) through batch, commit (no sync: in-memory FS) and MarkDurable, with
// a compaction every 1000 batches to keep the log bounded.
func BenchmarkAppend(b *testing.B) {
	const perBatch, size = 10, 256
	db, s := benchStorage(b, Options{})
	ents := make([]*pb.Entry, perBatch)
	b.ReportAllocs()
	b.SetBytes(perBatch * size)
	next := uint64(1)
	for i := 0; b.Loop(); i++ {
		for k := range ents {
			ents[k] = testEntry(next+uint64(k), 1, size)
		}
		batch := db.NewBatch()
		if err := s.Append(batch, ents); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			if err := s.Compact(batch, next-1); err != nil {
				b.Fatal(err)
			}
		}
		if err := batch.Commit(false); err != nil {
			b.Fatal(err)
		}
		batch.Close()
		s.MarkDurable()
		next += perBatch
	}
}

// BenchmarkEntries reads 64 entries of 256 bytes, from the cache and from
// Pebble.
func BenchmarkEntries(b *testing.B) {
	const total, read, size = 4096, 64, 256
	for _, bc := range []struct {
		name  string
		cache int64
	}{{"cache", 0}, {"pebble", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			db, s := benchStorage(b, Options{CacheBytes: bc.cache})
			for lo := uint64(1); lo <= total; lo += 256 {
				benchAppend(b, db, s, lo, 256, size)
			}
			b.ReportAllocs()
			lo := uint64(1)
			for b.Loop() {
				ents, err := s.Entries(lo, lo+read, ^uint64(0))
				if err != nil || len(ents) != read {
					b.Fatal(fmt.Sprint(len(ents), err))
				}
				lo = 1 + (lo+read)%(total-read)
			}
		})
	}
}
