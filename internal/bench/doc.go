// Package bench is the engine of cairn bench, a closed-loop load generator
// in the manner of redis-benchmark and etcd's benchmark tool. docs/BENCH.md
// is the user's guide.
//
// # Structure
//
//   - A generator per client (workload.go) chooses each op's kind, keys
//     ("key:%010d", uniform or zipfian) and value (random, of the exact
//     size), deterministically from the seed and the client's index.
//   - A Driver (driver.go) opens one Conn per client and runs batches of
//     ops on it. There are two: NewHTTP for Cairn's HTTP/JSON API and
//     NewRESP for RESP servers (Cairn's RESP front end or Redis).
//   - The runner (runner.go) dials every client, optionally preloads the
//     key space, then runs each client in its own goroutine: fill a batch
//     of Pipeline ops, hand it to Conn.Do, record the outcome. A client has
//     at most one batch in flight, so at most Pipeline ops.
//   - Each client records latencies in its own Histogram (histogram.go):
//     fixed log-linear buckets, no allocation per record, merged at the end
//     (and every second for the progress line).
//   - Result and Report (report.go) are the outcome, printed as text or
//     JSON.
//
// # What is measured
//
// An op's latency runs from the moment its batch is handed to the driver
// to the arrival of the op's (last) reply, so with pipelining later ops of
// a batch include the wait for earlier ones, as in redis-benchmark. Ops
// that start during the warmup are not measured. Throughput is successful
// ops over the measured phase, which ends when the last client has
// finished its last batch. Failed ops are counted by kind (ErrorKind), not
// timed, and never stop the run; a client whose whole batch fails backs
// off briefly so that a dead target does not turn into a spin.
package bench
