package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/query"
)

// Query runs a Starlark script against the keyspace (see package query):
// a read-only query when o.ReadOnly, else an optimistic transaction.
// Script errors are *query.Error; store errors wrap this package's
// sentinels.
func (s *Service) Query(ctx context.Context, script string, o query.Options) (*query.Result, error) {
	return query.Run(ctx, queryStore{s}, script, o)
}

// queryStore is the query.Store of a service. Reads at a revision are
// served from the local state machine's MVCC history, after the barrier
// ReadRevision waited for.
type queryStore struct{ s *Service }

func (q queryStore) ReadRevision(ctx context.Context, stale bool) (int64, error) {
	o := ReadOptions{}
	if stale {
		o.Consistency = Stale
	}
	ctx, cancel := q.s.withTimeout(ctx)
	defer cancel()
	if err := q.s.readBarrier(ctx, o); err != nil {
		return 0, err
	}
	return q.s.sm.Revision(), nil
}

func (q queryStore) Get(ctx context.Context, key []byte, rev int64) (*command.KeyValue, error) {
	if err := validateKey(key); err != nil {
		return nil, err
	}
	kv, _, err := q.s.sm.Get(key, rev)
	return kv, queryReadErr(err)
}

func (q queryStore) Keys(ctx context.Context, start, end []byte, rev int64, limit int) ([]*command.KeyValue, bool, error) {
	if end == nil {
		end = []byte{0}
	}
	res, _, err := q.s.sm.Range(&command.RangeRequest{Key: start, End: end, Revision: rev, Limit: int64(limit), KeysOnly: true})
	if err != nil {
		return nil, false, queryReadErr(err)
	}
	return res.KVs, res.More, nil
}

func (q queryStore) Commit(ctx context.Context, txn *command.TxnRequest) (*command.Result, error) {
	return q.s.Txn(ctx, txn)
}

// queryReadErr translates a state machine read error; a compacted read
// also wraps query.ErrCompacted so the engine retries at a newer revision.
func queryReadErr(err error) error {
	if err == nil {
		return nil
	}
	err = translateRead(err)
	if errors.Is(err, ErrCompacted) {
		return fmt.Errorf("%w: %w", query.ErrCompacted, err)
	}
	return err
}
