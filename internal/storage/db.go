package storage

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrNotFound is returned by Get when a key does not exist.
var ErrNotFound = errors.New("storage: not found")

// Options configures the Pebble database. The zero value is usable.
type Options struct {
	// CacheSize is the memory for cached blocks in bytes (default 64 MiB),
	// on top of the memtables.
	CacheSize int64
	// MemTableSize is the size of one memtable in bytes (default 32 MiB).
	MemTableSize uint64
	// FS is the filesystem; nil means the OS filesystem. Tests pass
	// vfs.NewMem() or a crashable/error-injecting FS.
	FS vfs.FS
	// Logger receives Pebble's informational logs; nil discards them.
	Logger pebble.Logger
}

// DB is one node's Pebble database.
type DB struct {
	db *pebble.DB
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...interface{}) {}
func (quietLogger) Errorf(format string, args ...interface{}) {
	pebble.DefaultLogger.Errorf(format, args...)
}
func (quietLogger) Fatalf(format string, args ...interface{}) {
	pebble.DefaultLogger.Fatalf(format, args...)
}

// Open opens (creating if needed) the database in dir.
func Open(dir string, o Options) (*DB, error) {
	if o.CacheSize <= 0 {
		o.CacheSize = 64 << 20
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = 32 << 20
	}
	// Pebble reserves the memory of its memtables (up to two here: the
	// mutable one and one being flushed) from the block cache, so the cache
	// is sized on top of them or nothing would stay cached.
	cache := pebble.NewCache(o.CacheSize + 2*int64(o.MemTableSize))
	opts := &pebble.Options{
		Cache:                       cache,
		FS:                          o.FS,
		MemTableSize:                o.MemTableSize,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		LBaseMaxBytes:               64 << 20,
		Logger:                      o.Logger,
		FormatMajorVersion:          pebble.FormatNewest,
		Comparer:                    comparer,
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger{}
	}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		opts.Levels[i].BlockSize = 32 << 10
	}
	opts.EnsureDefaults()
	db, err := pebble.Open(dir, opts)
	cache.Unref() // the DB holds its own reference
	if err != nil {
		return nil, fmt.Errorf("storage: open %q: %w", dir, errOtherComparer(err))
	}
	return &DB{db: db}, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Get returns a copy of the value stored at key, or ErrNotFound.
func (d *DB) Get(key []byte) ([]byte, error) { return get(d.db, key) }

// GetFunc calls fn with the value stored at key without copying it; the
// value is only valid during fn. It returns ErrNotFound if key is absent.
func (d *DB) GetFunc(key []byte, fn func(v []byte) error) error { return getFunc(d.db, key, fn) }

// NewIter returns an iterator over [lower, upper).
func (d *DB) NewIter(lower, upper []byte) *Iter { return newIter(d.db, lower, upper) }

// NewBatch returns an empty write batch.
func (d *DB) NewBatch() *Batch { return &Batch{db: d.db, b: d.db.NewBatch()} }

// NewSnapshot returns a consistent, point-in-time read view. Close it when done.
func (d *DB) NewSnapshot() *Snapshot { return &Snapshot{s: d.db.NewSnapshot()} }

// Flush flushes the memtable to disk.
func (d *DB) Flush() error { return d.db.Flush() }

// Sync makes every previously committed batch durable.
func (d *DB) Sync() error { return d.db.LogData(nil, pebble.Sync) }

// CompactRange asks Pebble to compact [start, end) so deleted data is reclaimed.
func (d *DB) CompactRange(start, end []byte) error {
	return d.db.Compact(context.Background(), start, end, false)
}

// DiskUsage returns the total size of the database's files in bytes.
func (d *DB) DiskUsage() uint64 { return d.db.Metrics().DiskSpaceUsage() }

// Reader is what both DB and Snapshot offer for reads.
type Reader interface {
	Get(key []byte) ([]byte, error)
	GetFunc(key []byte, fn func(v []byte) error) error
	NewIter(lower, upper []byte) *Iter
}

var (
	_ Reader = (*DB)(nil)
	_ Reader = (*Snapshot)(nil)
)

// Snapshot is a consistent read view of the database.
type Snapshot struct{ s *pebble.Snapshot }

// Get returns a copy of the value stored at key, or ErrNotFound.
func (s *Snapshot) Get(key []byte) ([]byte, error) { return get(s.s, key) }

