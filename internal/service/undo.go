package service

import (
	"context"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
)

// UndoResult is what an undo or redo did.
type UndoResult struct {
	Revision int64 // the revision of the undo's (redo's) own write
	Target   int64 // the revision of the change undone (redone)
	Keys     int64 // keys restored
}

// Undo reverts the most recent change not yet undone, cluster-wide; with
// redo, it re-applies the most recently undone change. Errors:
// ErrNothingToUndo, ErrNothingToRedo, ErrUndoConflict (naming the key
// changed since), ErrCompacted (the change is older than the retained
// history). See docs/QUERY.md.
func (s *Service) Undo(ctx context.Context, redo bool) (*UndoResult, error) {
	res, err := s.propose(ctx, &command.Request{Undo: &command.UndoRequest{Redo: redo}})
	if res != nil { // applied: its error code is translated here, with the key
		return UndoOutcome(res)
	}
	return nil, err
}

// UndoOutcome translates the state machine's result of an UndoRequest.
func UndoOutcome(res *command.Result) (*UndoResult, error) {
	switch res.Err {
	case "":
	case command.ErrCodeNothingToUndo:
		return nil, ErrNothingToUndo
	case command.ErrCodeNothingToRedo:
		return nil, ErrNothingToRedo
	case command.ErrCodeUndoConflict:
		var key []byte
		var target int64
		if res.Undo != nil {
			key, target = res.Undo.ConflictKey, res.Undo.Target
		}
		return nil, fmt.Errorf("%w: key %q changed since revision %d", ErrUndoConflict, key, target)
	case command.ErrCodeTooLarge:
		return nil, fmt.Errorf("%w: the change touched more keys than one undo restores", ErrInvalid)
	default:
		return nil, resultErr(res)
	}
	if res.Undo == nil {
		return nil, fmt.Errorf("%w: undo result missing", ErrInvalid)
	}
	return &UndoResult{Revision: res.Revision, Target: res.Undo.Target, Keys: res.Undo.Keys}, nil
}

// Undo and Redo make queryStore a query.Undoer: db.undo() and db.redo().
func (q queryStore) Undo(ctx context.Context) error {
	_, err := q.s.Undo(ctx, false)
	return err
}

func (q queryStore) Redo(ctx context.Context) error {
	_, err := q.s.Undo(ctx, true)
	return err
}
