package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
)

// apiError is an error as the API reports it:
// {"error":{"code":...,"message":...}} with an HTTP status.
type apiError struct {
	Status          int    `json:"-"`
	Code            string `json:"code"`
	Message         string `json:"message"`
	CompactRevision int64  `json:"compact_revision,omitempty"` // with code "compacted", when known
	Line            int    `json:"line,omitempty"`             // script errors of POST /v1/query
	Col             int    `json:"col,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

// badRequest reports input the API itself cannot parse (as opposed to a
// well-formed request the service rejects, which is "invalid").
func badRequest(format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: fmt.Sprintf(format, args...)}
}

// invalid reports a request the API can parse but that makes no sense.
func invalid(format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: fmt.Sprintf(format, args...)}
}

var errKeyNotFound = &apiError{Status: http.StatusNotFound, Code: "key_not_found", Message: "key not found"}

// serviceErrors maps the service's sentinels to codes, in the order
// errors.Is tries them. docs/API.md lists the same table.
var serviceErrors = []struct {
	err    error
	status int
	code   string
}{
	{service.ErrKeyEmpty, http.StatusBadRequest, "key_empty"},
	{service.ErrKeyTooLarge, http.StatusBadRequest, "key_too_large"},
	{service.ErrValueTooLarge, http.StatusBadRequest, "value_too_large"},
	{service.ErrRequestTooLarge, http.StatusRequestEntityTooLarge, "request_too_large"},
	{service.ErrInvalid, http.StatusBadRequest, "invalid"},
	{service.ErrCompacted, http.StatusGone, "compacted"},
	{service.ErrFutureRevision, http.StatusBadRequest, "future_revision"},
	{service.ErrDuplicateKey, http.StatusBadRequest, "duplicate_key"},
	{service.ErrTimeout, http.StatusGatewayTimeout, "timeout"},
	{service.ErrNoLeader, http.StatusServiceUnavailable, "no_leader"},
	{service.ErrStopped, http.StatusServiceUnavailable, "stopping"},
	{service.ErrNotReady, http.StatusServiceUnavailable, "not_ready"},
	{service.ErrMemberNotFound, http.StatusNotFound, "member_not_found"},
	{service.ErrMemberExists, http.StatusConflict, "member_exists"},
	{service.ErrNotLearner, http.StatusBadRequest, "not_learner"},
	{service.ErrWrongType, http.StatusConflict, "wrong_type"},
	{service.ErrDocument, http.StatusBadRequest, "document"},
	{service.ErrLeaseNotFound, http.StatusNotFound, "lease_not_found"},
	{service.ErrLeaseExists, http.StatusConflict, "lease_exists"},
	{service.ErrFenced, http.StatusConflict, "fenced"},
	{service.ErrNothingToUndo, http.StatusConflict, "nothing_to_undo"},
	{service.ErrNothingToRedo, http.StatusConflict, "nothing_to_redo"},
	{service.ErrUndoConflict, http.StatusConflict, "undo_conflict"},
	{service.ErrLockBusy, http.StatusConflict, "lock_busy"},
	{service.ErrUnsupported, http.StatusNotImplemented, "not_supported"},
	{context.DeadlineExceeded, http.StatusGatewayTimeout, "timeout"},
	{context.Canceled, http.StatusServiceUnavailable, "canceled"},
}

// compactRevisioner is implemented by compaction errors that know the
// compaction horizon. Optional: without it the API asks Status.
type compactRevisioner interface{ CompactRevision() int64 }

// toError translates any error into the API's form.
func (a *api) toError(ctx context.Context, err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if qe := queryError(err); qe != nil {
		return qe
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "request_too_large",
			Message: "request body exceeds " + strconv.FormatInt(mbe.Limit, 10) + " bytes"}
	}
	for _, m := range serviceErrors {
		if !errors.Is(err, m.err) {
			continue
		}
		e := &apiError{Status: m.status, Code: m.code, Message: err.Error()}
		if m.err == service.ErrCompacted {
			e.CompactRevision = a.compactRevision(ctx, err)
		}
		return e
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: err.Error()}
}

func (a *api) compactRevision(ctx context.Context, err error) int64 {
	var cr compactRevisioner
	if errors.As(err, &cr) {
		return cr.CompactRevision()
	}
	if st, serr := a.svc.Status(ctx); serr == nil {
		return st.Compacted
	}
	return 0
}

// resultError turns a Result.Err code into a sentinel error. The service is
// expected to do this itself; this is a safety net.
func resultError(res *command.Result) error {
	if res == nil {
		return errors.New("httpapi: service returned no result")
	}
	switch res.Err {
	case "":
		return nil
	case command.ErrCodeCompacted:
		return service.ErrCompacted
	case command.ErrCodeFutureRev:
		return service.ErrFutureRevision
	case command.ErrCodeDuplicateKey:
		return service.ErrDuplicateKey
	case command.ErrCodeInvalid:
		return service.ErrInvalid
	}
	return fmt.Errorf("httpapi: request failed: %s", res.Err)
}

func writeError(w http.ResponseWriter, e *apiError, rev int64) {
	writeJSON(w, e.Status, rev, struct {
		Error *apiError `json:"error"`
	}{e})
}

func writeJSON(w http.ResponseWriter, status int, rev int64, body any) {
	b, err := json.Marshal(body)
	if err != nil { // our own response types: cannot fail
		panic(fmt.Sprintf("httpapi: marshal response: %v", err))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if rev > 0 {
		h.Set("X-Cairn-Revision", strconv.FormatInt(rev, 10))
	}
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
