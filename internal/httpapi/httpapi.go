// Package httpapi serves Cairn's HTTP/JSON API under /v1/ (key-value
// operations, transactions and cluster administration) plus /healthz and
// /readyz. docs/API.md is the reference for the wire format.
//
// The package knows nothing about raft or storage: it translates HTTP
// requests into calls on the Service interface it declares, and translates
// the service's sentinel errors (package service) into status codes at the
// edge. Tests run it against httpapitest.Service, an in-memory fake.
//
// # Binary safety
//
// Keys and values are bytes. In JSON they are UTF-8 strings by default; a
// request may ask for standard base64 instead ("encoding":"base64" in a body,
// encoding=base64 in a query). Every response that carries keys or values
// states the encoding of all of them in its top-level "encoding" field: it is
// "base64" when the request asked for it or when any key or value in the
// response is not valid UTF-8, and "utf8" otherwise.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/membership"
	qry "github.com/cairndb/cairn/internal/query"
	"github.com/cairndb/cairn/internal/service"
)

// Service is what the HTTP API needs from the node. Errors wrap the
// sentinels of package service; the API maps them to status codes.
type Service interface {
	// Put writes a key. Result.Revision is the new revision; Result.Put
	// carries the previous version when requested.
	Put(ctx context.Context, r *command.PutRequest) (*command.Result, error)
	// Delete deletes a key or a range. Result.Delete carries the count.
	Delete(ctx context.Context, r *command.DeleteRequest) (*command.Result, error)
	// Txn applies a transaction. Result.Txn carries the branch results.
	Txn(ctx context.Context, r *command.TxnRequest) (*command.Result, error)
	// Doc applies a write to part of a JSON document. A data-dependent
	// failure returns the result (its Doc carries the code) with
	// service.ErrDocument or service.ErrWrongType.
	Doc(ctx context.Context, r *command.DocRequest) (*command.Result, error)
	// Range reads a key or a range and returns the store revision the
	// read observed.
	Range(ctx context.Context, r *command.RangeRequest, o service.ReadOptions) (*command.RangeResult, int64, error)
	// Members lists the cluster members.
	Members(ctx context.Context) ([]membership.Member, error)
	// Join adds m as a learner (promoted automatically later unless
	// m.Learner) and returns the new member list. The service derives
	// m.ID from m.Name when it is 0.
	Join(ctx context.Context, m membership.Member) ([]membership.Member, error)
	// Remove removes a member.
	Remove(ctx context.Context, id uint64) error
	// Promote makes a learner a voter.
	Promote(ctx context.Context, id uint64) error
	// TransferLeader asks the leader to hand leadership to a member.
	TransferLeader(ctx context.Context, to uint64) error
	// Status describes this node.
	Status(ctx context.Context) (service.Status, error)
	// Ready returns nil when the node has a leader and has applied its log
	// up to the commit index it saw at start.
	Ready(ctx context.Context) error
	// Query runs a Starlark script (package query).
	Query(ctx context.Context, script string, o qry.Options) (*qry.Result, error)
	// Undo reverts the newest change not undone yet; with redo, re-applies
	// the most recently undone one.
	Undo(ctx context.Context, redo bool) (*service.UndoResult, error)
}

// DefaultRequestTimeout bounds every request when Options.RequestTimeout
// is zero.
const DefaultRequestTimeout = 5 * time.Second

// MaxBodySize caps request bodies: a maximal value encoded as base64 fits
// with room to spare, and larger bodies are refused with 413 before they
// are read in full.
const MaxBodySize = 2*service.MaxValueSize + 64<<10

// Options configure the handler. The zero value is valid.
type Options struct {
	// Logger receives server-side failures (5xx). Nil discards them.
	Logger *slog.Logger
	// RequestTimeout is the deadline of the context passed to the
	// service for each request. Zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Watch serves GET /v1/watch (watch.go); nil answers 501.
	Watch WatchService
}

type api struct {
	svc     Service
	watch   WatchService
	log     *slog.Logger
	timeout time.Duration
	mux     *http.ServeMux
	rawPut  http.Handler // PUT /v1/kv/{key...}, served before the mux
}

