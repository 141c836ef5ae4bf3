package query

import (
	"context"
	"errors"

	"github.com/cairndb/cairn/internal/command"
)

// Store is what the engine needs from the service. Implementations wrap
// their errors; a read below the compaction horizon must wrap ErrCompacted.
type Store interface {
	// ReadRevision waits until the node may serve a read of the requested
	// freshness (stale: the local applied state; else linearizable) and
	// returns the revision the script reads at.
	ReadRevision(ctx context.Context, stale bool) (int64, error)
	// Get reads key as of revision rev; nil when the key is absent.
	Get(ctx context.Context, key []byte, rev int64) (*command.KeyValue, error)
	// Keys lists the keys in [start, end) as of revision rev (end nil: every
	// key >= start), in key order, without values, at most limit of them;
	// more reports that keys were left out.
	Keys(ctx context.Context, start, end []byte, rev int64, limit int) (kvs []*command.KeyValue, more bool, err error)
	// Commit proposes txn and waits for its result.
	Commit(ctx context.Context, txn *command.TxnRequest) (*command.Result, error)
}

// Undoer is implemented by a Store that supports db.undo() and db.redo().
// Until one does, those methods raise ErrNotAvailable.
type Undoer interface {
	Undo(ctx context.Context) error
	Redo(ctx context.Context) error
}

// Sentinel errors. Script errors (syntax, runtime, limits) are returned
// as *Error, which wraps one of them; store errors are passed through.
var (
	ErrSyntax         = errors.New("syntax error")
	ErrScript         = errors.New("script error")
	ErrStepLimit      = errors.New("step limit exceeded")
	ErrTimeLimit      = errors.New("time limit exceeded")
	ErrMemoryLimit    = errors.New("memory limit exceeded")
	ErrResultTooLarge = errors.New("result too large")
	ErrTooManyKeys    = errors.New("too many keys")
	ErrReadOnly       = errors.New("read-only query")
	ErrConflict       = errors.New("transaction conflict: retries exhausted")
	ErrNotAvailable   = errors.New("not available yet")
	ErrCompacted      = errors.New("revision has been compacted")
)
