// Package raftlog implements raft.Storage (go.etcd.io/raft/v3) on the node's
// Pebble database, through internal/storage.
//
// # Layout
//
// All records of a group live in the storage package's raft namespaces:
//
//	storage.RaftLogKey(group, index)                   proto raftpb.Entry, one key per entry
//	storage.RaftStateKey(group, RaftStateHard)         proto raftpb.HardState
//	storage.RaftStateKey(group, RaftStateTruncate)     16 bytes: index, term (big endian) of
//	                                                   the last entry removed from the log
//	storage.MetaKey(group, MetaConfState)              proto raftpb.ConfState (read only:
//	                                                   written by the state machine)
//
// The log holds exactly the entries (truncIndex, lastIndex]. The truncation
// record plays the role of MemoryStorage's dummy entry: Term(FirstIndex()-1)
// is answered from it. Entries below the truncation point are removed with
// range deletions, so Open finds the last index with one reverse scan.
//
// # Durability contract
//
// Raft requires that what Storage reports is durable. raftnode therefore
// builds one storage.Batch per Ready and passes it to the write methods
// (ApplySnapshot, Append, SetHardState, Compact), which only add writes to
// the batch and stage the resulting in-memory state. Readers (Entries, Term,
// FirstIndex, LastIndex, InitialState, LogSize) keep seeing the previous
// state until raftnode has committed the batch with sync=true and called
// MarkDurable. If the commit fails, raftnode calls DiscardPending (and should
// stop the node). Several write methods may stage into the same batch; each
// sees the effect of the ones before it (e.g. ApplySnapshot then Append). A
// write into a different batch while writes are staged fails with
// ErrPendingWrites.
//
//	b := db.NewBatch()
//	if !raft.IsEmptySnap(rd.Snapshot) { log.ApplySnapshot(b, rd.Snapshot) }
//	log.Append(b, rd.Entries)
//	log.SetHardState(b, rd.HardState)
//	if err := b.Commit(true); err != nil { log.DiscardPending(); return err }
//	log.MarkDurable()
//
// Snapshot is not stored here: raftnode reports the state machine's applied
// point with SetSnapshotPoint after each apply, and Snapshot describes that
// point (Data is nil; the transport streams the state machine's data).
//
// # Entry cache
//
// The most recent entries, up to Options.CacheBytes of encoded size (4 MiB by
// default), are kept in memory as the *raftpb.Entry values given to Append, so
// that the leader's appends to followers that keep up never read Pebble.
// The cache always covers a suffix of the log ending at LastIndex. Entries
// are shared, never mutated, with raft and with callers of Entries (raft's
// contract forbids mutating them); returned slices are freshly allocated.
// Reads below the cache use one Pebble iterator, which sees a consistent
// point in time; a gap caused by a concurrent compaction yields
// raft.ErrCompacted.
//
// # Concurrency
//
// All methods are safe for concurrent use. Write methods are serialized by
// Storage.writeMu; the state readers see is guarded by Storage.mu, which is
// never held across Pebble reads.
package raftlog
