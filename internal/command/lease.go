package command

// Leases, per-key expiry and locks (request tags 7..12).
//
// The state machine never reads the clock: a lease's deadline lives only in
// the leader's memory (internal/lease), which proposes LeaseRevoke{Expired}
// when it passes; a key's expiry is an absolute Unix time computed by the
// node that received the client's relative TTL, and the leader proposes
// ExpireReap when it passes. Every node applies the same deletions.

// LeaseGrantRequest creates a lease. ID 0 asks the state machine to choose
// one (a per-store counter, so IDs are never reused); a chosen ID that
// exists is ErrCodeLeaseExists. TTL is in milliseconds (> 0).
type LeaseGrantRequest struct {
	ID  int64
	TTL int64
}

// LeaseRevokeRequest deletes a lease, every key attached to it and every
// lock waiter it holds. Expired marks it as an expiry decided by the
// leader (the keys are deleted through the applier's expiry path).
//
// With CheckRenewals, the revoke applies only if the lease's renewal count
// is still Renewals, the count the leader's deadline was computed from. A
// keep-alive that reaches the log before the revoke thus always wins
// (ErrCodeLeaseRenewed, nothing deleted), and a deposed leader acting on
// deadlines it computed before it lost office cannot expire a lease that
// was kept alive through its successor.
type LeaseRevokeRequest struct {
	ID            int64
	Expired       bool
	CheckRenewals bool
	Renewals      int64
}

// LeaseKeepAliveRequest renews a lease. The state machine checks that the
// lease exists, counts the renewal and returns the TTL and the count;
// every node's lessor restarts the lease's countdown when it applies the
// result.
type LeaseKeepAliveRequest struct {
	ID int64
}

// LeaseResult answers grant, keep-alive and revoke.
type LeaseResult struct {
	ID       int64
	TTL      int64       // granted TTL in milliseconds (grant, keep-alive)
	Renewals int64       // keep-alives applied so far (grant: 0, keep-alive)
	Deleted  int64       // keys deleted by a revoke
	Promoted []LockGrant // lock waiters that became holders (revoke)
}

// ExpireOp is what an ExpireRequest does.
type ExpireOp uint8

const (
	// ExpireSet sets Key's expiry to At (Unix ms) under Cond. At <= Now
	// deletes the key (Redis EXPIRE with a time in the past).
	ExpireSet ExpireOp = iota + 1
	// ExpirePersist removes Key's expiry (Redis PERSIST).
	ExpirePersist
	// ExpireReap deletes Key if its expiry is still At: proposed by the
	// leader once At has passed on its clock.
	ExpireReap

	maxExpireOp = ExpireReap
)

// ExpireCond is the condition of ExpireSet (Redis EXPIRE's NX/XX/GT/LT; a
// key without expiry counts as an infinite TTL for GT and LT).
type ExpireCond uint8

const (
	ExpireAlways ExpireCond = iota
	ExpireNX                // only if Key has no expiry
	ExpireXX                // only if Key has an expiry
	ExpireGT                // only if At is later than the current expiry
	ExpireLT                // only if At is earlier than the current expiry
	// ExpireIfWritten applies only if Key was written at this revision by
	// an earlier op of the same txn (SET ... EX after a SET NX that may
	// not have written). The expiry then amends that version in place.
	ExpireIfWritten

	maxExpireCond = ExpireIfWritten
)

// ExpireRequest sets, clears or reaps a key's expiry; usable as a request
// and as a TxnOp. Setting or clearing an expiry writes a new version of
// the key with the same value (unless amending a version written in the
// same txn).
type ExpireRequest struct {
	Op   ExpireOp
	Key  []byte
	At   int64 // Unix milliseconds
	Now  int64 // the proposer's clock, Unix milliseconds (ExpireSet)
	Cond ExpireCond
}

// ExpireResult is the outcome of an ExpireRequest.
type ExpireResult struct {
	Existed bool  // Key existed
	Done    bool  // the expiry was set/cleared or the key reaped
	Deleted bool  // the key was deleted (At <= Now, or reaped)
	Prev    int64 // Key's expiry before the op (0 = none)
}

// LockOp is what a LockRequest does.
type LockOp uint8

const (
	// LockAcquire queues Lease as a waiter of lock Name. The waiter's
	// token is the revision it was queued at; the holder is the waiter
	// with the lowest token (FIFO). Acquiring again with the same lease
	// returns the existing waiter.
	LockAcquire LockOp = iota + 1
	// LockRelease removes the waiter Token of lock Name (holder or not).
	LockRelease

	maxLockOp = LockRelease
)

// LockRequest acquires or releases a named lock.
type LockRequest struct {
	Op    LockOp
	Name  []byte
	Lease int64 // LockAcquire
	Token int64 // LockRelease
}

// LockResult is the outcome of a LockRequest.
type LockResult struct {
	Token    int64 // the waiter's token (LockAcquire; LockRelease echoes it)
	Held     bool  // LockAcquire: the waiter holds the lock now; LockRelease: a waiter was removed
	Promoted []LockGrant
}

// LockGrant reports that a waiter became the holder of a lock.
type LockGrant struct {
	Name  []byte
	Token int64
	Lease int64
}

// FenceRequest applies Ops as one txn (no compares) only if Token is the
// token of lock Name's current holder; otherwise the result's Err is
// ErrCodeFenced and nothing is written. The result is a TxnResult.
type FenceRequest struct {
	Name  []byte
	Token int64
	Ops   []TxnOp
}

// Error codes of leases, expiry and locks.
const (
	ErrCodeLeaseNotFound = "lease_not_found"
	ErrCodeLeaseExists   = "lease_exists"
	ErrCodeLeaseRenewed  = "lease_renewed" // a conditional expiry revoke lost to a keep-alive
	ErrCodeFenced        = "fenced"        // a fencing token that is not the lock's current holder
)
