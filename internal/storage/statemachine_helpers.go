package storage

import (
	"bytes"
	"encoding/binary"
)

// Helpers the state machine needs: a batch it can read through, so a
// request sees the writes of the requests applied before it in the same,
// not yet committed, batch.

// NewIndexedBatch returns an empty write batch that can also be read: Get,
// GetFunc and NewIter see the batch's own writes layered over the
// database's committed state. Indexing costs a little per write; use
// NewBatch when the batch is never read.
func (d *DB) NewIndexedBatch() *Batch { return &Batch{db: d.db, b: d.db.NewIndexedBatch()} }

var _ Reader = (*Batch)(nil)

// Get returns a copy of the value at key as the batch sees it, or
// ErrNotFound. The batch must be indexed (NewIndexedBatch).
func (b *Batch) Get(key []byte) ([]byte, error) { return get(b.b, key) }

// GetFunc is DB.GetFunc through the batch. The batch must be indexed.
func (b *Batch) GetFunc(key []byte, fn func(v []byte) error) error { return getFunc(b.b, key, fn) }

// NewIter returns an iterator over [lower, upper) of the batch layered over
// the database. It sees the batch's writes made before the call, not later
// ones. The batch must be indexed; otherwise the iterator reports an error.
func (b *Batch) NewIter(lower, upper []byte) *Iter { return newIter(b.b, lower, upper) }

// AppendHistoryKey appends HistoryKey(group, k, rev) to dst.
func AppendHistoryKey(dst []byte, group uint64, k []byte, rev uint64) []byte {
	return AppendHistoryVersion(AppendHistoryPrefix(dst, group, k), rev)
}

// AppendHistoryVersion appends the revision suffix to a history prefix (as
// returned by AppendHistoryPrefix or HistoryVersionPrefix), giving the
// history key of that version. Seeking to it finds the newest version
// with a revision <= rev.
func AppendHistoryVersion(prefix []byte, rev uint64) []byte {
	return binary.BigEndian.AppendUint64(prefix, ^rev)
}

// HistoryVersionPrefix returns the part of a history key shared by all
// versions of its user key (the key without its revision suffix), and
// false if key is too short to be a history key. The result aliases key.
func HistoryVersionPrefix(key []byte) ([]byte, bool) {
	if len(key) < groupPrefixLen+2+8 || key[0] != nsHistory {
		return nil, false
	}
	return key[:len(key)-8], true
}

// AppendHistoryVersionsEnd appends to prefix (as returned by
// HistoryVersionPrefix or AppendHistoryPrefix) the smallest key greater
// than every version of its user key and smaller than any version of the
// next user key: the upper bound of HistoryKeySpan.
func AppendHistoryVersionsEnd(prefix []byte) []byte {
	return append(prefix, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
}

// NextHistoryKey moves an iterator positioned on a version of a user key
// (a history key) to the next key that is not a version of that user key —
// in a history span, the newest version of the next user key — and reports
// whether there is one. Most keys have one version (compaction keeps one),
// so it tries one Next, then leaves the rest to Pebble's NextPrefix. A key
// that is not a history key ends the iteration with ErrCorruptKey (see
// Error and Close). The iterator's upper bound must not be a version key.
func (i *Iter) NextHistoryKey() bool {
	prefix, ok := HistoryVersionPrefix(i.it.Key())
	if !ok {
		i.err = ErrCorruptKey
		return false
	}
	i.buf = append(i.buf[:0], prefix...)
	if !i.it.Next() {
		return false
	}
	if !IsHistoryVersionOf(i.it.Key(), i.buf) {
		return true
	}
	return i.it.NextPrefix()
}

// IsHistoryVersionOf reports whether key is a version of the user key
// whose version prefix (HistoryVersionPrefix) is prefix.
func IsHistoryVersionOf(key, prefix []byte) bool {
	return len(key) == len(prefix)+8 && bytes.HasPrefix(key, prefix)
}
