// Package statemachine is the deterministic MVCC key-value store that raft
// entries are applied to. It implements raftnode.StateMachine and serves
// reads (Range, Get) concurrently with apply.
//
// # Data model
//
// Every successful write request (a Put, a Delete that deleted at least one
// key, a Mutate that wrote, a Txn whose chosen branch wrote something)
// increments the store revision by exactly one, and every key it writes
// carries that revision. A read-only txn, a delete of nothing, a
// compaction and a failed request leave the revision alone. A user key k is stored twice (see storage/doc.go
// for the key layout):
//
//	LatestKey(g, k)       -> record of the newest version (absent once deleted)
//	HistoryKey(g, k, rev) -> record of the version written at rev, newest first;
//	                         deletes write a tombstone record here
//
//	ChangeKey(g, rev, k)  -> event type (put, delete, expire): the change index,
//	                         revision-ordered, read by watches (changes.go)
//
// A record (record.go) is kind (live or tombstone), create revision, mod
// revision, version (writes since creation, 1 for a new key), lease, value.
// Reads at the latest revision use the latest namespace: one Pebble Get for
// a point read. Reads at revision R take, for each key, the newest history
// version with rev <= R, and skip it if it is a tombstone.
//
// The meta namespace holds, all written in the same batch as the data they
// describe: MetaApplied (uint64 BE), MetaRevision (int64 BE), MetaCompacted
// (int64 BE), MetaConfState (proto raftpb.ConfState), MetaMembers (JSON
// []membership.Member ordered by ID), and compactDone (int64 BE, the
// horizon the background compactor last finished; see compactor.go).
//
// # Invariants
//
//   - The applied index, revision and compaction horizon on disk always
//     describe exactly the data in the same Pebble state: Apply writes them
//     in its one batch, so a crash neither loses nor re-applies an entry.
//     Entries at or below the applied index are skipped.
//   - Apply is deterministic: no clock, no randomness, no map iteration in
//     anything written or returned. Every error that depends on the request
//     (invalid, duplicate key, compacted, future revision) is a Result.Err
//     code, identical on every node. A proposal that does not decode is
//     logged and produces no result, on every node alike.
//   - Results are delivered (Options.OnResult) only after the batch that
//     holds their effects has been committed and the in-memory revision and
//     applied index published, so a client told "revision N" can read N.
//   - Requests applied in one Apply call share one indexed batch, so each
//     request (and each op of a txn) reads the writes of the ones before it.
//     Read-modify-write requests (Mutate, mutate.go: INCR, APPEND, SET NX,
//     RENAME ...) rely on this to be atomic.
//   - Compaction to horizon C keeps, for every key, the newest version with
//     rev <= C unless it is a tombstone, and everything newer; the latest
//     namespace is never touched. MetaCompacted is raised at apply time, so
//     reads below C fail with ErrCompacted before any version disappears;
//     the compactor deletes a key's tombstone no earlier than the versions
//     beneath it, so a read at >= C never sees a deleted key come back.
//
// # Concurrency
//
// Apply, OpenSnapshot, Restore and Reload are called from the raft
// goroutine only. Range, Get and the accessors may be called from any
// goroutine and never wait for apply: multi-key reads run on a Pebble
// snapshot and take its revision from the same snapshot. The compactor
// is one goroutine owned by the StateMachine (Open starts it, Close stops
// it); it takes no lock and works in small batches.
package statemachine
