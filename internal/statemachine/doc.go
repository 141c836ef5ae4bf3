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
// compaction and a failed request leave the revision alone. A user key k is
// stored once per version, in one MVCC namespace (see storage/doc.go for the
// key layout):
//
//	HistoryKey(g, k, rev) -> record of the version written at rev, newest first;
//	                         deletes write a tombstone record here
//
//	ChangeKey(g, rev, k)  -> event type (put, delete, expire): the change index,
//	                         revision-ordered, read by watches (changes.go)
//
// A record (record.go) is kind (live or tombstone), create revision, mod
// revision, version (writes since creation, 1 for a new key), lease, value.
// A key's latest record is its newest version; the key is absent if that
// is a tombstone or if it has no version. Reads at the latest revision take
// each key's first version and skip the rest (storage.Iter.NextHistoryKey);
// a point read is one bounded seek, in front of which the latest-record
// cache (latestcache.go, keyed by storage.LatestKey, in memory only) serves
// hot keys. Reads at revision R take, for each key, the newest version with
// rev <= R, and skip it if it is a tombstone. (Storage format 1 also kept a
// copy of each latest record in a latest namespace, 0x04; format 2 writes
// nothing there, which saves a memtable insert and a copy of the value per
// write. MetaFormat records the format; see format.go.)
//
// The meta namespace holds, all written in the same batch as the data they
// describe: MetaApplied (uint64 BE), MetaRevision (int64 BE), MetaCompacted
// (int64 BE), MetaConfState (proto raftpb.ConfState), MetaMembers (JSON
// []membership.Member ordered by ID), MetaFormat (uint64 BE, the storage
// format, written when the state machine is created), and compactDone (int64 BE, the
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
//     rev <= C unless it is a tombstone, and everything newer, so a live
//     key's newest version (its latest record) is never removed; a key
//     whose newest version is a tombstone <= C disappears entirely, which
//     reads see as absent, as before. MetaCompacted is raised at apply time, so
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
