package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/document"
	"github.com/cairndb/cairn/internal/statemachine"
)

// Put writes a key. The result carries the new revision and, when asked,
// the previous version.
func (s *Service) Put(ctx context.Context, r *command.PutRequest) (*command.Result, error) {
	if err := validatePut(r); err != nil {
		return nil, err
	}
	return s.propose(ctx, &command.Request{Put: r})
}

// Delete deletes a key or a range of keys.
func (s *Service) Delete(ctx context.Context, r *command.DeleteRequest) (*command.Result, error) {
	if err := validateKey(r.Key); err != nil {
		return nil, err
	}
	if err := validateRangeEnd(r.End); err != nil {
		return nil, err
	}
	return s.propose(ctx, &command.Request{Delete: r})
}

// Txn runs an atomic compare-then-ops transaction.
func (s *Service) Txn(ctx context.Context, r *command.TxnRequest) (*command.Result, error) {
	if err := validateTxn(r); err != nil {
		return nil, err
	}
	return s.propose(ctx, &command.Request{Txn: r})
}

// Compact proposes discarding history older than rev.
func (s *Service) Compact(ctx context.Context, rev int64) (*command.Result, error) {
	if rev <= 0 {
		return nil, fmt.Errorf("%w: compact revision must be positive", ErrInvalid)
	}
	if cur := s.sm.Revision(); rev > cur {
		return nil, fmt.Errorf("%w: compact to %d, current revision %d", ErrFutureRevision, rev, cur)
	}
	return s.propose(ctx, &command.Request{Compact: &command.CompactRequest{Revision: rev}})
}

// Range reads a key or a range at the requested consistency. It returns
// the revision the result reflects.
func (s *Service) Range(ctx context.Context, r *command.RangeRequest, o ReadOptions) (*command.RangeResult, int64, error) {
	if err := validateRange(r); err != nil {
		return nil, 0, err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.readBarrier(ctx, o); err != nil {
		return nil, 0, err
	}
	// At the latest revision, keys past their expiry are left out by the
	// state machine (before Limit applies), as the node's clock sees them.
	res, rev, err := s.sm.RangeNow(r, nowMillis())
	if err != nil {
		return nil, 0, translateRead(err)
	}
	return res, rev, nil
}

// readBarrier waits until the local state machine may serve a read of the
// requested consistency.
func (s *Service) readBarrier(ctx context.Context, o ReadOptions) error {
	if o.Consistency == Linearizable || !s.caughtUp.Load() {
		// A restarted node replays entries it applied before it stopped
		// (applies are not fsynced; the raft log is). Until one barrier
		// has passed, its state may be older than what it served before
		// the restart, so even stale reads wait for one: its index is at
		// least anything this node ever applied.
		if err := s.node.LinearizableBarrier(ctx); err != nil {
			return s.translate(ctx, err)
		}
		s.caughtUp.Store(true)
	}
	if o.MinRevision > 0 {
		err := s.revisions.wait(ctx, o.MinRevision, s.sm.Revision)
		if err != nil {
			return fmt.Errorf("%w: waiting for revision %d (at %d)", ErrTimeout, o.MinRevision, s.sm.Revision())
		}
	}
	return nil
}

// Revision is the latest revision applied on this node.
func (s *Service) Revision() int64 { return s.sm.Revision() }

func translateRead(err error) error {
	switch {
	case errors.Is(err, statemachine.ErrCompacted):
		return fmt.Errorf("%w: %v", ErrCompacted, err)
	case errors.Is(err, statemachine.ErrFutureRevision):
		return fmt.Errorf("%w: %v", ErrFutureRevision, err)
	case errors.Is(err, statemachine.ErrInvalid):
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return err
}

func validateKey(k []byte) error {
	switch {
	case len(k) == 0:
		return ErrKeyEmpty
	case len(k) > MaxKeySize:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrKeyTooLarge, len(k), MaxKeySize)
	}
	return nil
}

func validateRangeEnd(end []byte) error {
	if len(end) > MaxKeySize {
		return fmt.Errorf("%w: range end of %d bytes, limit %d", ErrKeyTooLarge, len(end), MaxKeySize)
	}
	return nil
}

func validatePut(r *command.PutRequest) error {
	if err := validateKey(r.Key); err != nil {
		return err
	}
	if len(r.Value) > MaxValueSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrValueTooLarge, len(r.Value), MaxValueSize)
	}
	switch r.Type {
	case command.TypeBytes:
	case command.TypeDocument:
		// Stored documents are always valid and canonical: JSON.* reads
		// and document ops parse them without further checks.
		doc, err := document.Parse(r.Value)
		if err != nil {
			return fmt.Errorf("%w: document value: %v", ErrInvalid, err)
		}
		if r.Value, err = document.Encode(doc); err != nil {
			return fmt.Errorf("%w: document value: %v", ErrInvalid, err)
		}
	default:
		return fmt.Errorf("%w: unknown value type %d", ErrInvalid, r.Type)
	}
	return nil
}

