package raftlog

import (
	"encoding/binary"
	"fmt"

	pb "go.etcd.io/raft/v3/raftpb"
)

// logState is the in-memory description of a group's log. Storage keeps the
// durable one that readers see and, while a batch is being built, a staged
// copy that write methods modify. A staged copy shares the cache's backing
// array with the durable one; see entryCache for why that is safe.
type logState struct {
	truncIndex uint64 // index of the last entry removed from the log (0 if none)
	truncTerm  uint64 // its term
	last       uint64 // last index; the log holds (truncIndex, last]
	// bytes approximates the encoded size of the entries in the log. It is
	// exact for entries appended since Open; entries removed without their
	// size at hand (below the cache) are counted at the average entry size.
	bytes     uint64
	hardState *pb.HardState // nil if none was persisted
	cache     entryCache
	// restored is the metadata of a snapshot staged by ApplySnapshot; it
	// becomes the snapshot point once durable. Always nil in the durable state.
	restored *pb.SnapshotMetadata
}

func (st *logState) first() uint64 { return st.truncIndex + 1 }

func (st *logState) numEntries() uint64 { return st.last - st.truncIndex }

// avgEntryBytes is used to account for removed entries whose size is unknown.
func (st *logState) avgEntryBytes() uint64 {
	if n := st.numEntries(); n > 0 {
		return st.bytes / n
	}
	return 0
}

func (st *logState) subBytes(n uint64) {
	st.bytes -= min(n, st.bytes)
}

// removeSuffix forgets the entries at index >= from.
func (st *logState) removeSuffix(from uint64) {
	if from > st.last {
		return
	}
	avg := st.avgEntryBytes()
	cachedN, cachedBytes := st.cache.truncateFrom(from)
	st.subBytes(cachedBytes + avg*(st.last-from+1-cachedN))
	st.last = from - 1
}

// removePrefix forgets the entries at index <= index, recording index/term as
// the truncation point.
func (st *logState) removePrefix(index, term uint64) {
	avg := st.avgEntryBytes()
	removed := min(index, st.last) - st.truncIndex
	cachedN, cachedBytes := st.cache.dropThrough(index)
	st.subBytes(cachedBytes + avg*(removed-cachedN))
	st.truncIndex, st.truncTerm = index, term
	st.last = max(st.last, index)
}

// cachedEntry is an entry with its encoded size.
type cachedEntry struct {
	e    *pb.Entry
	size uint64
}

// entryCache holds the most recent entries of the log: ents[i] has index
// ents[0].e.GetIndex()+i and the last one is logState.last.
//
// Staged states share backing arrays with the durable state. That is safe
// because (a) appends write only past the durable length, which no reader
// looks at, (b) truncateFrom uses a full slice expression so the next append
// reallocates, (c) dropThrough copies, and (d) trim, which clears the slots it
// drops, runs only in MarkDurable while both locks are held.
type entryCache struct {
	ents  []cachedEntry
	bytes uint64
}

func (c *entryCache) firstIndex() uint64 {
	if len(c.ents) == 0 {
		return 0
	}
	return c.ents[0].e.GetIndex()
}

// get returns the cached entry at index i, if any.
func (c *entryCache) get(i uint64) (*pb.Entry, bool) {
	f := c.firstIndex()
	if len(c.ents) == 0 || i < f || i-f >= uint64(len(c.ents)) {
		return nil, false
	}
	return c.ents[i-f].e, true
}

// slice returns the entries [lo, hi) limited to maxSize (at least one), in a
// newly allocated slice, if the cache holds lo. hi must not exceed the last
// cached index + 1.
func (c *entryCache) slice(lo, hi, maxSize uint64) ([]*pb.Entry, bool) {
	f := c.firstIndex()
	if len(c.ents) == 0 || lo < f {
		return nil, false
	}
	src := c.ents[lo-f : hi-f]
	n, size := 1, src[0].size
	for ; n < len(src); n++ {
		size += src[n].size
		if size > maxSize {
			break
		}
	}
	out := make([]*pb.Entry, n)
	for i := range out {
		out[i] = src[i].e
	}
	return out, true
}

// append adds entries that directly follow the cached ones (or starts the
// cache over if it is empty).
func (c *entryCache) append(ents []cachedEntry) {
	c.bytes += sumSizes(ents)
	c.ents = append(c.ents, ents...)
}

// truncateFrom drops the entries at index >= from and returns how many were
// dropped and their size.
func (c *entryCache) truncateFrom(from uint64) (n, bytes uint64) {
	f := c.firstIndex()
	if len(c.ents) == 0 {
		return 0, 0
	}
	keep := 0
	if from > f {
		keep = int(min(from-f, uint64(len(c.ents))))
	}
	for _, ce := range c.ents[keep:] {
		bytes += ce.size
	}
	n = uint64(len(c.ents) - keep)
	c.ents = c.ents[:keep:keep]
	c.bytes -= bytes
	return n, bytes
}

// dropThrough drops the entries at index <= index, copying the rest so that
// no backing array shared with the durable state is modified.
func (c *entryCache) dropThrough(index uint64) (n, bytes uint64) {
	f := c.firstIndex()
	if len(c.ents) == 0 || index < f {
		return 0, 0
	}
	k := int(min(index-f+1, uint64(len(c.ents))))
	for _, ce := range c.ents[:k] {
		bytes += ce.size
	}
	c.ents = append([]cachedEntry(nil), c.ents[k:]...)
	c.bytes -= bytes
	return uint64(k), bytes
}

// trim drops the oldest entries until the cache fits in budget, clearing the
// dropped slots so the entries can be collected.
// REQUIRES: no other state refers to the dropped slots (see entryCache).
func (c *entryCache) trim(budget uint64) {
	k := 0
	for k < len(c.ents) && c.bytes > budget {
		c.bytes -= c.ents[k].size
		k++
	}
	if k == 0 {
		return
	}
	clear(c.ents[:k])
	c.ents = c.ents[k:]
	if len(c.ents) == 0 {
		c.ents = nil
	}
}

// truncStateLen is the size of the encoded truncation state.
const truncStateLen = 16

func encodeTruncState(index, term uint64) []byte {
	v := make([]byte, 0, truncStateLen)
	v = binary.BigEndian.AppendUint64(v, index)
	return binary.BigEndian.AppendUint64(v, term)
}

func decodeTruncState(v []byte) (index, term uint64, err error) {
	if len(v) != truncStateLen {
		return 0, 0, fmt.Errorf("%w: truncation state has %d bytes, want %d", ErrCorrupt, len(v), truncStateLen)
	}
	return binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:]), nil
}
