package statemachine

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/storage"
)

// Record kinds: the first byte of a stored record.
const (
	recordLive      byte = 1
	recordTombstone byte = 2
	recordLiveExt   byte = 3 // a live record with a value type or an expiry
)

// record is one version of a user key, as stored in the latest and history
// namespaces:
//
//	kind:byte create:varint mod:varint version:varint lease:varint value...
//	kind:byte create:varint mod:varint version:varint lease:varint type:byte expire:varint value...
//
// The second form (recordLiveExt) is used when the value type is not plain
// bytes or the key has an expiry, so plain records stay as small as before.
// A tombstone has only mod set (the revision of the delete).
type record struct {
	tombstone bool
	create    int64
	mod       int64
	version   int64
	lease     int64
	vtype     command.ValueType
	expire    int64  // Unix milliseconds; 0 = no expiry
	value     []byte // aliases the decoded bytes
}

func appendRecord(dst []byte, r *record) []byte {
	kind := recordLive
	switch {
	case r.tombstone:
		kind = recordTombstone
	case r.vtype != 0 || r.expire != 0:
		kind = recordLiveExt
	}
	dst = append(dst, kind)
	dst = binary.AppendVarint(dst, r.create)
	dst = binary.AppendVarint(dst, r.mod)
	dst = binary.AppendVarint(dst, r.version)
	dst = binary.AppendVarint(dst, r.lease)
	if kind == recordLiveExt {
		dst = append(dst, byte(r.vtype))
		dst = binary.AppendVarint(dst, r.expire)
	}
	return append(dst, r.value...)
}

// decodeRecord decodes b into r; r.value aliases b.
func decodeRecord(b []byte, r *record) error {
	if len(b) == 0 || b[0] < recordLive || b[0] > recordLiveExt {
		return fmt.Errorf("statemachine: bad record kind: %w", ErrCorrupt)
	}
	kind := b[0]
	r.tombstone = kind == recordTombstone
	r.vtype, r.expire = 0, 0
	b = b[1:]
	for _, f := range [...]*int64{&r.create, &r.mod, &r.version, &r.lease} {
		v, n := binary.Varint(b)
		if n <= 0 {
			return fmt.Errorf("statemachine: truncated record: %w", ErrCorrupt)
		}
		*f = v
		b = b[n:]
	}
	if kind == recordLiveExt {
		if len(b) == 0 {
			return fmt.Errorf("statemachine: truncated record: %w", ErrCorrupt)
		}
		r.vtype = command.ValueType(b[0])
		v, n := binary.Varint(b[1:])
		if n <= 0 {
			return fmt.Errorf("statemachine: truncated record: %w", ErrCorrupt)
		}
		r.expire = v
		b = b[1+n:]
	}
	r.value = b
	return nil
}

// isTombstone reports whether an encoded record is a tombstone without
// decoding it.
func isTombstone(b []byte) bool { return len(b) > 0 && b[0] == recordTombstone }

// keyValue returns the record as a KeyValue that owns its memory (key and
// value share one allocation). keysOnly drops the value.
func (r *record) keyValue(key []byte, keysOnly bool) *command.KeyValue {
	n := len(key)
	if !keysOnly {
		n += len(r.value)
	}
	kv := &command.KeyValue{
		CreateRevision: r.create,
		ModRevision:    r.mod,
		Version:        r.version,
		Lease:          r.lease,
		Type:           r.vtype,
		ExpireAt:       r.expire,
	}
	if n == 0 {
		return kv
	}
	buf := make([]byte, n)
	copy(buf, key)
	kv.Key = buf[:len(key):len(key)]
	if !keysOnly && len(r.value) > 0 {
		copy(buf[len(key):], r.value)
		kv.Value = buf[len(key):]
	}
	return kv
}

// Meta records.

// compactDone is the meta record holding the horizon the compactor last
// finished a full pass for (int64 big endian). It lives with the other
// meta records so a snapshot carries it consistently with the history it
// describes.
const metaCompactDone = "compactdone"

type metaKeys struct {
	applied, revision, compacted, confState, members, compactDone, removed []byte
}

func newMetaKeys(group uint64) metaKeys {
	return metaKeys{
		applied:     storage.MetaKey(group, storage.MetaApplied),
		revision:    storage.MetaKey(group, storage.MetaRevision),
		compacted:   storage.MetaKey(group, storage.MetaCompacted),
		confState:   storage.MetaKey(group, storage.MetaConfState),
		members:     storage.MetaKey(group, storage.MetaMembers),
		compactDone: storage.MetaKey(group, metaCompactDone),
		removed:     storage.MetaKey(group, metaRemoved),
	}
}

func putUint64(b *storage.Batch, key []byte, v uint64) {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v)
	b.Set(key, buf[:])
}

func putInt64(b *storage.Batch, key []byte, v int64) { putUint64(b, key, uint64(v)) }

// readUint64 reads an 8-byte big-endian meta record; a missing record is 0.
func readUint64(r storage.Reader, key []byte) (uint64, error) {
	var v uint64
	err := r.GetFunc(key, func(b []byte) error {
		if len(b) != 8 {
			return fmt.Errorf("statemachine: meta record %q has %d bytes: %w", key, len(b), ErrCorrupt)
		}
		v = binary.BigEndian.Uint64(b)
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	return v, err
}

func readInt64(r storage.Reader, key []byte) (int64, error) {
	v, err := readUint64(r, key)
	return int64(v), err
}
