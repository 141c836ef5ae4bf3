package client

import (
	"context"
	"net/url"
)

// HistoryResponse is the result of History.
type HistoryResponse struct {
	Revision int64       `json:"revision"` // the revision the versions were read at
	Versions []*KeyValue `json:"versions"` // newest first
	More     bool        `json:"more"`     // the limit cut the list short
}

// History returns the versions of key, newest first: those of its current
// life (back to its creation, or the delete before it) that retention
// still keeps, at most 1000 — what db.history(key) returns in a script,
// without one. Options: WithRevision (start from a past revision),
// WithLimit, WithStale. A key that does not exist has no
// versions (not an error).
func (c *Client) History(ctx context.Context, key []byte, opts ...OpOption) (*HistoryResponse, error) {
	o := newOp(opts)
	q := url.Values{"key": {b64(key)}, "encoding": {"base64"}}
	setInt(q, "revision", o.rev)
	setInt(q, "limit", o.limit)
	if o.stale {
		q.Set("consistency", "stale")
	}
	var resp HistoryResponse
	if err := c.do(ctx, call{method: "GET", path: "/v1/history", query: q, out: &resp, safe: true}); err != nil {
		return nil, err
	}
	return &resp, nil
}
