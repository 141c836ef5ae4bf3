package client

import (
	"context"
	"net/http"
)

// UndoResponse is what an undo or redo did.
type UndoResponse struct {
	Revision int64 `json:"revision"` // the revision of the undo's (redo's) own write
	Target   int64 `json:"target"`   // the revision of the change undone (redone)
	Keys     int64 `json:"keys"`     // keys restored
}

// Undo reverts the newest change not undone yet, whoever made it: every
// key it touched gets back its previous version, at a new revision.
// Errors: ErrNothingToUndo, ErrUndoConflict. Like any write, it is not
// retried on another endpoint once sent (ErrUnknownOutcome).
func (c *Client) Undo(ctx context.Context) (*UndoResponse, error) {
	return c.undoRedo(ctx, "/v1/undo")
}

// Redo re-applies the most recently undone change. Any other change since
// the undo clears what can be redone: ErrNothingToRedo.
func (c *Client) Redo(ctx context.Context) (*UndoResponse, error) {
	return c.undoRedo(ctx, "/v1/redo")
}

func (c *Client) undoRedo(ctx context.Context, path string) (*UndoResponse, error) {
	var out UndoResponse
	if err := c.do(ctx, call{method: http.MethodPost, path: path, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}
