package statemachine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/cairndb/cairn/internal/storage"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Snapshot stream format, version 2. A snapshot carries every key of the
// group's state machine spans (storage.StateMachineSpans: meta, history,
// leases, changes, undo) in key order:
//
//	stream  = header record* trailer
//	header  = "CAIRNSM" version:byte(1) index:uvarint
//	record  = 0x01 key:bytes value:bytes
//	trailer = 0x00 count:uvarint crc:uint32 (big endian)
//	bytes   = length:uvarint data
//
// A record's key is the storage key without its 8-byte group ID (the
// namespace byte, then the rest), so a snapshot can be restored into a
// group with another ID. count is the number of records; crc is the CRC-32C
// (Castagnoli) of every byte of the stream before it. Nothing may follow
// the trailer. Version 1 streams (storage format 1, with a latest
// namespace) are refused.

const (
	snapshotMagic   = "CAIRNSM"
	snapshotVersion = 2

	snapshotRecord  = 0x01
	snapshotTrailer = 0x00

	// Reads fill the stream buffer up to about this size.
	snapshotChunk = 64 << 10
	// Limits that reject corrupt lengths before allocating.
	maxSnapshotKey   = 1 << 20
	maxSnapshotValue = 64 << 20 // a record holds a value of at most service.MaxValueSize (8 MiB)

	groupIDLen = 8
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// OpenSnapshot returns a stream of the state machine's data at a
// point-in-time Pebble snapshot and the applied index it reflects. The
// stream is produced lazily as it is read, with no goroutine; Close it to
// release the snapshot.
func (sm *StateMachine) OpenSnapshot() (io.ReadCloser, uint64, error) {
	published := sm.applied.Load()
	snap := sm.db.NewSnapshot()
	index, err := readUint64(snap, sm.keys.applied)
	if err == nil && index < published {
		err = fmt.Errorf("statemachine: snapshot holds applied index %d, below the published %d", index, published)
	}
	if err != nil {
		snap.Close()
		return nil, 0, err
	}
	r := &snapshotReader{snap: snap, spans: storage.StateMachineSpans(sm.group)}
	r.buf = append(r.buf, snapshotMagic...)
	r.buf = append(r.buf, snapshotVersion)
	r.buf = binary.AppendUvarint(r.buf, index)
	r.crc = crc32.Update(0, crcTable, r.buf)
	return r, index, nil
}

// snapshotReader encodes the snapshot into buf one chunk at a time as Read
// drains it.
type snapshotReader struct {
	snap    *storage.Snapshot
	spans   [][2][]byte
	span    int           // index of the span being read
	it      *storage.Iter // iterator over spans[span], nil before it is opened
	buf     []byte
	off     int // read position in buf
	crc     uint32
	count   uint64
	trailer bool // the trailer is in buf: EOF once drained
	err     error
	closed  bool
}

func (r *snapshotReader) Read(p []byte) (int, error) {
	for r.off == len(r.buf) {
		switch {
		case r.err != nil:
			return 0, r.err
		case r.trailer:
			return 0, io.EOF
		}
		r.buf, r.off = r.buf[:0], 0
		r.err = r.fill()
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// fill encodes records into the empty buffer until it holds a chunk, and
// the trailer once every span is exhausted.
func (r *snapshotReader) fill() error {
	if r.closed {
		return errors.New("statemachine: snapshot stream is closed")
	}
	for len(r.buf) < snapshotChunk {
		var valid bool
		if r.it == nil {
			if r.span == len(r.spans) {
				start := len(r.buf)
				r.buf = append(r.buf, snapshotTrailer)
				r.buf = binary.AppendUvarint(r.buf, r.count)
				r.crc = crc32.Update(r.crc, crcTable, r.buf[start:])
				r.buf = binary.BigEndian.AppendUint32(r.buf, r.crc)
				r.trailer = true
				return nil
			}
			r.it = r.snap.NewIter(r.spans[r.span][0], r.spans[r.span][1])
			valid = r.it.First()
		} else {
			valid = r.it.Next()
		}
		if !valid {
			err := r.it.Close()
			r.it = nil
			if err != nil {
				return fmt.Errorf("statemachine: snapshot: %w", err)
			}
			r.span++
			continue
		}
		key, value := r.it.Key(), r.it.Value()
		if err := r.it.Error(); err != nil {
			return fmt.Errorf("statemachine: snapshot: %w", err)
		}
		if len(key) < 1+groupIDLen {
			return fmt.Errorf("statemachine: snapshot: short key %q: %w", key, ErrCorrupt)
		}
		start := len(r.buf)
		r.buf = append(r.buf, snapshotRecord)
		r.buf = binary.AppendUvarint(r.buf, uint64(len(key)-groupIDLen))
		r.buf = append(r.buf, key[0])
		r.buf = append(r.buf, key[1+groupIDLen:]...)
		r.buf = binary.AppendUvarint(r.buf, uint64(len(value)))
		r.buf = append(r.buf, value...)
		r.crc = crc32.Update(r.crc, crcTable, r.buf[start:])
		r.count++
	}
	return nil
}

// Close releases the snapshot. It is safe to call more than once.
func (r *snapshotReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	var err error
	if r.it != nil {
		err = r.it.Close()
		r.it = nil
	}
	if cerr := r.snap.Close(); err == nil {
		err = cerr
	}
	return err
}

// Restore adds to b the writes that replace all of the group's state
// machine data with the stream body (made by OpenSnapshot, possibly on
// another node), then sets the applied index to index and the conf state
// to cs. It checks the stream's header index, trailer count and checksum;
// errors wrap ErrCorrupt. The compactor is paused from here until Reload,
// so it cannot delete versions the restored data holds; the caller commits
// b and then calls Reload (on error, b must be discarded).
func (sm *StateMachine) Restore(b *storage.Batch, body io.Reader, index uint64, cs *pb.ConfState) (err error) {
	sm.comp.pause()
	sm.cache.invalidateAll()
	defer func() {
		if err != nil {
			sm.comp.resume()
		}
	}()
	spans := storage.StateMachineSpans(sm.group)
	for _, s := range spans {
		b.DeleteRange(s[0], s[1])
	}
	d := snapshotDecoder{r: bufio.NewReaderSize(body, snapshotChunk)}
	if err := d.header(index); err != nil {
		return err
	}
	var key []byte
	for {
		kind, err := d.byte()
		if err != nil {
			return err
		}
		if kind == snapshotTrailer {
			break
		}
		if kind != snapshotRecord {
			return d.corrupt(fmt.Sprintf("record kind %d", kind))
		}
		k, err := d.bytes(maxSnapshotKey)
		if err != nil {
			return err
		}
		if len(k) == 0 || !sm.ownsNamespace(spans, k[0]) {
			return d.corrupt("record outside the state machine namespaces")
		}
		key = append(key[:0], k[0])
		key = binary.BigEndian.AppendUint64(key, sm.group)
		key = append(key, k[1:]...)
		v, err := d.bytes(maxSnapshotValue)
		if err != nil {
			return err
		}
		b.Set(key, v)
		d.count++
	}
	if err := d.trailer(); err != nil {
		return err
	}
	putUint64(b, sm.keys.applied, index)
	putUint64(b, storage.MetaKey(sm.group, storage.MetaFormat), storage.FormatVersion)
	if cs != nil {
		enc, err := encodeConfState(cs)
		if err != nil {
			return fmt.Errorf("statemachine: restore: encode conf state: %w", err)
		}
		b.Set(sm.keys.confState, enc)
	}
	return nil
}

func (sm *StateMachine) ownsNamespace(spans [][2][]byte, ns byte) bool {
	for _, s := range spans {
		if s[0][0] == ns {
			return true
		}
	}
	return false
}

// snapshotDecoder reads a snapshot stream, keeping a running CRC of the
// bytes consumed.
type snapshotDecoder struct {
	r     *bufio.Reader
	crc   uint32
	count uint64
	buf   []byte
}

func (d *snapshotDecoder) corrupt(what string) error {
	return fmt.Errorf("statemachine: restore: %s: %w", what, ErrCorrupt)
}

func (d *snapshotDecoder) readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return d.corrupt("truncated snapshot")
	}
	return fmt.Errorf("statemachine: restore: read: %w", err)
}

// ReadByte implements io.ByteReader for binary.ReadUvarint.
func (d *snapshotDecoder) ReadByte() (byte, error) {
	c, err := d.r.ReadByte()
	if err != nil {
		return 0, err
	}
	d.crc = crc32.Update(d.crc, crcTable, []byte{c})
	return c, nil
}

func (d *snapshotDecoder) byte() (byte, error) {
	c, err := d.ReadByte()
	if err != nil {
		return 0, d.readErr(err)
	}
	return c, nil
}

func (d *snapshotDecoder) uvarint() (uint64, error) {
	v, err := binary.ReadUvarint(d)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return 0, d.readErr(err)
	}
	if err != nil {
		return 0, d.corrupt("bad varint")
	}
	return v, nil
}

