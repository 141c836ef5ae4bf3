// Package storage is the only package that imports Pebble. It opens the one
// Pebble database a node keeps, declares every key namespace (keys.go), and
// exposes thin wrappers over batches, snapshots and iterators.
//
// # Key namespaces
//
// Every key starts with a one-byte namespace tag followed by the raft group
// ID (8 bytes, big endian), so that one node can host many groups later.
//
//	0x01 group index            raft log entry (raftlog)
//	0x02 group kind             raft hard state / log truncation state (raftlog)
//	0x03 group name             state machine meta: applied index, conf state, revisions (statemachine)
//	0x04                        retired (storage format 1: a copy of each key's latest version); never written
//	0x05 group escaped(key) rev every version of a user key, newest first; the first is the latest (statemachine)
//	0x09 group rev key          the change index: what changed at each revision (statemachine, watch)
//
// Keys and values returned by Get are copies owned by the caller. Keys and
// values returned by an Iter are valid until the next positioning call.
//
// # Durability
//
// Pebble has one write-ahead log for all namespaces. A batch committed with
// sync=true makes every earlier batch durable too; raft persistence relies on
// that (state machine applies are written without sync and become durable with
// the next synced raft write).
package storage
