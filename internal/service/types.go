package service

import "github.com/cairndb/cairn/internal/membership"

// Consistency is how fresh a read must be.
type Consistency uint8

const (
	// Linearizable reads reflect every write acknowledged before the read
	// began (ReadIndex through the leader). The default.
	Linearizable Consistency = iota
	// Stale reads are served from the local node's applied state, on any
	// node including learners, and may lag.
	Stale
)

// ReadOptions qualify a read.
type ReadOptions struct {
	Consistency Consistency
	// MinRevision makes a stale read wait (bounded by the context) until the
	// local node has applied at least this revision: read-your-writes on a
	// replica.
	MinRevision int64
}

// Status describes this node and its view of the cluster.
type Status struct {
	ID           uint64              `json:"id"`
	Name         string              `json:"name"`
	Role         string              `json:"role"` // leader, follower, candidate, pre-candidate, learner
	Leader       uint64              `json:"leader"`
	Term         uint64              `json:"term"`
	CommitIndex  uint64              `json:"commit_index"`
	AppliedIndex uint64              `json:"applied_index"`
	Revision     int64               `json:"revision"`
	Compacted    int64               `json:"compact_revision"`
	Members      []membership.Member `json:"members"`
}
