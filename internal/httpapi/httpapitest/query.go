package httpapitest

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/query"
	"github.com/cairndb/cairn/internal/service"
)

// Query implements httpapi.Service: the real engine over the fake's data.
func (s *Service) Query(ctx context.Context, script string, o query.Options) (*query.Result, error) {
	return query.Run(ctx, queryStore{s}, script, o)
}

type queryStore struct{ s *Service }

func (q queryStore) ReadRevision(ctx context.Context, stale bool) (int64, error) {
	return q.s.Revision(), nil
}

func (q queryStore) Get(ctx context.Context, key []byte, rev int64) (*command.KeyValue, error) {
	res, _, err := q.s.Range(ctx, &command.RangeRequest{Key: key, Revision: rev}, service.ReadOptions{})
	if err != nil || len(res.KVs) == 0 {
		return nil, err
	}
	return res.KVs[0], nil
}

func (q queryStore) Keys(ctx context.Context, start, end []byte, rev int64, limit int) ([]*command.KeyValue, bool, error) {
	if end == nil {
		end = []byte{0}
	}
	res, _, err := q.s.Range(ctx, &command.RangeRequest{Key: start, End: end, Revision: rev, Limit: int64(limit), KeysOnly: true}, service.ReadOptions{})
	if errors.Is(err, service.ErrCompacted) {
		return nil, false, fmt.Errorf("%w: %w", query.ErrCompacted, err)
	}
	if err != nil {
		return nil, false, err
	}
	return res.KVs, res.More, nil
}

func (q queryStore) Commit(ctx context.Context, txn *command.TxnRequest) (*command.Result, error) {
	return q.s.Txn(ctx, txn)
}

// Undo implements httpapi.Service. The fake keeps no change history: undo
// and redo are tested against real nodes (internal/testcluster).
func (s *Service) Undo(ctx context.Context, redo bool) (*service.UndoResult, error) {
	if redo {
		return nil, service.ErrNothingToRedo
	}
	return nil, service.ErrNothingToUndo
}
