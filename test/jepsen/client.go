package jepsen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// OpError is a failed request. Definite means the request certainly had no
// effect (a 4xx answer, or the connection was refused before anything was
// sent); otherwise the outcome of a write is unknown.
type OpError struct {
	Definite bool
	Status   int
	Code     string
	Err      error
}

func (e *OpError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("definite=%v: %v", e.Definite, e.Err)
	}
	return fmt.Sprintf("definite=%v: %d %s", e.Definite, e.Status, e.Code)
}

// Definite reports whether err certainly had no effect.
func Definite(err error) bool {
	var oe *OpError
	return errors.As(err, &oe) && oe.Definite
}

// KV is a minimal HTTP client without retries: each call is one request to
// one node, so the history records exactly what was sent where.
type KV struct{ hc *http.Client }

// NewKV returns a client whose requests time out after timeout.
func NewKV(timeout time.Duration) *KV {
	return &KV{hc: &http.Client{Timeout: timeout, Transport: &http.Transport{
		MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}}}
}

type kvObj struct {
	Key         string `json:"key"`
	Value       string `json:"value"`
	ModRevision int64  `json:"mod_revision"`
	Version     int64  `json:"version"`
}

type rangeResp struct {
	Revision int64   `json:"revision"`
	Encoding string  `json:"encoding"`
	KVs      []kvObj `json:"kvs"`
	More     bool    `json:"more"`
	NextKey  string  `json:"next_key"`
	Count    int64   `json:"count"`
}

type errResp struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// do sends one request and decodes a 200 answer into out.
func (c *KV) do(ctx context.Context, method, addr, path string, body any, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, rd)
	if err != nil {
		return nil, &OpError{Definite: true, Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &OpError{Definite: errors.Is(err, syscall.ECONNREFUSED), Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.Header, &OpError{Status: resp.StatusCode, Err: err}
	}
	if resp.StatusCode != 200 {
		var e errResp
		_ = json.Unmarshal(b, &e)
		return resp.Header, &OpError{Definite: resp.StatusCode >= 400 && resp.StatusCode < 500,
			Status: resp.StatusCode, Code: e.Error.Code}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.Header, &OpError{Status: 200, Err: fmt.Errorf("decode %q: %w", b, err)}
		}
	}
	return resp.Header, nil
}

// Get reads one key. found is false for 404 key_not_found.
func (c *KV) Get(ctx context.Context, addr, key string, stale bool) (val string, found bool, rev int64, err error) {
	q := url.Values{"key": {key}}
	if stale {
		q.Set("consistency", "stale")
	}
	var r rangeResp
	h, err := c.do(ctx, http.MethodGet, addr, "/v1/kv?"+q.Encode(), nil, &r)
	var oe *OpError
	if errors.As(err, &oe) && oe.Status == 404 && oe.Code == "key_not_found" {
		rev, _ = strconv.ParseInt(h.Get("X-Cairn-Revision"), 10, 64)
		return "", false, rev, nil
	}
	if err != nil {
		return "", false, 0, err
	}
	if r.Encoding != "utf8" || len(r.KVs) != 1 {
		return "", false, 0, fmt.Errorf("get %q: unexpected answer %+v", key, r)
	}
	return r.KVs[0].Value, true, r.Revision, nil
}

// Put writes one key.
func (c *KV) Put(ctx context.Context, addr, key, val string) (int64, error) {
	var r struct {
		Revision int64 `json:"revision"`
	}
	_, err := c.do(ctx, http.MethodPut, addr, "/v1/kv", map[string]string{"key": key, "value": val}, &r)
	return r.Revision, err
}

// CAS sets key to val if its value is old (a txn with a value compare).
func (c *KV) CAS(ctx context.Context, addr, key, old, val string) (bool, int64, error) {
	body := map[string]any{
		"compare": []any{map[string]any{"key": key, "target": "value", "result": "=", "value": old}},
		"success": []any{map[string]any{"put": map[string]any{"key": key, "value": val}}},
	}
	var r struct {
		Revision  int64 `json:"revision"`
		Succeeded bool  `json:"succeeded"`
	}
	_, err := c.do(ctx, http.MethodPost, addr, "/v1/kv/txn", body, &r)
	return r.Succeeded, r.Revision, err
}

// prefixEnd is the end of a prefix range (the prefix with its last byte
// incremented; test prefixes never end in 0xff).
func prefixEnd(p string) string {
	b := []byte(p)
	b[len(b)-1]++
	return string(b)
}

// Scan reads every key under prefix from one node, paging with next_key
// at one revision. stale reads the node's local state; rev 0 means the
// latest (pinned after the first page); rev < 0 reads every page at the
// latest revision (for keys that are never deleted, while compaction may
// pass any pinned revision).
func (c *KV) Scan(ctx context.Context, addr, prefix string, stale bool, rev int64) (map[string]kvObj, int64, error) {
	out := map[string]kvObj{}
	// Every key is at least one byte, so [0x00, end of keyspace) is all of
	// them. (key= with end=%00 would be simpler, but the node answers 500:
	// see TestAPIRangeFromEmptyKey.)
	q := url.Values{"key": {"\x00"}, "end": {"\x00"}, "limit": {"500"}}
	if prefix != "" {
		q.Set("key", prefix)
		q.Set("end", prefixEnd(prefix))
	}
	if stale {
		q.Set("consistency", "stale")
	}
	if rev > 0 {
		q.Set("revision", strconv.FormatInt(rev, 10))
	}
	pin := rev >= 0
	for {
		var r rangeResp
		if _, err := c.do(ctx, http.MethodGet, addr, "/v1/kv?"+q.Encode(), nil, &r); err != nil {
			return nil, 0, err
		}
		if r.Encoding != "utf8" {
			return nil, 0, fmt.Errorf("scan: unexpected encoding %q", r.Encoding)
		}
		if pin && rev == 0 {
			rev = r.Revision
			q.Set("revision", strconv.FormatInt(rev, 10))
		} else if !pin {
			rev = max(rev, r.Revision)
		}
		for _, kv := range r.KVs {
			out[kv.Key] = kv
		}
		if !r.More {
			return out, rev, nil
		}
		q.Set("key", r.NextKey)
	}
}
