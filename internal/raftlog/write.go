package raftlog

import (
	"fmt"

	"github.com/cairndb/cairn/internal/storage"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// The write methods add writes to b and stage the in-memory state that will
// hold once b is durable. Readers see it only after MarkDurable. Writes
// staged into one batch compose in call order.

// Append adds ents to the log in b. Following raft's rules, entries replace
// any existing entries from ents[0]'s index on: entries past the new last
// index are deleted. Entries at or below the truncation point are ignored
// (raft may hand them over right after a snapshot). ents must be contiguous
// and must not leave a hole after the last index. The entries are retained
// by the cache and must not be mutated afterwards.
func (s *Storage) Append(b *storage.Batch, ents []*pb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	st, err := s.stagedStateLocked(b)
	if err != nil {
		return err
	}
	if err := checkContiguous(ents); err != nil {
		return err
	}
	at := ents[0].GetIndex()
	newLast := at + uint64(len(ents)) - 1
	if newLast < st.first() {
		return nil
	}
	if at < st.first() {
		ents = ents[st.first()-at:]
		at = st.first()
	}
	if at > st.last+1 {
		return fmt.Errorf("raftlog: append at %d after last index %d would leave a hole", at, st.last)
	}

	added := make([]cachedEntry, len(ents))
	for i, e := range ents {
		s.keyBuf = storage.AppendRaftLogKey(s.keyBuf[:0], s.group, e.GetIndex())
		var err error
		if s.valBuf, err = (proto.MarshalOptions{}).MarshalAppend(s.valBuf[:0], e); err != nil {
			return fmt.Errorf("raftlog: marshal entry %d: %w", e.GetIndex(), err)
		}
		b.Set(s.keyBuf, s.valBuf)
		added[i] = cachedEntry{e: e, size: uint64(len(s.valBuf))}
	}
	if st.last > newLast {
		b.DeleteRange(storage.RaftLogKey(s.group, newLast+1), storage.RaftLogKey(s.group, st.last+1))
	}

	st.removeSuffix(at)
	st.cache.append(added)
	st.bytes += sumSizes(added)
	st.last = newLast
	s.stageLocked(b, st)
	return nil
}

func sumSizes(ents []cachedEntry) (n uint64) {
	for _, ce := range ents {
		n += ce.size
	}
	return n
}

func checkContiguous(ents []*pb.Entry) error {
	for i := 1; i < len(ents); i++ {
		if ents[i].GetIndex() != ents[i-1].GetIndex()+1 {
			return fmt.Errorf("raftlog: append of non-contiguous entries %d, %d", ents[i-1].GetIndex(), ents[i].GetIndex())
		}
	}
	return nil
}

// SetHardState records hs in b. An empty hard state is a no-op.
func (s *Storage) SetHardState(b *storage.Batch, hs *pb.HardState) error {
	if raft.IsEmptyHardState(hs) {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	st, err := s.stagedStateLocked(b)
	if err != nil {
		return err
	}
	st.hardState = cloneHardState(hs)
	if s.valBuf, err = (proto.MarshalOptions{}).MarshalAppend(s.valBuf[:0], st.hardState); err != nil {
		return fmt.Errorf("raftlog: marshal hard state: %w", err)
	}
	b.Set(storage.RaftStateKey(s.group, storage.RaftStateHard), s.valBuf)
	s.stageLocked(b, st)
	return nil
}

// ApplySnapshot records in b that the log now starts after snap: the whole
// log is deleted and the truncation point becomes the snapshot's index and
// term. It returns raft.ErrSnapOutOfDate if the snapshot is not newer than
// the truncation point. The state machine persists the snapshot's conf state
// (in the same batch); once durable, Storage adopts it for InitialState and
// the snapshot's metadata as its snapshot point.
func (s *Storage) ApplySnapshot(b *storage.Batch, snap *pb.Snapshot) error {
	md := snap.GetMetadata()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	st, err := s.stagedStateLocked(b)
	if err != nil {
		return err
	}
	if md.GetIndex() <= st.truncIndex {
		return raft.ErrSnapOutOfDate
	}
	b.DeleteRange(s.logLower, s.logUpper)
	b.Set(storage.RaftStateKey(s.group, storage.RaftStateTruncate), encodeTruncState(md.GetIndex(), md.GetTerm()))
	st.truncIndex, st.truncTerm, st.last = md.GetIndex(), md.GetTerm(), md.GetIndex()
	st.bytes, st.cache = 0, entryCache{}
	st.restored = pb.EnsureSnapshotMetadata(proto.Clone(md).(*pb.SnapshotMetadata))
	s.stageLocked(b, st)
	return nil
}

// Compact records in b the removal of the entries at index <= compactIndex,
// which the caller guarantees is not beyond the applied index. It returns
// raft.ErrCompacted if compactIndex is already compacted, and an error
// wrapping raft.ErrUnavailable if it is beyond the last index.
func (s *Storage) Compact(b *storage.Batch, compactIndex uint64) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	st, err := s.stagedStateLocked(b)
	if err != nil {
		return err
	}
	if compactIndex <= st.truncIndex {
		return raft.ErrCompacted
	}
	if compactIndex > st.last {
		return fmt.Errorf("raftlog: compact %d beyond last index %d: %w", compactIndex, st.last, raft.ErrUnavailable)
	}
	term, err := s.stagedTerm(&st, compactIndex)
	if err != nil {
		return err
	}
	b.DeleteRange(s.logLower, storage.RaftLogKey(s.group, compactIndex+1))
	b.Set(storage.RaftStateKey(s.group, storage.RaftStateTruncate), encodeTruncState(compactIndex, term))
	st.removePrefix(compactIndex, term)
	s.stageLocked(b, st)
	return nil
}

// stagedTerm returns the term of entry i in st, which is in
// (st.truncIndex, st.last]. Entries staged but not yet durable are always in
// st's cache (the cache is trimmed only in MarkDurable); the others are in
// Pebble.
func (s *Storage) stagedTerm(st *logState, i uint64) (uint64, error) {
	if e, ok := st.cache.get(i); ok {
		return e.GetTerm(), nil
	}
	return s.loadTerm(i)
}

// MarkDurable publishes the state staged by the write methods once their
// batch has been committed with sync=true. It is a no-op if nothing is staged.
func (s *Storage) MarkDurable() {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mu.staged
	if st == nil {
		return
	}
	if md := st.restored; md != nil {
		s.setPointLocked(md.GetIndex(), md.GetTerm(), md.GetConfState())
		st.restored = nil
	}
	// The durable state being replaced is the only other user of the cache's
	// backing array, so trim may clear the slots it drops.
	st.cache.trim(s.cacheBudget)
	s.mu.durable = *st
	s.mu.staged, s.mu.pendingBatch = nil, nil
}

// DiscardPending forgets the staged state after its batch failed to commit
// (or was never committed). Readers keep seeing the durable state.
func (s *Storage) DiscardPending() {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.staged, s.mu.pendingBatch = nil, nil
}

// stagedStateLocked returns a copy of the state writes to b start from: the
// staged state if b already has writes, else the durable state.
// REQUIRES: s.writeMu.
func (s *Storage) stagedStateLocked(b *storage.Batch) (logState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.staged == nil {
		return s.mu.durable, nil
	}
	if s.mu.pendingBatch != b {
		return logState{}, ErrPendingWrites
	}
	return *s.mu.staged, nil
}

// stageLocked makes st the staged state of b.
// REQUIRES: s.writeMu.
func (s *Storage) stageLocked(b *storage.Batch, st logState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.staged, s.mu.pendingBatch = &st, b
}
