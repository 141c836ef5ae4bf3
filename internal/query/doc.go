// Package query runs Starlark (a deterministic, sandboxed Python dialect)
// scripts against the keyspace: queries and optimistic transactions.
//
// A script sees the keyspace root as the value db, a dict-like mapping of
// top-level keys to values, read lazily at one revision: a JSON document
// (command.TypeDocument) becomes Starlark lists, dicts, ints, floats,
// strings, bools and None; a plain value becomes a string (bytes when it
// is not UTF-8). Assigning db[k], changing a value read from db in place
// (db['l'].append(1), db['d']['x'] = 2), del db[k] and db.pop(k) are
// writes, kept in the script until it ends.
//
// # Transactions
//
// Run reads at one revision R and records the read set: every top-level
// key read with its mod revision at R (0 when absent), and every prefix
// the script listed keys under ("" for the whole keyspace). When the
// script ends without error and wrote something, its writes are committed
// as one command.TxnRequest whose compares assert that every key read
// still has that mod revision and, with one command.CompareUnchangedSince
// per listed prefix, that no key under a listed prefix was created,
// changed or deleted since R (keys read under a listed prefix need no
// compare of their own). When a compare fails (another write came
// between), the script runs again from the start at a newer revision, up
// to Options.MaxAttempts times. So scripts that write are serializable
// (equivalent to running one at a time in commit order), phantoms
// included: a key created under a listed prefix after R fails the
// commit. A failing script commits nothing.
//
// # Sandbox
//
// Scripts have no I/O, clock, randomness or load(); they are bounded in
// steps, wall time (every attempt included), result size, keys listed and
// keys per transaction. Errors carry the script's line and column.
package query
