package respserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/query"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cairndb/cairn/internal/statemachine"
)

// Query runs the real engine over the fake's state machine.
func (f *fakeService) Query(ctx context.Context, script string, o query.Options) (*query.Result, error) {
	if err := f.failure(); err != nil {
		return nil, err
	}
	return query.Run(ctx, fakeQueryStore{f}, script, o)
}

type fakeQueryStore struct{ f *fakeService }

func (q fakeQueryStore) ReadRevision(context.Context, bool) (int64, error) {
	return q.f.sm.Revision(), nil
}

func (q fakeQueryStore) Get(_ context.Context, key []byte, rev int64) (*command.KeyValue, error) {
	kv, _, err := q.f.sm.Get(key, rev)
	return kv, compactedErr(err)
}

func (q fakeQueryStore) Keys(_ context.Context, start, end []byte, rev int64, limit int) ([]*command.KeyValue, bool, error) {
	if end == nil {
		end = []byte{0}
	}
	res, _, err := q.f.sm.Range(&command.RangeRequest{Key: start, End: end, Revision: rev, Limit: int64(limit), KeysOnly: true})
	if err != nil {
		return nil, false, compactedErr(err)
	}
	return res.KVs, res.More, nil
}

func (q fakeQueryStore) Commit(ctx context.Context, t *command.TxnRequest) (*command.Result, error) {
	return q.f.Txn(ctx, t)
}

func compactedErr(err error) error {
	if errors.Is(err, statemachine.ErrCompacted) {
		return fmt.Errorf("%w: %w: %w", query.ErrCompacted, service.ErrCompacted, err)
	}
	return err
}

// Undo applies a real UndoRequest to the fake's state machine.
func (f *fakeService) Undo(ctx context.Context, redo bool) (*service.UndoResult, error) {
	if err := f.failure(); err != nil {
		return nil, err
	}
	res, err := f.propose(&command.Request{Undo: &command.UndoRequest{Redo: redo}})
	if res != nil {
		return service.UndoOutcome(res)
	}
	return nil, err
}

// Undo and Redo make the fake's query store a query.Undoer.
func (q fakeQueryStore) Undo(ctx context.Context) error {
	_, err := q.f.Undo(ctx, false)
	return err
}

func (q fakeQueryStore) Redo(ctx context.Context) error {
	_, err := q.f.Undo(ctx, true)
	return err
}