func validateRange(r *command.RangeRequest) error {
	if len(r.Key) == 0 && len(r.End) == 0 {
		return ErrKeyEmpty
	}
	if len(r.Key) == 0 {
		// A range from the empty key starts at the first key: no key is
		// empty, so "\x00" is the same start.
		r.Key = []byte{0}
	}
	if len(r.Key) > MaxKeySize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrKeyTooLarge, len(r.Key), MaxKeySize)
	}
	if err := validateRangeEnd(r.End); err != nil {
		return err
	}
	if r.Limit < 0 || r.Revision < 0 {
		return fmt.Errorf("%w: negative limit or revision", ErrInvalid)
	}
	if r.Limit == 0 || r.Limit > MaxScanLimit {
		if len(r.End) > 0 && !r.CountOnly {
			r.Limit = MaxScanLimit
		}
	}
	return nil
}

func validateTxn(r *command.TxnRequest) error {
	if len(r.Compares) > MaxTxnOps || len(r.Success) > MaxTxnOps || len(r.Failure) > MaxTxnOps {
		return fmt.Errorf("%w: more than %d compares or ops", ErrInvalid, MaxTxnOps)
	}
	size := 0
	for _, c := range r.Compares {
		if err := validateKey(c.Key); err != nil {
			return err
		}
		if c.Target < command.CompareValue || c.Target > command.CompareUnchangedSince ||
			c.Result < command.CompareEqual || c.Result > command.CompareGreater {
			return fmt.Errorf("%w: bad compare target or result", ErrInvalid)
		}
		size += len(c.Key) + len(c.Value)
	}
	for _, ops := range [][]command.TxnOp{r.Success, r.Failure} {
		for _, op := range ops {
			n, err := validateTxnOp(op)
			if err != nil {
				return err
			}
			size += n
		}
	}
	if size > MaxValueSize+MaxKeySize {
		return fmt.Errorf("%w: txn of %d bytes", ErrRequestTooLarge, size)
	}
	return nil
}

func validateTxnOp(op command.TxnOp) (int, error) {
	switch {
	case op.Put != nil:
		return len(op.Put.Key) + len(op.Put.Value), validatePut(op.Put)
	case op.Delete != nil:
		if err := validateKey(op.Delete.Key); err != nil {
			return 0, err
		}
		return len(op.Delete.Key), validateRangeEnd(op.Delete.End)
	case op.Range != nil:
		return len(op.Range.Key), validateRange(op.Range)
	case op.Mutate != nil:
		m := op.Mutate
		return len(m.Key) + len(m.Dest) + len(m.Value), validateMutate(m)
	case op.Doc != nil:
		n := len(op.Doc.Key) + len(op.Doc.Path)
		for _, v := range op.Doc.Values {
			n += len(v)
		}
		return n, validateDoc(op.Doc)
	case op.Expire != nil:
		return len(op.Expire.Key), validateExpire(op.Expire)
	}
	return 0, fmt.Errorf("%w: empty txn op", ErrInvalid)
}
