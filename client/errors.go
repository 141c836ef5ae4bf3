package client

import (
	"errors"
	"fmt"
)

// Error is an error reported by the server.
type Error struct {
	Status  int    // HTTP status code
	Code    string // machine-readable code, e.g. "key_not_found" (docs/API.md)
	Message string // human-readable message
	// CompactRevision is the compaction horizon, for code "compacted" when
	// the server knows it.
	CompactRevision int64
	// Line and Col locate a script error (Query, QueryTxn); 0 when unknown.
	Line, Col int
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Code
}

// Is reports whether target is the sentinel for e's code, so that
// errors.Is(err, ErrKeyNotFound) works.
func (e *Error) Is(target error) bool {
	s, ok := codeErrors[e.Code]
	return ok && s == target
}

// Sentinels for the server's error codes. Match them with errors.Is.
var (
	ErrKeyNotFound     = errors.New("cairn: key not found")
	ErrKeyEmpty        = errors.New("cairn: key is empty")
	ErrKeyTooLarge     = errors.New("cairn: key too large")
	ErrValueTooLarge   = errors.New("cairn: value too large")
	ErrRequestTooLarge = errors.New("cairn: request too large")
	ErrInvalid         = errors.New("cairn: invalid request")
	ErrBadRequest      = errors.New("cairn: malformed request")
	ErrCompacted       = errors.New("cairn: revision has been compacted")
	ErrFutureRevision  = errors.New("cairn: revision is in the future")
	ErrDuplicateKey    = errors.New("cairn: duplicate key in txn branch")
	ErrTimeout         = errors.New("cairn: request timed out")
	ErrNoLeader        = errors.New("cairn: no leader")
	ErrStopping        = errors.New("cairn: server is stopping")
	ErrNotReady        = errors.New("cairn: node is not ready")
	ErrMemberNotFound  = errors.New("cairn: member not found")
	ErrMemberExists    = errors.New("cairn: member already exists")
	ErrNotLearner      = errors.New("cairn: member is not a learner")
	// ErrScript is a Starlark script's own error: syntax, runtime, limits,
	// a write in a read-only query (Error.Code tells which).
	ErrScript        = errors.New("cairn: script error")
	ErrConflict      = errors.New("cairn: transaction conflict")
	ErrNotAvailable  = errors.New("cairn: not available")
	ErrLeaseNotFound = errors.New("cairn: lease not found")
	ErrLeaseExists   = errors.New("cairn: lease already exists")
	ErrFenced        = errors.New("cairn: fencing token is not the lock holder's")
	ErrLockBusy      = errors.New("cairn: lock is held by another session")
	ErrNothingToUndo = errors.New("cairn: nothing to undo")
	ErrNothingToRedo = errors.New("cairn: nothing to redo")
	ErrUndoConflict  = errors.New("cairn: undo conflict: a key to restore was changed since")
	ErrNotSupported  = errors.New("cairn: not supported")
)

// ErrUnknownOutcome is wrapped by the error of a write that may or may not
// have been applied (see the package documentation).
var ErrUnknownOutcome = errors.New("cairn: the outcome of the write is unknown")

var codeErrors = map[string]error{
	"key_not_found":     ErrKeyNotFound,
	"key_empty":         ErrKeyEmpty,
	"key_too_large":     ErrKeyTooLarge,
	"value_too_large":   ErrValueTooLarge,
	"request_too_large": ErrRequestTooLarge,
	"invalid":           ErrInvalid,
	"bad_request":       ErrBadRequest,
	"compacted":         ErrCompacted,
	"future_revision":   ErrFutureRevision,
	"duplicate_key":     ErrDuplicateKey,
	"timeout":           ErrTimeout,
	"no_leader":         ErrNoLeader,
	"stopping":          ErrStopping,
	"not_ready":         ErrNotReady,
	"member_not_found":  ErrMemberNotFound,
	"member_exists":     ErrMemberExists,
	"not_learner":       ErrNotLearner,
	"syntax_error":      ErrScript,
	"script_error":      ErrScript,
	"step_limit":        ErrScript,
	"time_limit":        ErrScript,
	"result_too_large":  ErrScript,
	"too_many_keys":     ErrScript,
	"read_only":         ErrScript,
	"conflict":          ErrConflict,
	"not_available":     ErrNotAvailable,
	"lease_not_found":   ErrLeaseNotFound,
	"lease_exists":      ErrLeaseExists,
	"fenced":            ErrFenced,
	"lock_busy":         ErrLockBusy,
	"nothing_to_undo":   ErrNothingToUndo,
	"nothing_to_redo":   ErrNothingToRedo,
	"undo_conflict":     ErrUndoConflict,
	"not_supported":     ErrNotSupported,
}

// unknownOutcome wraps err so that errors.Is(err, ErrUnknownOutcome) holds
// while the cause stays reachable.
func unknownOutcome(err error) error {
	if errors.Is(err, ErrUnknownOutcome) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
}