// full reads n bytes into the reused buffer.
func (d *snapshotDecoder) full(n int) ([]byte, error) {
	if cap(d.buf) < n {
		d.buf = make([]byte, n)
	}
	d.buf = d.buf[:n]
	if _, err := io.ReadFull(d.r, d.buf); err != nil {
		return nil, d.readErr(err)
	}
	d.crc = crc32.Update(d.crc, crcTable, d.buf)
	return d.buf, nil
}

// bytes reads a length-prefixed string of at most max bytes. The result is
// valid until the next read.
func (d *snapshotDecoder) bytes(max uint64) ([]byte, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, d.corrupt(fmt.Sprintf("length %d over the limit", n))
	}
	return d.full(int(n))
}

func (d *snapshotDecoder) header(index uint64) error {
	h, err := d.full(len(snapshotMagic) + 1)
	if err != nil {
		return err
	}
	if string(h[:len(snapshotMagic)]) != snapshotMagic {
		return d.corrupt("bad magic")
	}
	if v := h[len(snapshotMagic)]; v != snapshotVersion {
		return d.corrupt(fmt.Sprintf("unknown snapshot version %d", v))
	}
	got, err := d.uvarint()
	if err != nil {
		return err
	}
	if got != index {
		return d.corrupt(fmt.Sprintf("stream is at index %d, want %d", got, index))
	}
	return nil
}

// trailer checks the trailer after its kind byte, and that nothing follows.
func (d *snapshotDecoder) trailer() error {
	count, err := d.uvarint()
	if err != nil {
		return err
	}
	if count != d.count {
		return d.corrupt(fmt.Sprintf("trailer counts %d records, stream has %d", count, d.count))
	}
	want := d.crc
	var sum [4]byte
	if _, err := io.ReadFull(d.r, sum[:]); err != nil {
		return d.readErr(err)
	}
	if got := binary.BigEndian.Uint32(sum[:]); got != want {
		return d.corrupt(fmt.Sprintf("checksum %08x, computed %08x", got, want))
	}
	if _, err := d.r.ReadByte(); err != io.EOF {
		if err != nil {
			return fmt.Errorf("statemachine: restore: read: %w", err)
		}
		return d.corrupt("data after the trailer")
	}
	return nil
}
