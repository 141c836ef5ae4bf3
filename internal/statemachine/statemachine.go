package statemachine

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/membership"
	"github.com/cairndb/cairn/internal/raftnode"
	"github.com/cairndb/cairn/internal/storage"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Sentinel errors of reads. Errors are wrapped with context; test them
// with errors.Is.
var (
	// ErrCompacted: the requested revision is older than the compaction
	// horizon.
	ErrCompacted = errors.New("statemachine: revision has been compacted")
	// ErrFutureRevision: the requested revision is newer than the store's.
	ErrFutureRevision = errors.New("statemachine: revision is in the future")
	// ErrInvalid: a malformed read (empty key, negative limit or revision).
	ErrInvalid = errors.New("statemachine: invalid request")
	// ErrCorrupt: stored data or a snapshot stream does not decode.
	ErrCorrupt = errors.New("statemachine: corrupt data")
	// ErrClosed: the state machine was closed.
	ErrClosed = errors.New("statemachine: closed")
)

// Options configures a StateMachine. The zero value is valid.
type Options struct {
	// OnResult is called for every applied request that decoded, in log
	// order, from the raft goroutine, after the batch holding its effects
	// is committed. It must be cheap (wake the waiting client, no I/O).
	// The result is owned by the callee.
	OnResult func(r *command.Result)
	// OnMembers is called from the raft goroutine after a conf change was
	// applied (once per Apply call, with the final list) and by Reload,
	// with the member list ordered by ID. The slice is owned by the callee.
	OnMembers func([]membership.Member)
	// Logger receives apply problems (undecodable proposals, conf change
	// contexts) and compactor errors. Nil discards them.
	Logger *slog.Logger
	// LatestCacheBytes is the memory for cached latest records (see
	// latestCache). 0 means the default, 32 MiB; negative disables it.
	LatestCacheBytes int64
	// Changes receives every committed change and published message (the
	// node's watch hub); nil drops them. See changes.go.
	Changes ChangeSink
	// CompactBatchSize bounds the deletions (and, times 8, the versions
	// examined) per compactor batch. Default 1024.
	CompactBatchSize int
}

// StateMachine is the MVCC key-value state machine of one raft group.
type StateMachine struct {
	db    *storage.DB
	group uint64
	opts  Options
	log   *slog.Logger
	keys  metaKeys

	// Published state. Written by the raft goroutine after each commit
	// (Apply, Reload), read by anyone.
	applied   atomic.Uint64
	revision  atomic.Int64
	compacted atomic.Int64
	// restores counts Reloads (snapshot installs): entries a snapshot
	// brought were applied without OnResult.
	restores atomic.Uint64

	// mu guards members and confState, replaced (never mutated) by the
	// raft goroutine after a commit.
	mu        sync.Mutex
	members   []membership.Member
	confState *pb.ConfState

	// removed holds the IDs of removed members (removed.go).
	removed atomic.Pointer[removedSet]

	// ap holds the raft goroutine's apply state (apply.go).
	ap applier

	cache *latestCache // latest records by latest key; nil if disabled

	comp      *compactor
	closeOnce sync.Once
}

var _ raftnode.StateMachine = (*StateMachine)(nil)

// Open loads the state machine of group from db and starts its compactor.
// The caller keeps ownership of db and closes it after Close.
func Open(db *storage.DB, group uint64, opts Options) (*StateMachine, error) {
	if opts.CompactBatchSize <= 0 {
		opts.CompactBatchSize = 1024
	}
	if opts.LatestCacheBytes == 0 {
		opts.LatestCacheBytes = 32 << 20
	}
	sm := &StateMachine{
		db:    db,
		group: group,
		opts:  opts,
		log:   opts.Logger,
		keys:  newMetaKeys(group),
		cache: newLatestCache(opts.LatestCacheBytes),
	}
	if sm.log == nil {
		sm.log = slog.New(slog.DiscardHandler)
	}
	if err := sm.checkFormat(); err != nil {
		return nil, err
	}
	if err := sm.load(); err != nil {
		return nil, err
	}
	sm.ap.init(sm)
	if opts.Changes != nil {
		opts.Changes.Reset(sm.revision.Load())
	}
	sm.comp = newCompactor(sm)
	go sm.comp.run()
	return sm, nil
}