// rawKeyPrefix starts the path of PUT /v1/kv/{key...}.
const rawKeyPrefix = "/v1/kv/"

// New returns the API handler.
func New(svc Service, opts Options) http.Handler {
	a := &api{svc: svc, watch: opts.Watch, log: opts.Logger, timeout: opts.RequestTimeout, mux: http.NewServeMux()}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.timeout <= 0 {
		a.timeout = DefaultRequestTimeout
	}
	routes := []struct {
		pattern string
		h       handlerFunc
	}{
		{"GET /v1/kv", a.getKV},
		{"PUT /v1/kv", a.putKV},
		{"PUT /v1/kv/{key...}", a.putRaw},
		{"DELETE /v1/kv", a.deleteKV},
		{"POST /v1/kv/txn", a.txn},
		{"GET /v1/doc/{key...}", a.getDoc},
		{"PUT /v1/doc/{key...}", a.putDoc},
		{"PATCH /v1/doc/{key...}", a.patchDoc},
		{"DELETE /v1/doc/{key...}", a.deleteDoc},
		{"POST /v1/doc/{key...}", a.postDoc},
		{"POST /v1/query", a.query},
		{"GET /v1/history", a.history},
		{"POST /v1/undo", a.undo},
		{"POST /v1/redo", a.redo},
		{"GET /v1/cluster/members", a.listMembers},
		{"POST /v1/cluster/members", a.addMember},
		{"DELETE /v1/cluster/members/{id}", a.removeMember},
		{"POST /v1/cluster/members/{id}/promote", a.promoteMember},
		{"POST /v1/cluster/transfer-leader", a.transferLeader},
		{"GET /v1/cluster/status", a.status},
		{"GET /healthz", a.healthz},
		{"GET /readyz", a.readyz},
	}
	for _, rt := range routes {
		a.mux.Handle(rt.pattern, a.handle(rt.h))
	}
	for pattern, h := range a.leaseRoutes() {
		a.mux.Handle(pattern, a.handle(h))
	}
	a.mux.HandleFunc("GET /v1/watch", a.watchStream) // a stream: no request timeout
	a.rawPut = a.handle(a.putRaw)
	return a
}

// ServeHTTP routes the request, answering unknown routes and wrong methods
// with JSON errors instead of ServeMux's plain-text ones.
func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, rawKeyPrefix) {
		// Before the mux: it would clean "//" and dot segments out of
		// the key with a redirect.
		a.rawPut.ServeHTTP(w, r)
		return
	}
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		a.mux.ServeHTTP(w, r) // ServeHTTP, not h, so r.PathValue works
		return
	}
	// No pattern: ServeMux's own 404 or 405 handler. Run it against a
	// capture to learn which, then answer in JSON.
	c := &capture{header: make(http.Header)}
	h.ServeHTTP(c, r)
	if c.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", c.header.Get("Allow"))
		writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: r.Method + " is not allowed on " + r.URL.Path}, 0)
		return
	}
	writeError(w, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint: " + r.URL.Path}, 0)
}

// capture records the status and headers a handler writes and drops the body.
type capture struct {
	header http.Header
	status int
}

func (c *capture) Header() http.Header         { return c.header }
func (c *capture) Write(b []byte) (int, error) { return len(b), nil }
func (c *capture) WriteHeader(status int)      { c.status = status }

// response is what a handler produced on success.
type response struct {
	status int   // 0 means 200
	rev    int64 // sent as X-Cairn-Revision when > 0
	body   any
}

// handlerFunc serves one endpoint. On error, rev (if > 0) is still sent.
type handlerFunc func(r *http.Request) (resp response, err error)

// handle applies the request timeout and body limit and writes the result.
func (a *api) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
		defer cancel()
		r = r.WithContext(ctx)
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodySize)
		resp, err := h(r)
		if err != nil {
			e := a.toError(ctx, err)
			if e.Status >= 500 {
				a.log.Warn("httpapi: request failed", "method", r.Method, "path", r.URL.Path,
					"status", e.Status, "err", err)
			}
			writeError(w, e, resp.rev)
			return
		}
		if resp.status == 0 {
			resp.status = http.StatusOK
		}
		writeJSON(w, resp.status, resp.rev, resp.body)
	})
}
