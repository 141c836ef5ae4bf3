package httpapi

import "net/http"

// undoResponse is the body of POST /v1/undo and /v1/redo.
type undoResponse struct {
	Revision int64 `json:"revision"` // the undo's (redo's) own write
	Target   int64 `json:"target"`   // the revision undone (redone)
	Keys     int64 `json:"keys"`     // keys restored
}

func (a *api) undo(r *http.Request) (response, error) { return a.undoRedo(r, false) }
func (a *api) redo(r *http.Request) (response, error) { return a.undoRedo(r, true) }

func (a *api) undoRedo(r *http.Request, redo bool) (response, error) {
	res, err := a.svc.Undo(r.Context(), redo)
	if err != nil {
		return response{}, err
	}
	return response{rev: res.Revision, body: undoResponse{Revision: res.Revision, Target: res.Target, Keys: res.Keys}}, nil
}
