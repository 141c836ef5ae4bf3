package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
)

// JSON documents (docs/DOCUMENTS.md): a key may hold a JSON document whose
// parts are read and changed atomically by path. Paths are JSONPath
// ("$.a[0]", whose results list every match), RedisJSON legacy (".a[0]"),
// Python subscripts ("['a'][0]") or JSON Pointer ("/a/0"); "" is the root.

// Errors of document operations.
var (
	// ErrWrongType: the key holds plain bytes, not a document.
	ErrWrongType = errors.New("cairn: the key does not hold a JSON document")
	// ErrPathNotFound: nothing at a (non-JSONPath) path.
	ErrPathNotFound = errors.New("cairn: path does not exist")
	// ErrDocument: any other failure of a document operation (bad path,
	// invalid JSON, wrong type at the path, too deep ...); Error.Code
	// says which ("doc_wrong_type" ...).
	ErrDocument = errors.New("cairn: document operation failed")
)

func init() {
	codeErrors["wrong_type"] = ErrWrongType
	codeErrors["doc_no_path"] = ErrPathNotFound
	for _, c := range []string{"document", "doc_syntax", "doc_bad_path", "doc_wrong_type", "doc_out_of_range",
		"doc_too_deep", "doc_too_large", "doc_overflow", "doc_new_at_root", "doc_bad_request", "doc_too_complex"} {
		codeErrors[c] = ErrDocument
	}
	codeErrors["doc_no_such_key"] = ErrKeyNotFound
}

// DocResponse is the outcome of a document operation.
type DocResponse struct {
	Revision int64 `json:"revision"`
	// Written reports that a write changed the document (false when an
	// NX/XX condition failed or there was nothing to change).
	Written bool `json:"written"`
	// Result is the operation's reply as JSON, shaped like RedisJSON's
	// (see docs/DOCUMENTS.md): "OK" for set, the new lengths for
	// arrappend, the matches' types for type ...
	Result json.RawMessage `json:"result"`
}

// DocOp is an operation for Doc: op is a RedisJSON command name without
// the "JSON." prefix, lower case (arrappend, arrinsert, arrpop, arrtrim,
// numincrby, nummultby, strappend, merge, clear, toggle, set, del, get,
// type, arrlen, arrindex, strlen, objkeys, objlen).
type DocOp struct {
	Op     string            `json:"op"`
	Path   string            `json:"path"`
	Values []json.RawMessage `json:"values,omitempty"`
	// Index is arrinsert's and arrpop's index (nil: arrpop's -1) and the
	// start of arrtrim and arrindex; Stop ends arrtrim and arrindex.
	Index       *int64 `json:"index,omitempty"`
	Stop        int64  `json:"stop,omitempty"`
	NX          bool   `json:"nx,omitempty"`
	XX          bool   `json:"xx,omitempty"`
	Consistency string `json:"consistency,omitempty"` // reads: "" (linearizable) or "stale"
}

func docPath(key string) string { return "/v1/doc/" + url.PathEscape(key) }

// DocGet returns the JSON at path in the document at key: the value for a
// legacy, Python or Pointer path, the array of matches for a JSONPath.
// WithSerializable reads from the local node. A missing key is
// ErrKeyNotFound, a missing path ErrPathNotFound.
func (c *Client) DocGet(ctx context.Context, key, path string, opts ...OpOption) (json.RawMessage, error) {
	o := newOp(opts)
	q := url.Values{}
	if path != "" {
		q.Set("path", path)
	}
	if o.stale {
		q.Set("consistency", "stale")
	}
	var resp struct {
		Value json.RawMessage `json:"value"`
	}
	if err := c.do(ctx, call{method: "GET", path: docPath(key), query: q, out: &resp, safe: true}); err != nil {
		return nil, err
	}
	return resp.Value, nil
}

// DocSet sets value (JSON) at path; a new key must be set at the root. nx
// sets only a path that does not exist, xx only one that does.
func (c *Client) DocSet(ctx context.Context, key, path string, value json.RawMessage, nx, xx bool) (*DocResponse, error) {
	q := url.Values{}
	if path != "" {
		q.Set("path", path)
	}
	setBool(q, "nx", nx)
	setBool(q, "xx", xx)
	return c.docWrite(ctx, call{method: "PUT", path: docPath(key), query: q, body: value})
}

// DocMerge merges patch into the value at path (RFC 7386: null members
// delete).
func (c *Client) DocMerge(ctx context.Context, key, path string, patch json.RawMessage) (*DocResponse, error) {
	q := url.Values{}
	if path != "" {
		q.Set("path", path)
	}
	return c.docWrite(ctx, call{method: "PATCH", path: docPath(key), query: q, body: patch})
}

// DocDelete deletes the values at path (the root: the key); Result is the
// number deleted.
func (c *Client) DocDelete(ctx context.Context, key, path string) (*DocResponse, error) {
	q := url.Values{}
	if path != "" {
		q.Set("path", path)
	}
	return c.docWrite(ctx, call{method: "DELETE", path: docPath(key), query: q})
}

// Doc runs any document operation.
func (c *Client) Doc(ctx context.Context, key string, op DocOp) (*DocResponse, error) {
	cl := call{method: "POST", path: docPath(key), body: op}
	switch op.Op {
	case "get", "type", "arrlen", "arrindex", "strlen", "objkeys", "objlen":
		cl.safe = true
	}
	return c.docWrite(ctx, cl)
}

func (c *Client) docWrite(ctx context.Context, cl call) (*DocResponse, error) {
	var resp DocResponse
	cl.out = &resp
	if err := c.do(ctx, cl); err != nil {
		return nil, err
	}
	return &resp, nil
}
