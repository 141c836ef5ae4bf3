// Package client is the Go client of Cairn's HTTP API (docs/API.md).
//
// A Client holds a list of endpoints and sticks to the last one that
// worked. Keys and values are []byte and always travel as base64, so any
// bytes are safe.
//
// # Failover and retries
//
// When an endpoint cannot be reached, or answers 503 (no_leader, stopping,
// not_ready) or 504 (timeout), the client moves to the next endpoint, round
// robin, backing off between rounds, until the context ends. Only requests
// that are safe to repeat are retried that way: reads (Get, MemberList,
// txns without writes). A write (Put, Delete, a txn with writes, member
// changes) is retried only when the connection was refused before anything
// was sent. When a write fails in a way that leaves its outcome unknown (a
// timeout, no leader, the server stopping, a connection lost mid-request,
// the context ending in flight), the error wraps ErrUnknownOutcome: the
// write may or may not have been applied, and the caller must read to find
// out. (no_leader is included because the server reports it both for a
// proposal it refused and for one it accepted before the leader went away.)
//
// # Errors
//
// Errors the server reports are *Error values; test them with errors.Is
// against the exported sentinels (ErrKeyNotFound, ErrCompacted, ...).
package client
