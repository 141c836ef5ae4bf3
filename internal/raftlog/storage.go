package raftlog

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cairndb/cairn/internal/storage"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

var _ raft.Storage = (*Storage)(nil)

// ErrCorrupt is returned when stored raft records do not decode or the log
// has a hole.
var ErrCorrupt = errors.New("raftlog: corrupt raft log")

// ErrPendingWrites is returned by a write method given a batch other than the
// one writes are staged in: the previous batch was neither marked durable
// (MarkDurable) nor abandoned (DiscardPending).
var ErrPendingWrites = errors.New("raftlog: writes staged in another batch are not yet marked durable")

// DefaultCacheBytes is the default size of the entry cache.
const DefaultCacheBytes = 4 << 20

// Options configures a Storage. The zero value is usable.
type Options struct {
	// CacheBytes bounds the encoded size of the recent entries kept in
	// memory. Zero means DefaultCacheBytes; a negative value disables the
	// cache (every read goes to Pebble).
	CacheBytes int64
}

func (o Options) cacheBudget() uint64 {
	switch {
	case o.CacheBytes == 0:
		return DefaultCacheBytes
	case o.CacheBytes < 0:
		return 0
	}
	return uint64(o.CacheBytes)
}

// Storage is the raft log, hard state and snapshot point of one raft group.
// See the package documentation for the durability contract.
type Storage struct {
	db          *storage.DB
	group       uint64
	cacheBudget uint64
	logLower    []byte // bounds of the group's log span
	logUpper    []byte

	// writeMu serializes the write methods and guards keyBuf and valBuf.
	// Acquired before mu.
	writeMu sync.Mutex
	keyBuf  []byte
	valBuf  []byte

	mu struct {
		// Mutex guards the fields below. It is never held across Pebble I/O.
		sync.Mutex
		durable logState
		// staged is the state after the writes added to pendingBatch; nil
		// when no writes are pending.
		staged       *logState
		pendingBatch *storage.Batch
		// point is the state machine's applied point that Snapshot
		// describes; nil until SetSnapshotPoint or a durable ApplySnapshot.
		point *pb.SnapshotMetadata
		// confState is returned by InitialState.
		confState *pb.ConfState
	}
}

// Open loads the raft state of group from db with default options.
func Open(db *storage.DB, group uint64) (*Storage, error) {
	return OpenWithOptions(db, group, Options{})
}

// OpenWithOptions loads the raft state of group from db: the hard state, the
// truncation state, the conf state the state machine persisted, and the last
// index. It reads the whole log once, to fill the entry cache with the most
// recent entries and to measure the log for LogSize; the log's length is
// bounded by raftnode's compaction policy.
func OpenWithOptions(db *storage.DB, group uint64, o Options) (*Storage, error) {
	s := &Storage{db: db, group: group, cacheBudget: o.cacheBudget()}
	s.logLower, s.logUpper = storage.RaftLogSpan(group)
	st := &s.mu.durable
	var err error
	if st.truncIndex, st.truncTerm, err = s.loadTruncState(); err != nil {
		return nil, err
	}
	if st.hardState, err = s.loadHardState(); err != nil {
		return nil, err
	}
	if s.mu.confState, err = s.loadConfState(); err != nil {
		return nil, err
	}
	if err := s.scanLog(st); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Storage) loadTruncState() (index, term uint64, err error) {
	v, err := s.db.Get(storage.RaftStateKey(s.group, storage.RaftStateTruncate))
	if errors.Is(err, storage.ErrNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("raftlog: load truncation state: %w", err)
	}
	return decodeTruncState(v)
}

func (s *Storage) loadHardState() (*pb.HardState, error) {
	v, err := s.db.Get(storage.RaftStateKey(s.group, storage.RaftStateHard))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("raftlog: load hard state: %w", err)
	}
	hs := new(pb.HardState)
	if err := proto.Unmarshal(v, hs); err != nil {
		return nil, fmt.Errorf("%w: hard state: %v", ErrCorrupt, err)
	}
	return hs, nil
}

func (s *Storage) loadConfState() (*pb.ConfState, error) {
	v, err := s.db.Get(storage.MetaKey(s.group, storage.MetaConfState))
	if errors.Is(err, storage.ErrNotFound) {
		return pb.EnsureConfState(nil), nil
	}
	if err != nil {
		return nil, fmt.Errorf("raftlog: load conf state: %w", err)
	}
	cs := new(pb.ConfState)
	if err := proto.Unmarshal(v, cs); err != nil {
		return nil, fmt.Errorf("%w: conf state: %v", ErrCorrupt, err)
	}
	return pb.EnsureConfState(cs), nil
}

