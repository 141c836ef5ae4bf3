package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/cairndb/cairn/internal/command"
)

// codec converts keys and values between bytes and JSON strings.
type codec struct{ base64 bool }

func parseEncoding(s string) (codec, error) {
	switch s {
	case "", "utf8":
		return codec{}, nil
	case "base64":
		return codec{base64: true}, nil
	}
	return codec{}, badRequest("unknown encoding %q (want utf8 or base64)", s)
}

func (c codec) String() string {
	if c.base64 {
		return "base64"
	}
	return "utf8"
}

// decode returns the bytes of a request field; "" is nil.
func (c codec) decode(field, s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	if !c.base64 {
		return []byte(s), nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, badRequest("%s is not valid base64: %v", field, err)
	}
	return b, nil
}

func (c codec) encode(b []byte) string {
	if c.base64 {
		return base64.StdEncoding.EncodeToString(b)
	}
	return string(b)
}

// responseCodec is the codec of a response: base64 if the request asked for
// it or if any key or value in the response is not valid UTF-8 (JSON
// strings cannot carry such bytes unchanged).
func responseCodec(req codec, kvs []*command.KeyValue, extra ...[]byte) codec {
	if req.base64 {
		return req
	}
	for _, kv := range kvs {
		if !utf8.Valid(kv.Key) || !utf8.Valid(kv.Value) {
			return codec{base64: true}
		}
	}
	for _, b := range extra {
		if !utf8.Valid(b) {
			return codec{base64: true}
		}
	}
	return req
}

// kvJSON is one key-value version on the wire.
type kvJSON struct {
	Key            string  `json:"key"`
	Value          *string `json:"value,omitempty"` // absent with keys_only
	CreateRevision int64   `json:"create_revision"`
	ModRevision    int64   `json:"mod_revision"`
	Version        int64   `json:"version"`
	Lease          int64   `json:"lease,omitempty"`
	Type           string  `json:"type,omitempty"` // "document" for a JSON document; absent for plain bytes
}

func (c codec) kv(kv *command.KeyValue, keysOnly bool) *kvJSON {
	if kv == nil {
		return nil
	}
	j := &kvJSON{Key: c.encode(kv.Key), CreateRevision: kv.CreateRevision,
		ModRevision: kv.ModRevision, Version: kv.Version, Lease: kv.Lease}
	if kv.Type == command.TypeDocument {
		j.Type = "document"
	}
	if !keysOnly {
		v := c.encode(kv.Value)
		j.Value = &v
	}
	return j
}

func (c codec) kvs(kvs []*command.KeyValue, keysOnly bool) []*kvJSON {
	out := make([]*kvJSON, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, c.kv(kv, keysOnly))
	}
	return out
}

// keyRange resolves key/end/prefix into a RangeRequest-style range.
func keyRange(c codec, key, end string, prefix bool) (k, e []byte, err error) {
	if k, err = c.decode("key", key); err != nil {
		return nil, nil, err
	}
	if e, err = c.decode("end", end); err != nil {
		return nil, nil, err
	}
	if !prefix {
		return k, e, nil
	}
	if e != nil {
		return nil, nil, badRequest("prefix and end are mutually exclusive")
	}
	if len(k) == 0 { // the empty prefix: every key
		return []byte{0}, []byte{0}, nil
	}
	return k, command.PrefixEnd(k), nil
}

// nextKey is where a paged scan continues: the smallest key after last.
func nextKey(last []byte) []byte { return append(bytes.Clone(last), 0) }

// decodeBody decodes a JSON request body strictly: unknown fields and
// trailing data are errors.
func decodeBody(r *http.Request, v any) error {
	// JSON must be UTF-8, and Go's decoder would silently turn invalid bytes
	// into U+FFFD: a key "\xff" would become another key. Refuse instead.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return err // 413
		}
		return badRequest("reading request body: %v", err)
	}
	if !utf8.Valid(body) {
		return badRequest("request body is not valid UTF-8; send binary keys and values with \"encoding\":\"base64\"")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return badRequest("empty request body")
		}
		return badRequest("malformed JSON body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("malformed JSON body: unexpected data after the object")
	}
	return nil
}

// query reads URL query parameters strictly: unknown or repeated parameters
// and unparsable values are errors. The first error sticks.
type query struct {
	v   url.Values
	err error
}

func parseQuery(r *http.Request, allowed ...string) (*query, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("malformed query: %v", err)
	}
	for name, vals := range v {
		if !contains(allowed, name) {
			return nil, badRequest("unknown query parameter %q", name)
		}
		if len(vals) > 1 {
			return nil, badRequest("query parameter %q given more than once", name)
		}
	}
	return &query{v: v}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (q *query) str(name string) string { return q.v.Get(name) }

func (q *query) bool(name string) bool {
	s := q.v.Get(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil && q.err == nil {
		q.err = badRequest("query parameter %s=%q is not a boolean", name, s)
	}
	return b
}

// int reads a non-negative integer.
func (q *query) int(name string) int64 {
	s := q.v.Get(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if (err != nil || n < 0) && q.err == nil {
		q.err = badRequest("query parameter %s=%q is not a non-negative integer", name, s)
	}
	return n
}
