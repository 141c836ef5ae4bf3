package raftnode

import (
	"errors"
	"log/slog"
	"time"

	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/transport"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// LogStore is the raft log the node persists to (implemented by
// raftlog.Storage). Write methods add to the Ready's batch; Committed is
// called once that batch is durable, and only then may in-memory indexes
// move.
type LogStore interface {
	raft.Storage
	Append(b *storage.Batch, ents []*pb.Entry) error
	SetHardState(b *storage.Batch, hs *pb.HardState) error
	ApplySnapshot(b *storage.Batch, snap *pb.Snapshot) error
	Compact(b *storage.Batch, index uint64) error
	// MarkDurable makes the writes staged since the last call visible in
	// memory; DiscardPending forgets them when the batch failed to commit.
	MarkDurable()
	DiscardPending()
	// SetSnapshotPoint records the state machine's applied point, which
	// Snapshot() describes to raft when a follower needs a snapshot.
	SetSnapshotPoint(index, term uint64, cs *pb.ConfState)
	// LogSize is the number of entries and approximate bytes in the log.
	LogSize() (entries, bytes uint64)
}

// Config configures a Node. Zero fields take the defaults noted.
type Config struct {
	ID    uint64 // this node's raft ID; required
	Group uint64 // raft group ID (0 today: one group holds all data)

	DB           *storage.DB
	Log          LogStore
	StateMachine StateMachine
	Transport    transport.Transport
	Logger       *slog.Logger

	// SnapshotDir holds snapshots received from the leader while they are
	// being installed. Required.
	SnapshotDir string

	// Bootstrap lists the initial members of a brand-new cluster. It is
	// used only when the log is empty; nil on a node that joins or restarts.
	Bootstrap []raft.Peer

	TickInterval   time.Duration // default 100ms
	ElectionTicks  int           // default 10 (1s with the default tick)
	HeartbeatTicks int           // default 1

	MaxSizePerMsg   uint64 // max bytes of entries per append message; default 1 MiB
	MaxInflightMsgs int    // pipelined append messages per follower; default 256
	// MaxUncommittedBytes bounds proposals not yet committed; beyond it
	// proposals are rejected (backpressure). Default 256 MiB.
	MaxUncommittedBytes uint64

	// MaxBatchBytes and MaxBatchProposals bound how many client proposals
	// are framed into one raft entry. Defaults 1 MiB and 1024.
	MaxBatchBytes     int
	MaxBatchProposals int

	// The log is compacted once it holds more than CompactEntries entries
	// or CompactBytes bytes beyond the applied index, keeping
	// CatchUpEntries so slightly lagging followers need no snapshot.
	// Defaults 10000, 64 MiB, 5000.
	CompactEntries uint64
	CompactBytes   uint64
	CatchUpEntries uint64
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.TickInterval == 0 {
		c.TickInterval = 100 * time.Millisecond
	}
	if c.ElectionTicks == 0 {
		c.ElectionTicks = 10
	}
	if c.HeartbeatTicks == 0 {
		c.HeartbeatTicks = 1
	}
	if c.MaxSizePerMsg == 0 {
		c.MaxSizePerMsg = 1 << 20
	}
	if c.MaxInflightMsgs == 0 {
		c.MaxInflightMsgs = 256
	}
	if c.MaxUncommittedBytes == 0 {
		c.MaxUncommittedBytes = 256 << 20
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = 1 << 20
	}
	if c.MaxBatchProposals == 0 {
		c.MaxBatchProposals = 1024
	}
	if c.CompactEntries == 0 {
		c.CompactEntries = 10000
	}
	if c.CompactBytes == 0 {
		c.CompactBytes = 64 << 20
	}
	if c.CatchUpEntries == 0 {
		c.CatchUpEntries = 5000
	}
}

func (c *Config) validate() error {
	switch {
	case c.ID == 0:
		return errors.New("raftnode: config: ID must be non-zero")
	case c.DB == nil || c.Log == nil || c.StateMachine == nil || c.Transport == nil:
		return errors.New("raftnode: config: DB, Log, StateMachine and Transport are required")
	case c.SnapshotDir == "":
		return errors.New("raftnode: config: SnapshotDir is required")
	case c.HeartbeatTicks >= c.ElectionTicks:
		return errors.New("raftnode: config: HeartbeatTicks must be below ElectionTicks")
	}
	return nil
}