// scanLog reads the log backwards from its end, setting st.last and
// st.bytes, checking that the log is contiguous from the truncation point,
// and decoding the most recent entries into the cache.
func (s *Storage) scanLog(st *logState) (err error) {
	it := s.db.NewIter(storage.RaftLogKey(s.group, st.truncIndex+1), s.logUpper)
	defer func() {
		if cerr := it.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("raftlog: scan log: %w", cerr)
		}
	}()
	st.last = st.truncIndex
	var rev []cachedEntry // newest first
	caching := s.cacheBudget > 0
	next := uint64(0) // index expected at the current position; 0 before the first
	for ok := it.Last(); ok; ok = it.Prev() {
		idx, err := storage.RaftLogIndex(it.Key())
		if err != nil {
			return fmt.Errorf("%w: log key %x", ErrCorrupt, it.Key())
		}
		if next == 0 {
			st.last = idx
		} else if idx != next {
			return fmt.Errorf("%w: log has a hole before index %d", ErrCorrupt, next+1)
		}
		next = idx - 1
		v, err := iterValue(it, idx)
		if err != nil {
			return err
		}
		size := uint64(len(v))
		st.bytes += size
		if caching && st.cache.bytes+size <= s.cacheBudget {
			e, err := decodeEntry(idx, v)
			if err != nil {
				return err
			}
			rev = append(rev, cachedEntry{e: e, size: size})
			st.cache.bytes += size
		} else {
			caching = false
		}
	}
	if next != 0 && next != st.truncIndex {
		return fmt.Errorf("%w: log starts at %d, truncated at %d", ErrCorrupt, next+1, st.truncIndex)
	}
	st.cache.ents = make([]cachedEntry, len(rev))
	for i, ce := range rev {
		st.cache.ents[len(rev)-1-i] = ce
	}
	return nil
}

// iterValue returns the value at the iterator's position; entries are never
// empty, so an empty value is corruption.
func iterValue(it *storage.Iter, index uint64) ([]byte, error) {
	if v := it.Value(); len(v) > 0 {
		return v, nil
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("raftlog: read entry %d: %w", index, err)
	}
	return nil, fmt.Errorf("%w: entry %d is empty", ErrCorrupt, index)
}

func decodeEntry(index uint64, v []byte) (*pb.Entry, error) {
	e := new(pb.Entry)
	if err := proto.Unmarshal(v, e); err != nil {
		return nil, fmt.Errorf("%w: entry %d: %v", ErrCorrupt, index, err)
	}
	if e.GetIndex() != index {
		return nil, fmt.Errorf("%w: entry at key %d has index %d", ErrCorrupt, index, e.GetIndex())
	}
	return e, nil
}

// InitialState implements raft.Storage. The hard state is nil if none was
// persisted; the conf state is the one the state machine persisted (as of
// Open), or the latest applied snapshot or snapshot point.
func (s *Storage) InitialState() (*pb.HardState, *pb.ConfState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var hs *pb.HardState
	if s.mu.durable.hardState != nil {
		hs = cloneHardState(s.mu.durable.hardState)
	}
	return hs, proto.Clone(s.mu.confState).(*pb.ConfState), nil
}

// FirstIndex implements raft.Storage.
func (s *Storage) FirstIndex() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.durable.first(), nil
}

// LastIndex implements raft.Storage.
func (s *Storage) LastIndex() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.durable.last, nil
}

// LogSize reports the number of entries in the log and their approximate
// encoded size. The size is exact for entries appended since Open (Open
// measures the log it finds); entries removed while not in the cache are
// subtracted at the average entry size.
func (s *Storage) LogSize() (entries, approxBytes uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.durable.numEntries(), s.mu.durable.bytes
}

// Term implements raft.Storage.
func (s *Storage) Term(i uint64) (uint64, error) {
	s.mu.Lock()
	st := &s.mu.durable
	switch {
	case i < st.truncIndex:
		s.mu.Unlock()
		return 0, raft.ErrCompacted
	case i == st.truncIndex:
		t := st.truncTerm
		s.mu.Unlock()
		return t, nil
	case i > st.last:
		s.mu.Unlock()
		return 0, raft.ErrUnavailable
	}
	e, ok := st.cache.get(i)
	s.mu.Unlock()
	if ok {
		return e.GetTerm(), nil
	}
	return s.loadTerm(i)
}

