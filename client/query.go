package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// QueryResponse is the outcome of a Starlark script (docs/QUERY.md).
type QueryResponse struct {
	// Value is the JSON of the script's value (an expression, or its final
	// expression statement); nil when it ends with a statement.
	Value json.RawMessage `json:"value,omitempty"`
	// Revision is the revision the script read at, or the revision of the
	// commit of a script that wrote.
	Revision int64 `json:"revision"`
	// Committed reports that the script wrote and its writes committed.
	Committed bool `json:"committed"`
	// Attempts is how many times the server ran the script (a conflict
	// runs it again).
	Attempts int `json:"attempts"`
	// Output is what the script printed.
	Output string `json:"output,omitempty"`
	// Session is the updated session when one was passed (WithSession).
	Session *Session `json:"session,omitempty"`
}

// Session is what a shell carries from one script to the next: global
// variables with a JSON form and the source of def statements.
type Session struct {
	Globals map[string]string `json:"globals,omitempty"`
	Defs    []string          `json:"defs,omitempty"`
}

// QueryOption qualifies a script run.
type QueryOption func(*queryBody)

type queryBody struct {
	Script   string   `json:"script"`
	Write    bool     `json:"write,omitempty"`
	Stale    bool     `json:"stale,omitempty"`
	Revision int64    `json:"revision,omitempty"`
	Session  *Session `json:"session,omitempty"`
	Lease    int64    `json:"lease,omitempty"`
}

// QueryStale reads the answering node's applied state instead of a
// linearizable snapshot.
func QueryStale() QueryOption { return func(b *queryBody) { b.Stale = true } }

// QueryAt reads at a past revision (Query only).
func QueryAt(rev int64) QueryOption { return func(b *queryBody) { b.Revision = rev } }

// WithSession passes a shell session; the response carries it updated.
func WithSession(s *Session) QueryOption { return func(b *queryBody) { b.Session = s } }

// QueryLease runs the script in the session of lease id: db.lock() takes
// the database lock for that lease, which holds it until db.unlock() or
// until the lease ends (see concurrency.Session and docs/QUERY.md).
func QueryLease(id int64) QueryOption { return func(b *queryBody) { b.Lease = id } }

// Query runs a read-only Starlark script against one consistent snapshot
// of the keyspace and returns its value. A script that writes fails with
// ErrScript (code "read_only").
func (c *Client) Query(ctx context.Context, script string, opts ...QueryOption) (*QueryResponse, error) {
	return c.runScript(ctx, script, false, opts)
}

// QueryTxn runs a Starlark script that may write, as one serializable
// transaction: all its writes commit or none (the server re-runs it on a
// conflict, then fails with ErrConflict). It is not retried on another
// endpoint once sent: after a network failure the outcome is unknown
// (ErrUnknownOutcome).
func (c *Client) QueryTxn(ctx context.Context, script string, opts ...QueryOption) (*QueryResponse, error) {
	return c.runScript(ctx, script, true, opts)
}

func (c *Client) runScript(ctx context.Context, script string, write bool, opts []QueryOption) (*QueryResponse, error) {
	b := &queryBody{Script: script, Write: write}
	for _, o := range opts {
		o(b)
	}
	var out QueryResponse
	err := c.do(ctx, call{method: http.MethodPost, path: "/v1/query", body: b, out: &out, safe: !write})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
