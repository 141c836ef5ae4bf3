package httpapi

import (
	"context"
	"net/http"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
)

// HistoryService is implemented by a Service that can list the versions
// of a key (service.Service.History); GET /v1/history answers 501
// without it.
type HistoryService interface {
	History(ctx context.Context, key []byte, rev int64, limit int, o service.ReadOptions) (kvs []*command.KeyValue, readRev int64, more bool, err error)
}

type historyResponse struct {
	header
	Versions []*kvJSON `json:"versions"`
	More     bool      `json:"more"`
}

// GET /v1/history?key=K[&revision=R][&limit=N][&consistency=stale][&encoding=base64]
func (a *api) history(r *http.Request) (response, error) {
	hs, ok := a.svc.(HistoryService)
	if !ok {
		return response{}, &apiError{Status: http.StatusNotImplemented, Code: "not_supported", Message: "this node does not serve history"}
	}
	q, err := parseQuery(r, "key", "revision", "limit", "consistency", "encoding")
	if err != nil {
		return response{}, err
	}
	c, err := parseEncoding(q.str("encoding"))
	if err != nil {
		return response{}, err
	}
	o, err := readConsistency(q.str("consistency"))
	if err != nil {
		return response{}, err
	}
	rev, limit := q.int("revision"), q.int("limit")
	if q.err != nil {
		return response{}, q.err
	}
	key, err := c.decode("key", q.str("key"))
	if err != nil {
		return response{}, err
	}
	if len(key) == 0 {
		return response{}, badRequest("key is required")
	}
	kvs, readRev, more, err := hs.History(r.Context(), key, rev, int(min(limit, service.MaxHistory)), o)
	if err != nil {
		return response{rev: readRev}, err
	}
	rc := responseCodec(c, kvs)
	return response{rev: readRev, body: historyResponse{header{readRev, rc.String()}, rc.kvs(kvs, false), more}}, nil
}
