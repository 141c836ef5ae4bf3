package service

import (
	"errors"

	"github.com/cairndb/cairn/internal/command"
)

// Sentinel errors of the service. Front ends translate them (HTTP status
// codes, RESP error strings) with errors.Is; everything below wraps them
// with context.
var (
	ErrKeyEmpty        = errors.New("key is empty")
	ErrKeyTooLarge     = errors.New("key too large")
	ErrValueTooLarge   = errors.New("value too large")
	ErrRequestTooLarge = errors.New("request too large")
	ErrInvalid         = errors.New("invalid request")
	ErrCompacted       = errors.New("revision has been compacted")
	ErrFutureRevision  = errors.New("revision is in the future")
	ErrDuplicateKey    = errors.New("duplicate key in txn branch")
	ErrTimeout         = errors.New("request timed out; the outcome of a write is unknown")
	ErrNoLeader        = errors.New("no leader: the cluster cannot reach a quorum")
	ErrStopped         = errors.New("server is stopping")
	ErrMemberNotFound  = errors.New("member not found")
	ErrMemberExists    = errors.New("member already exists")
	ErrNotLearner      = errors.New("member is not a learner")
	ErrNotReady        = errors.New("node is not ready")

	// Errors of read-modify-write requests (Mutate); they depend on the
	// stored value, see command.MutateOp.
	ErrNotInteger = errors.New("value is not an integer or out of range")
	ErrNotFloat   = errors.New("value is not a valid float")
	ErrOverflow   = errors.New("increment or decrement would overflow")
	ErrNaNOrInf   = errors.New("increment would produce NaN or Infinity")
	ErrNoSuchKey  = errors.New("no such key")

	// Undo and redo (undo.go).
	ErrNothingToUndo = errors.New("nothing to undo")
	ErrNothingToRedo = errors.New("nothing to redo")
	ErrUndoConflict  = errors.New("undo conflict: a key to restore was changed since")

	// Errors of leases and locks.
	ErrLeaseNotFound = errors.New("lease not found")
	ErrLeaseExists   = errors.New("lease already exists")
	ErrFenced        = errors.New("fencing token is not the lock's current holder")
	ErrLockBusy      = errors.New("lock is held by another session")
	// errLeaseRenewed answers the lessor's expiry revoke when a keep-alive
	// reached the log first; it never reaches a client.
	errLeaseRenewed = errors.New("lease renewed before its expiry applied")
)

// Limits on user input (documented in docs/API.md).
const (
	MaxKeySize   = 4 << 10              // 4 KiB
	MaxValueSize = command.MaxValueSize // 8 MiB, enforced by the state machine for APPEND/SETRANGE
	MaxTxnOps    = 1024                 // compares and ops per txn branch
	MaxScanLimit = 100_000              // keys returned by one range request
)