// GetFunc is DB.GetFunc on the snapshot.
func (s *Snapshot) GetFunc(key []byte, fn func(v []byte) error) error { return getFunc(s.s, key, fn) }

// NewIter returns an iterator over [lower, upper) of the snapshot.
func (s *Snapshot) NewIter(lower, upper []byte) *Iter { return newIter(s.s, lower, upper) }

// Close releases the snapshot.
func (s *Snapshot) Close() error { return s.s.Close() }

type pebbleReader interface {
	Get(key []byte) ([]byte, io.Closer, error)
	NewIter(o *pebble.IterOptions) (*pebble.Iterator, error)
}

func get(r pebbleReader, key []byte) ([]byte, error) {
	var out []byte
	err := getFunc(r, key, func(v []byte) error {
		out = append(make([]byte, 0, len(v)), v...)
		return nil
	})
	return out, err
}

func getFunc(r pebbleReader, key []byte, fn func(v []byte) error) error {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("storage: get: %w", err)
	}
	defer closer.Close()
	return fn(v)
}

func newIter(r pebbleReader, lower, upper []byte) *Iter {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	return &Iter{it: it, err: err}
}

// Iter iterates over a key span. Key and Value are valid until the next
// positioning call. Always Close it.
type Iter struct {
	it  *pebble.Iterator
	err error
	buf []byte // NextHistoryKey's seek key
}

func (i *Iter) First() bool {
	if i.it == nil {
		return false
	}
	return i.it.First()
}

func (i *Iter) Last() bool {
	if i.it == nil {
		return false
	}
	return i.it.Last()
}

// SeekGE moves to the first key >= key.
func (i *Iter) SeekGE(key []byte) bool {
	if i.it == nil {
		return false
	}
	return i.it.SeekGE(key)
}

// SeekPrefixGE moves to the first key >= key whose prefix (the part
// before a history key's revision; all of any other key) equals key's,
// consulting bloom filters: the iterator then stays within that prefix.
func (i *Iter) SeekPrefixGE(key []byte) bool {
	if i.it == nil {
		return false
	}
	return i.it.SeekPrefixGE(key)
}

// SeekLT moves to the last key < key.
func (i *Iter) SeekLT(key []byte) bool {
	if i.it == nil {
		return false
	}
	return i.it.SeekLT(key)
}

func (i *Iter) Next() bool  { return i.it.Next() }
func (i *Iter) Prev() bool  { return i.it.Prev() }
func (i *Iter) Valid() bool { return i.it != nil && i.it.Valid() }
func (i *Iter) Key() []byte { return i.it.Key() }

// Value returns the value at the current position.
func (i *Iter) Value() []byte {
	v, err := i.it.ValueAndErr()
	if err != nil {
		i.err = err
		return nil
	}
	return v
}

// Error returns the first error the iterator met.
func (i *Iter) Error() error {
	if i.err != nil {
		return i.err
	}
	if i.it == nil {
		return nil
	}
	return i.it.Error()
}

// Close releases the iterator and returns its error, if any.
func (i *Iter) Close() error {
	if i.it == nil {
		return i.err
	}
	err := i.it.Close()
	if i.err != nil {
		return i.err
	}
	return err
}

// Batch is an atomic set of writes.
type Batch struct {
	db *pebble.DB
	b  *pebble.Batch
}

func (b *Batch) Set(key, value []byte) { _ = b.b.Set(key, value, nil) }
func (b *Batch) Delete(key []byte)     { _ = b.b.Delete(key, nil) }

// DeleteRange deletes every key in [start, end).
func (b *Batch) DeleteRange(start, end []byte) { _ = b.b.DeleteRange(start, end, nil) }

// Count is the number of writes in the batch.
func (b *Batch) Count() uint32 { return b.b.Count() }

// Len is the size of the batch's encoding in bytes.
func (b *Batch) Len() int { return b.b.Len() }

// Empty reports whether the batch holds no writes.
func (b *Batch) Empty() bool { return b.b.Empty() }

// Commit applies the batch atomically; with sync it is durable on return.
func (b *Batch) Commit(sync bool) error {
	opts := pebble.NoSync
	if sync {
		opts = pebble.Sync
	}
	if err := b.b.Commit(opts); err != nil {
		return fmt.Errorf("storage: commit: %w", err)
	}
	return nil
}

// Reset empties the batch for reuse.
func (b *Batch) Reset() { b.b.Reset() }

// Close releases the batch.
func (b *Batch) Close() { _ = b.b.Close() }
