package client

import (
	"context"
	"encoding/base64"
	"net/url"
	"strconv"
	"time"
)

// KeyValue is one version of a key.
type KeyValue struct {
	Key            []byte `json:"key"`
	Value          []byte `json:"value,omitempty"`
	CreateRevision int64  `json:"create_revision"`
	ModRevision    int64  `json:"mod_revision"`
	Version        int64  `json:"version"` // writes since creation; 1 for a new key
	Lease          int64  `json:"lease,omitempty"`
}

// PutResponse is the result of Put.
type PutResponse struct {
	Revision int64     `json:"revision"`
	PrevKV   *KeyValue `json:"prev_kv,omitempty"` // with WithPrevKV, if the key existed
}

// GetResponse is the result of Get.
type GetResponse struct {
	Revision int64       `json:"revision"` // the store revision the read observed
	KVs      []*KeyValue `json:"kvs"`
	More     bool        `json:"more"`  // the limit cut the result short
	Count    int64       `json:"count"` // keys in the range, ignoring the limit
	// NextKey is where the next page starts when More is set: pass it as
	// the key of the next Get with the same range end.
	NextKey []byte `json:"next_key,omitempty"`
}

// DeleteResponse is the result of Delete.
type DeleteResponse struct {
	Revision int64       `json:"revision"`
	Deleted  int64       `json:"deleted"`
	PrevKVs  []*KeyValue `json:"prev_kvs,omitempty"` // with WithPrevKV
}

// op collects the options of one operation.
type op struct {
	end       []byte
	prefix    bool
	limit     int64
	rev       int64
	stale     bool
	minRev    int64
	prevKV    bool
	keysOnly  bool
	countOnly bool
	lease     int64
	progress  time.Duration // Watch: progress notification interval
	path      string        // Watch: JSON path inside the document key
}

// OpOption modifies an operation. Options that do not apply to an
// operation are ignored.
type OpOption func(*op)

func newOp(opts []OpOption) *op {
	o := &op{}
	for _, f := range opts {
		f(o)
	}
	return o
}

// WithPrefix makes Get and Delete act on every key with the given key as a
// prefix (the empty key: every key).
func WithPrefix() OpOption { return func(o *op) { o.prefix = true } }

// WithRange makes Get and Delete act on [key, end). End "\x00" means every
// key >= key (see WithFromKey).
func WithRange(end []byte) OpOption { return func(o *op) { o.end = end } }

// WithFromKey makes Get and Delete act on every key >= key.
func WithFromKey() OpOption { return WithRange([]byte{0}) }

// WithLimit caps the number of keys Get returns (0: no limit).
func WithLimit(n int64) OpOption { return func(o *op) { o.limit = n } }

// WithRevision makes Get read the store as of a past revision.
func WithRevision(rev int64) OpOption { return func(o *op) { o.rev = rev } }

// WithStale lets Get be served from the local state of whichever node
// answers, which may lag (no round trip through the leader).
func WithStale() OpOption { return func(o *op) { o.stale = true } }

// WithSerializable is WithStale under etcd's name.
func WithSerializable() OpOption { return WithStale() }

// WithMinRevision makes a stale Get wait until the node has applied at
// least rev: read-your-writes on any node.
func WithMinRevision(rev int64) OpOption { return func(o *op) { o.minRev = rev } }

// WithPrevKV makes Put and Delete return the previous versions.
func WithPrevKV() OpOption { return func(o *op) { o.prevKV = true } }

// WithKeysOnly makes Get return keys without values.
func WithKeysOnly() OpOption { return func(o *op) { o.keysOnly = true } }

// WithCountOnly makes Get return only the count.
func WithCountOnly() OpOption { return func(o *op) { o.countOnly = true } }

// WithLease attaches a lease ID to a Put.
func WithLease(id int64) OpOption { return func(o *op) { o.lease = id } }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// Put writes value at key.
func (c *Client) Put(ctx context.Context, key, value []byte, opts ...OpOption) (*PutResponse, error) {
	o := newOp(opts)
	var resp PutResponse
	err := c.do(ctx, call{method: "PUT", path: "/v1/kv", out: &resp,
		body: putWire{Key: key, Value: value, PrevKV: o.prevKV, Lease: o.lease, Encoding: "base64"}})
	if err != nil {
		return nil, err
	}
	return &resp, nil
}

// Get reads key, or a range with WithPrefix, WithRange or WithFromKey. A
// single-key Get of a missing key fails with ErrKeyNotFound; a range that
// matches nothing returns no KVs.
func (c *Client) Get(ctx context.Context, key []byte, opts ...OpOption) (*GetResponse, error) {
	o := newOp(opts)
	q := url.Values{"key": {b64(key)}, "encoding": {"base64"}}
	if o.end != nil {
		q.Set("end", b64(o.end))
	}
	setBool(q, "prefix", o.prefix)
	setInt(q, "limit", o.limit)
	setInt(q, "revision", o.rev)
	if o.stale {
		q.Set("consistency", "stale")
	}
	setInt(q, "min_revision", o.minRev)
	setBool(q, "keys_only", o.keysOnly)
	setBool(q, "count_only", o.countOnly)
	var resp GetResponse
	if err := c.do(ctx, call{method: "GET", path: "/v1/kv", query: q, out: &resp, safe: true}); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Delete deletes key, or a range with WithPrefix, WithRange or
// WithFromKey. Deleting a missing key is not an error (Deleted is 0).
func (c *Client) Delete(ctx context.Context, key []byte, opts ...OpOption) (*DeleteResponse, error) {
	o := newOp(opts)
	q := url.Values{"key": {b64(key)}, "encoding": {"base64"}}
	if o.end != nil {
		q.Set("end", b64(o.end))
	}
	setBool(q, "prefix", o.prefix)
	setBool(q, "prev_kv", o.prevKV)
	var resp DeleteResponse
	if err := c.do(ctx, call{method: "DELETE", path: "/v1/kv", query: q, out: &resp}); err != nil {
		return nil, err
	}
	return &resp, nil
}

func setBool(q url.Values, name string, v bool) {
	if v {
		q.Set(name, "true")
	}
}

func setInt(q url.Values, name string, v int64) {
	if v != 0 {
		q.Set(name, strconv.FormatInt(v, 10))
	}
}

// Request bodies on the wire ([]byte marshals as base64).

type putWire struct {
	Key      []byte `json:"key"`
	Value    []byte `json:"value"`
	PrevKV   bool   `json:"prev_kv,omitempty"`
	Lease    int64  `json:"lease,omitempty"`
	Encoding string `json:"encoding,omitempty"`
}

type deleteWire struct {
	Key    []byte `json:"key"`
	End    []byte `json:"end,omitempty"`
	Prefix bool   `json:"prefix,omitempty"`
	PrevKV bool   `json:"prev_kv,omitempty"`
}

type rangeWire struct {
	Key       []byte `json:"key"`
	End       []byte `json:"end,omitempty"`
	Prefix    bool   `json:"prefix,omitempty"`
	Limit     int64  `json:"limit,omitempty"`
	Revision  int64  `json:"revision,omitempty"`
	KeysOnly  bool   `json:"keys_only,omitempty"`
	CountOnly bool   `json:"count_only,omitempty"`
}
