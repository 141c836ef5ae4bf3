package raftnode

import (
	"io"

	"github.com/cairndb/cairn/internal/storage"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Entry is one committed raft entry as the state machine sees it.
type Entry struct {
	Index uint64
	Term  uint64
	// Proposals are the client proposals batched into this entry, in order.
	// Empty for the leader's no-op entries and for conf changes. The slices
	// alias raft's entry data: do not retain them past Apply.
	Proposals [][]byte
	// ConfChange is set for a conf change entry; ConfState is the
	// configuration raft computed after applying it. The state machine
	// persists ConfState (storage.MetaKey(group, storage.MetaConfState)) with
	// the applied index.
	ConfChange *pb.ConfChangeV2
	ConfState  *pb.ConfState
}

// StateMachine is what raftnode applies committed entries to. The server
// passes the statemachine package's implementation in; raftnode knows
// nothing of keys or commands.
//
// All methods are called from the raft goroutine only.
type StateMachine interface {
	// Apply applies entries in log order and writes the index of the last
	// one (and any ConfState) in the same Pebble batch as the data, without
	// sync (the next synced raft write makes it durable). Entries at or below
	// AppliedIndex must be skipped. An error stops the node.
	Apply(entries []Entry) error
	// AppliedIndex is the index of the last applied entry (0 on a new node).
	AppliedIndex() uint64
	// OpenSnapshot returns a point-in-time stream of all state machine data
	// and the applied index it reflects.
	OpenSnapshot() (body io.ReadCloser, index uint64, err error)
	// Restore adds to b the writes that replace all state machine data with
	// the stream produced by OpenSnapshot on another node, setting the
	// applied index to index and the conf state to cs. The caller commits b
	// (synced) together with the raft log's snapshot record, then calls
	// Reload so in-memory state follows.
	Restore(b *storage.Batch, body io.Reader, index uint64, cs *pb.ConfState) error
	// Reload re-reads in-memory state (applied index, revisions) from disk
	// after Restore's batch was committed.
	Reload() error
}
