package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	qry "github.com/cairndb/cairn/internal/query"
)

type queryBody struct {
	Script   string       `json:"script"`
	Write    bool         `json:"write"`    // a transaction: the script may write
	Stale    bool         `json:"stale"`    // read the local node's applied state
	Revision int64        `json:"revision"` // read at this past revision (read-only)
	Session  *qry.Session `json:"session"`  // a shell's session; returned updated
	Lease    int64        `json:"lease"`    // the caller's session lease: holds db.lock()
}

type queryResponse struct {
	Value     json.RawMessage `json:"value,omitempty"` // absent when the script ends with a statement
	Revision  int64           `json:"revision"`
	Committed bool            `json:"committed"`
	Attempts  int             `json:"attempts"`
	Output    string          `json:"output,omitempty"`
	Session   *qry.Session    `json:"session,omitempty"`
}

// POST /v1/query
func (a *api) query(r *http.Request) (response, error) {
	var b queryBody
	if err := decodeBody(r, &b); err != nil {
		return response{}, err
	}
	if b.Revision < 0 {
		return response{}, invalid("negative revision")
	}
	if b.Lease < 0 {
		return response{}, invalid("negative lease")
	}
	if b.Write && b.Revision > 0 {
		return response{}, invalid("a script that writes cannot read at a past revision")
	}
	res, err := a.svc.Query(r.Context(), b.Script, qry.Options{
		Stale: b.Stale, Revision: b.Revision, ReadOnly: !b.Write, Session: b.Session, Lease: b.Lease})
	if err != nil {
		return response{}, err
	}
	return response{rev: res.Revision, body: queryResponse{Value: res.Value, Revision: res.Revision,
		Committed: res.Committed, Attempts: res.Attempts, Output: res.Output, Session: res.Session}}, nil
}

// queryErrors maps the query engine's errors to codes.
var queryErrors = []struct {
	err    error
	status int
	code   string
}{
	{qry.ErrSyntax, http.StatusBadRequest, "syntax_error"},
	{qry.ErrScript, http.StatusBadRequest, "script_error"},
	{qry.ErrStepLimit, http.StatusBadRequest, "step_limit"},
	{qry.ErrTimeLimit, http.StatusBadRequest, "time_limit"},
	{qry.ErrMemoryLimit, http.StatusBadRequest, "memory_limit"},
	{qry.ErrResultTooLarge, http.StatusBadRequest, "result_too_large"},
	{qry.ErrTooManyKeys, http.StatusBadRequest, "too_many_keys"},
	{qry.ErrReadOnly, http.StatusBadRequest, "read_only"},
	{qry.ErrNotAvailable, http.StatusNotImplemented, "not_available"},
	{qry.ErrConflict, http.StatusConflict, "conflict"},
}

// queryError translates an error of the query engine, or returns nil.
func queryError(err error) *apiError {
	var qe *qry.Error
	isScript := errors.As(err, &qe)
	for _, m := range queryErrors {
		if !errors.Is(err, m.err) {
			continue
		}
		e := &apiError{Status: m.status, Code: m.code, Message: err.Error()}
		if isScript {
			e.Line, e.Col = int(qe.Line), int(qe.Col)
		}
		return e
	}
	return nil
}
