package command

// Exactly-once writes (docs/REPLICATION.md, "Exactly-once writes").
//
// A request ID is prefix(24 bits) | counter(40 bits): the prefix names the
// proposer (derived from its node ID), the counter grows by one per request.
// The state machine keeps, per prefix, the highest counter applied and which
// of the DedupWindow counters below it were applied, and answers a request it
// has applied before with ErrCodeDuplicateRequest, one too old to tell with
// ErrCodeStaleRequest (and a StaleResult). Neither has any effect. ID 0 is
// never deduplicated.

// Error codes of requests the state machine refused without applying them.
const (
	// ErrCodeDuplicateRequest: a request with this ID was applied before.
	ErrCodeDuplicateRequest = "duplicate_request"
	// ErrCodeStaleRequest: the ID's counter is DedupWindow or more below
	// the highest counter applied for its proposer, so whether it applied
	// cannot be told; it is refused, and so is every later copy of it.
	// Result.Stale carries that highest counter.
	ErrCodeStaleRequest = "stale_request"
)

const (
	// DedupWindow is how many counters below the highest one applied the
	// state machine remembers per proposer.
	DedupWindow = 1024
	// IDCounterBits is the width of a request ID's counter; the bits above
	// it are the proposer prefix.
	IDCounterBits = 40
	// IDCounterMask selects a request ID's counter.
	IDCounterMask = 1<<IDCounterBits - 1
)

// StaleResult is the body of a result refused with ErrCodeStaleRequest.
type StaleResult struct {
	// High is the highest counter the state machine applied for the
	// request's proposer: a proposer whose counter is at or below it
	// moves its counter past it.
	High uint64
}

// tagStale is the result tag of a StaleResult.
//
//	stale = high:uvarint   tag 17 (results only)
const tagStale byte = 17

// CounterAfter reports whether counter a comes after counter b in serial
// number arithmetic over IDCounterBits bits (RFC 1982): counters wrap
// around, and a is after b when it is less than half the counter space
// ahead of it.
func CounterAfter(a, b uint64) bool {
	d := (a - b) & IDCounterMask
	return d != 0 && d < 1<<(IDCounterBits-1)
}
