// Package respserver is Cairn's Redis protocol front end: it accepts RESP2
// and RESP3 (HELLO 3) clients, inline (telnet) commands and the legacy line
// protocol of the Python prototypes on one port, and maps Redis's string,
// key and transaction commands onto the service (docs/RESP.md lists them
// and how each maps onto the core).
//
// # Connections
//
// Serve runs one goroutine per connection; Close stops the accept loops,
// closes every connection, cancels the requests in flight and waits for
// the goroutines. A connection reads a command (resp.Reader, reusing one
// resp.Command), executes it, and flushes its replies only when no
// pipelined command is already buffered, so a pipeline of n commands
// costs one read and one write per batch. Pipelined commands overlap
// (pipeline.go): consecutive writes are all proposed before the first is
// awaited, consecutive reads share one read barrier, and replies are
// written in order. A protocol error (malformed or
// oversized input) is answered with "-ERR Protocol error: ..." and closes
// that connection only.
//
// # Commands
//
// The command table (commands.go) maps the lower-cased name, looked up
// without allocating, to a spec: arity, COMMAND metadata, and either a run
// function (connection commands, KEYS, SCAN ...) or a build function that
// turns the command into core txn ops plus a reply function. Built
// commands run alone through the cheapest atomic service call (a point
// read, a Mutate, a Delete, one Txn for several writes) and, inside MULTI,
// are queued and become part of the EXEC txn (txn.go). GET and SET have
// dedicated fast paths that allocate nothing of their own.
//
// Read-modify-write commands (INCR, APPEND, SETNX, GETSET, RENAME, SET NX
// ...) are command.MutateRequests, applied atomically by the state
// machine; multi-key writes (MSET, DEL k1 k2, FLUSHDB) are one revision.
//
// # Consistency
//
// Reads are linearizable (ReadIndex) by default. READONLY switches a
// connection to stale reads served from the local node, with
// read-your-writes for the connection's own writes; READWRITE switches
// back.
//
// # Errors
//
// Service errors are translated at the edge (errors.go): no leader is
// "-CLUSTERDOWN ...", a timeout "-TIMEOUT ...", the rest "-ERR ..." with
// Redis's texts where Redis has one.
package respserver