// Close stops the compactor and releases resources. It does not close the
// database. Reads after Close are not allowed.
func (sm *StateMachine) Close() error {
	sm.closeOnce.Do(func() {
		sm.comp.stop()
		sm.ap.batch.Close()
	})
	return nil
}

// load reads the persisted state into memory.
func (sm *StateMachine) load() error {
	snap := sm.db.NewSnapshot()
	defer snap.Close()
	applied, err := readUint64(snap, sm.keys.applied)
	if err != nil {
		return err
	}
	rev, err := readInt64(snap, sm.keys.revision)
	if err != nil {
		return err
	}
	compacted, err := readInt64(snap, sm.keys.compacted)
	if err != nil {
		return err
	}
	members, err := readMembers(snap, sm.keys.members)
	if err != nil {
		return err
	}
	cs, err := readConfState(snap, sm.keys.confState)
	if err != nil {
		return err
	}
	removed, err := readRemoved(snap, sm.keys.removed)
	if err != nil {
		return err
	}
	sm.applied.Store(applied)
	sm.revision.Store(rev)
	sm.compacted.Store(compacted)
	sm.setMembers(members, cs)
	sm.setRemoved(removed)
	return nil
}

// Reload re-reads in-memory state from the database after a Restore's batch
// was committed, resumes the compactor, and calls OnMembers.
func (sm *StateMachine) Reload() error {
	sm.cache.invalidateAll() // the restored data replaced every record
	sm.ap.redoLoaded = false // and the redo stack
	sm.ap.endDedup(true)     // and the dedup windows
	if err := sm.load(); err != nil {
		return err
	}
	sm.comp.resume()
	sm.restores.Add(1)
	if sm.opts.Changes != nil {
		sm.opts.Changes.Reset(sm.revision.Load())
	}
	if sm.opts.OnMembers != nil {
		sm.opts.OnMembers(sm.Members())
	}
	return nil
}

// Restores is the number of snapshots installed (Reload calls) since Open:
// the results of the entries they carried were never delivered.
func (sm *StateMachine) Restores() uint64 { return sm.restores.Load() }

// AppliedIndex is the index of the last applied raft entry.
func (sm *StateMachine) AppliedIndex() uint64 { return sm.applied.Load() }

// Revision is the current store revision (0 before the first write).
func (sm *StateMachine) Revision() int64 { return sm.revision.Load() }

// CompactRevision is the compaction horizon: reads below it fail.
func (sm *StateMachine) CompactRevision() int64 { return sm.compacted.Load() }

// Members returns a copy of the member list, ordered by ID.
func (sm *StateMachine) Members() []membership.Member {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return slices.Clone(sm.members)
}

// ConfState returns a copy of the last applied raft configuration, or nil
// if none was applied yet.
func (sm *StateMachine) ConfState() *pb.ConfState {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if sm.confState == nil {
		return nil
	}
	return proto.Clone(sm.confState).(*pb.ConfState)
}

func (sm *StateMachine) setMembers(members []membership.Member, cs *pb.ConfState) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	sm.members = members
	sm.confState = cs
}

func readMembers(r storage.Reader, key []byte) ([]membership.Member, error) {
	var members []membership.Member
	err := r.GetFunc(key, func(b []byte) error { return json.Unmarshal(b, &members) })
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("statemachine: read members: %w", err)
	}
	return members, nil
}

func readConfState(r storage.Reader, key []byte) (*pb.ConfState, error) {
	var cs *pb.ConfState
	err := r.GetFunc(key, func(b []byte) error {
		cs = &pb.ConfState{}
		return proto.Unmarshal(b, cs)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("statemachine: read conf state: %w", err)
	}
	return cs, nil
}

func encodeConfState(cs *pb.ConfState) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(cs)
}