// loadTerm reads the term of entry i from Pebble.
func (s *Storage) loadTerm(i uint64) (uint64, error) {
	var term uint64
	err := s.db.GetFunc(storage.RaftLogKey(s.group, i), func(v []byte) error {
		e, err := decodeEntry(i, v)
		term = e.GetTerm()
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return 0, s.missingErr(i)
	}
	if err != nil {
		return 0, fmt.Errorf("raftlog: term %d: %w", i, err)
	}
	return term, nil
}

// missingErr classifies an entry that was in range when a read started but
// is not in Pebble: a batch committed since then removed it.
func (s *Storage) missingErr(i uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i <= s.mu.durable.truncIndex || (s.mu.staged != nil && i <= s.mu.staged.truncIndex) {
		return raft.ErrCompacted
	}
	return raft.ErrUnavailable
}

// Entries implements raft.Storage. The returned slice is newly allocated;
// the entries in it are shared and must not be mutated.
func (s *Storage) Entries(lo, hi, maxSize uint64) ([]*pb.Entry, error) {
	s.mu.Lock()
	st := &s.mu.durable
	if lo <= st.truncIndex {
		s.mu.Unlock()
		return nil, raft.ErrCompacted
	}
	if hi > st.last+1 {
		last := st.last
		s.mu.Unlock()
		return nil, fmt.Errorf("raftlog: entries [%d, %d) beyond last index %d: %w", lo, hi, last, raft.ErrUnavailable)
	}
	if lo >= hi {
		s.mu.Unlock()
		return nil, nil
	}
	ents, ok := st.cache.slice(lo, hi, maxSize)
	s.mu.Unlock()
	if ok {
		return ents, nil
	}
	return s.loadEntries(lo, hi, maxSize)
}

// loadEntries reads [lo, hi) from Pebble, limited to maxSize (at least one
// entry). One iterator gives a consistent view, so a missing entry means a
// batch committed after the caller checked the bounds removed it.
func (s *Storage) loadEntries(lo, hi, maxSize uint64) (ents []*pb.Entry, err error) {
	it := s.db.NewIter(storage.RaftLogKey(s.group, lo), storage.RaftLogKey(s.group, hi))
	defer func() {
		if cerr := it.Close(); err == nil && cerr != nil {
			ents, err = nil, fmt.Errorf("raftlog: entries [%d, %d): %w", lo, hi, cerr)
		}
	}()
	next, size := lo, uint64(0)
	for ok := it.First(); ok; ok = it.Next() {
		idx, err := storage.RaftLogIndex(it.Key())
		if err != nil {
			return nil, fmt.Errorf("%w: log key %x", ErrCorrupt, it.Key())
		}
		if idx != next {
			if next == lo {
				return nil, raft.ErrCompacted // concurrently compacted
			}
			return nil, fmt.Errorf("%w: log has a hole at index %d", ErrCorrupt, next)
		}
		v, err := iterValue(it, idx)
		if err != nil {
			return nil, err
		}
		size += uint64(len(v))
		if len(ents) > 0 && size > maxSize {
			return ents, nil
		}
		e, err := decodeEntry(idx, v)
		if err != nil {
			return nil, err
		}
		ents = append(ents, e)
		next++
	}
	if next < hi && it.Error() == nil {
		return nil, s.missingErr(next)
	}
	return ents, nil
}

// SetSnapshotPoint records the state machine's applied point, which
// Snapshot describes. raftnode calls it at startup and after each apply.
// Points older than the current one are ignored. cs, if not nil, also
// becomes the conf state InitialState returns.
func (s *Storage) SetSnapshotPoint(index, term uint64, cs *pb.ConfState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setPointLocked(index, term, cs)
}

// REQUIRES: s.mu.
func (s *Storage) setPointLocked(index, term uint64, cs *pb.ConfState) {
	if p := s.mu.point; p != nil && index < p.GetIndex() {
		return
	}
	if cs != nil {
		s.mu.confState = pb.EnsureConfState(proto.Clone(cs).(*pb.ConfState))
	}
	s.mu.point = &pb.SnapshotMetadata{
		Index:     new(index),
		Term:      new(term),
		ConfState: s.mu.confState,
	}
}

// Snapshot implements raft.Storage: it describes the point last given to
// SetSnapshotPoint (or the last durable ApplySnapshot), with nil Data. It
// returns raft.ErrSnapshotTemporarilyUnavailable until a point is known.
func (s *Storage) Snapshot() (*pb.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.point == nil {
		return nil, raft.ErrSnapshotTemporarilyUnavailable
	}
	return &pb.Snapshot{Metadata: proto.Clone(s.mu.point).(*pb.SnapshotMetadata)}, nil
}

func cloneHardState(hs *pb.HardState) *pb.HardState {
	return &pb.HardState{Term: new(hs.GetTerm()), Vote: new(hs.GetVote()), Commit: new(hs.GetCommit())}
}
