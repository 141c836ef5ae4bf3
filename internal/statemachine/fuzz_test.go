package statemachine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/raftnode"
)

// fuzzSnapshot returns the snapshot stream of a small state machine with
// history, a tombstone and a compaction.
func fuzzSnapshot(tb testing.TB) []byte {
	src := newEnv(tb)
	put := func(k, v string) *command.Request {
		return &command.Request{Put: &command.PutRequest{Key: []byte(k), Value: []byte(v)}}
	}
	src.apply(src.entry(put("a", "1")), src.entry(put("b", "2")), src.entry(put("a", "3")))
	src.apply(src.entry(&command.Request{Delete: &command.DeleteRequest{Key: []byte("b")}}))
	src.apply(src.entry(&command.Request{Compact: &command.CompactRequest{Revision: 2}}))
	src.apply(src.entry(put("\xff\x00", "")))
	body, _, err := src.sm.OpenSnapshot()
	if err != nil {
		tb.Fatal(err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// streamIndex is the index a stream's header names (0 if unreadable), so
// the fuzzer is not stopped by the index check alone.
func streamIndex(data []byte) uint64 {
	if len(data) <= len(snapshotMagic)+1 {
		return 0
	}
	v, _ := binary.Uvarint(data[len(snapshotMagic)+1:])
	return v
}

// FuzzRestore feeds arbitrary bytes to Restore as a snapshot stream. It
// must return an error wrapping ErrCorrupt, or succeed; never panic or
// hang. With fixCRC the last 4 bytes are replaced by the checksum of the
// rest, so mutations get past the checksum and reach what a stream
// decoded "successfully" can do: if Restore accepts it, the batch is
// committed into a fresh state machine, and Reload, reads and applying an
// entry must not panic either (they may fail).
func FuzzRestore(f *testing.F) {
	valid := fuzzSnapshot(f)
	f.Add(valid, false)
	f.Add(valid, true)
	f.Add(valid[:len(valid)/2], false)
	f.Add([]byte(snapshotMagic+"\x02\x05\x00\x00\x00\x00\x00\x00"), true)
	f.Add([]byte(snapshotMagic+"\x02\x01\x01\x02\x01\xff\x00\x01\x00\x00\x00\x00"), true)
	f.Add([]byte{}, false)
	shared := newEnv(f)
	f.Fuzz(func(t *testing.T, data []byte, fixCRC bool) {
		if fixCRC && len(data) >= 4 {
			data = bytes.Clone(data)
			binary.BigEndian.PutUint32(data[len(data)-4:], crc32.Checksum(data[:len(data)-4], crcTable))
		}
		index := streamIndex(data)
		b := shared.db.NewBatch()
		err := shared.sm.Restore(b, bytes.NewReader(data), index, nil)
		b.Close()
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Restore: %v; want an error wrapping ErrCorrupt", err)
			}
			return
		}
		shared.sm.comp.resume() // the batch was discarded: undo Restore's pause

		// Accepted: install it for real and use the state machine.
		e := newEnv(t)
		b = e.db.NewBatch()
		defer b.Close()
		if err := e.sm.Restore(b, bytes.NewReader(data), index, nil); err != nil {
			t.Fatalf("second Restore of the same stream: %v", err)
		}
		if err := b.Commit(false); err != nil {
			t.Fatal(err)
		}
		if err := e.sm.Reload(); err != nil {
			return // refusing to load garbage is fine
		}
		_, _, _ = e.sm.Range(&command.RangeRequest{Key: []byte{0}, End: []byte{0}})
		_, _, _ = e.sm.Range(&command.RangeRequest{Key: []byte{0}, End: []byte{0}, Revision: 1})
		_, _, _ = e.sm.Get([]byte("a"), 0)
		_, _, _ = e.sm.GetMany([][]byte{[]byte("a"), []byte("b")})
		e.index = e.sm.AppliedIndex()
		req := &command.Request{ID: 1, Put: &command.PutRequest{Key: []byte("a"), Value: []byte("z")}}
		_ = e.sm.Apply([]raftnode.Entry{{Index: e.index + 1, Term: 1, Proposals: [][]byte{command.EncodeRequest(nil, req)}}})
		_ = e.sm.Apply([]raftnode.Entry{{Index: e.index + 2, Term: 1, Proposals: [][]byte{command.EncodeRequest(nil,
			&command.Request{ID: 2, Compact: &command.CompactRequest{Revision: e.sm.Revision()}})}}})
	})
}
