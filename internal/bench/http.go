package bench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HTTPConfig configures the HTTP driver.
type HTTPConfig struct {
	// Endpoints are the nodes' HTTP addresses, "host:port" or
	// "http://host:port"; client i talks to Endpoints[i%len(Endpoints)].
	Endpoints []string
	// Stale makes reads consistency=stale (served by the node asked).
	Stale bool
	// Timeout bounds each request. Zero means 5s.
	Timeout time.Duration
}

// NewHTTP returns a driver for Cairn's HTTP/JSON API (docs/API.md). It
// speaks the API directly rather than through package client or net/http,
// to keep the load generator's own cost per request low on a machine it
// shares with the servers: each client has one keep-alive HTTP/1.1
// connection, writes each request with one write and reads the response
// through a buffer, with no goroutine of its own. Requests are not
// JSON-encoded (puts send the raw value, PUT /v1/kv/{key}; txn bodies are
// appended to a buffer, keys and values being JSON-safe), there is no
// base64 and no failover, and responses are only scanned for the fields
// that matter. HTTP/1.1 cannot pipeline, so the ops of a batch run one
// after the other.
//
// Workloads map to requests as follows: put is PUT /v1/kv/{key}; get is
// GET /v1/kv?key= (404 key_not_found is a miss); txn is POST /v1/kv/txn
// with one put per key; cas is a GET for the key's mod_revision, then a
// txn that puts the key if its mod_revision is still that (0 for a missing
// key), and a failed compare is a conflict. doc reads are GET
// /v1/doc/{key}?path=$.name (404 key_not_found is a miss) and its writes
// POST /v1/doc/{key} with op numincrby at $.n; the document preload is a
// DELETE /v1/kv then PUT /v1/doc/{key}. query runs its scripts (see
// appendScript) with POST /v1/query, "write":true for the writing one; a
// read without a value (a missing key) is a miss.
func NewHTTP(cfg HTTPConfig) (Driver, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("bench: http: no endpoint")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	d := &httpDriver{cfg: cfg}
	for _, ep := range cfg.Endpoints {
		ep = strings.TrimSuffix(strings.TrimSpace(ep), "/")
		if scheme, rest, ok := strings.Cut(ep, "://"); ok {
			if scheme != "http" {
				return nil, fmt.Errorf("bench: http: endpoint %q: only http:// is supported", ep)
			}
			ep = rest
		}
		if _, _, err := net.SplitHostPort(ep); err != nil {
			return nil, fmt.Errorf("bench: http: endpoint %q: want host:port", ep)
		}
		d.hosts = append(d.hosts, ep)
	}
	return d, nil
}

type httpDriver struct {
	cfg   HTTPConfig
	hosts []string // host:port
}

func (d *httpDriver) Name() string { return "http" }
func (d *httpDriver) Close() error { return nil }

// Dial connects and checks that the endpoint answers /healthz.
func (d *httpDriver) Dial(ctx context.Context, client int) (Conn, error) {
	c := &httpConn{cfg: &d.cfg, host: d.hosts[client%len(d.hosts)]}
	if _, err := c.send(ctx, "GET", []byte("/healthz"), nil); err != nil {
		c.Close()
		return nil, fmt.Errorf("bench: http %s: %w", c.host, err)
	}
	return c, nil
}

// httpConn is one client's keep-alive connection; it reconnects on the
// next request after an error.
type httpConn struct {
	cfg  *HTTPConfig
	host string

	nc      net.Conn // nil while broken
	unwatch func() bool
	br      *bufio.Reader
	wbuf    []byte // request being written
	body    []byte // txn body being built
	resp    []byte // body of the last response
	path    []byte // request path being built
}

func (c *httpConn) connect(ctx context.Context) error {
	d := net.Dialer{Timeout: c.cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", c.host)
	if err != nil {
		return err
	}
	if c.br == nil {
		c.br = bufio.NewReaderSize(nc, 16<<10)
	} else {
		c.br.Reset(nc)
	}
	c.nc = nc
	// Unblock I/O at once when the run is canceled.
	c.unwatch = context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	return nil
}

func (c *httpConn) Close() error {
	if c.nc == nil {
		return nil
	}
	c.unwatch()
	err := c.nc.Close()
	c.nc = nil
	return err
}

func (c *httpConn) Do(ctx context.Context, ops []Op) {
	for i := range ops {
		op := &ops[i]
		switch op.Kind {
		case OpPut:
			c.path = append(append(c.path[:0], "/v1/kv/"...), op.Key()...)
			_, op.Err = c.send(ctx, "PUT", c.path, op.Value)
		case OpGet:
			var miss bool
			miss, op.Err = c.get(ctx, op.Key())
			if miss {
				op.Outcome = OutcomeMiss
			}
		case OpTxn:
			_, op.Err = c.txn(ctx, op, -1)
		case OpCAS:
			op.Outcome, op.Err = c.cas(ctx, op)
		case OpDocGet:
			op.Outcome, op.Err = c.docGet(ctx, op.Key())
		case OpDocIncr:
			c.path = append(append(c.path[:0], "/v1/doc/"...), op.Key()...)
			_, op.Err = c.send(ctx, "POST", c.path, docIncrBody)
		case OpDocSet:
			op.Err = c.docSet(ctx, op)
		case OpQuery, OpQueryTxn:
			op.Outcome, op.Err = c.query(ctx, op)
		}
		op.Done = time.Now()
	}
}

// docIncrBody is the body of the doc workload's write, POST /v1/doc/{key}.
var docIncrBody = []byte(`{"op":"numincrby","path":"$.n","values":[1]}`)

// docGet reads the path $.name of key's document, reporting a missing key
// as a miss.
func (c *httpConn) docGet(ctx context.Context, key []byte) (Outcome, error) {
	c.path = append(append(c.path[:0], "/v1/doc/"...), key...)
	c.path = append(c.path, "?path=$.name"...)
	if c.cfg.Stale {
		c.path = append(c.path, "&consistency=stale"...)
	}
	status, err := c.send(ctx, "GET", c.path, nil)
	if status == 404 && ErrorKind(err) == "http:key_not_found" {
		return OutcomeMiss, nil
	}
	return OutcomeOK, err
}

// docSet deletes the key (a JSON write to a plain value is wrong_type),
// then sets the document op.Value at its root.
func (c *httpConn) docSet(ctx context.Context, op *Op) error {
	c.path = append(append(c.path[:0], "/v1/kv?key="...), op.Key()...)
	if _, err := c.send(ctx, "DELETE", c.path, nil); err != nil {
		return err
	}
	c.path = append(append(c.path[:0], "/v1/doc/"...), op.Key()...)
	_, err := c.send(ctx, "PUT", c.path, op.Value)
	return err
}

// query runs op's script (see appendScript) with POST /v1/query: a read
// whose script has no value (a missing key) is a miss, a write must
// commit.
func (c *httpConn) query(ctx context.Context, op *Op) (Outcome, error) {
	b := append(c.body[:0], `{"script":"`...)
	b = appendScript(b, op) // JSON-safe: no quote, backslash or control character
	b = append(b, '"')
	switch {
	case op.Kind == OpQueryTxn:
		b = append(b, `,"write":true`...)
	case c.cfg.Stale:
		b = append(b, `,"stale":true`...)
	}
	b = append(b, '}')
	c.body = b
	if _, err := c.send(ctx, "POST", append(c.path[:0], "/v1/query"...), b); err != nil {
		return OutcomeOK, err
	}
	if op.Kind == OpQueryTxn {
		if !bytes.Contains(c.resp, []byte(`"committed":true`)) {
			return OutcomeOK, &OpError{Kind: "http:bad_response", Msg: "query did not commit: " + string(c.resp)}
		}
	} else if !bytes.Contains(c.resp, []byte(`"value":`)) {
		return OutcomeMiss, nil
	}
	return OutcomeOK, nil
}

// get reads key, reporting a missing key as a miss.
func (c *httpConn) get(ctx context.Context, key []byte) (miss bool, err error) {
	c.path = append(append(c.path[:0], "/v1/kv?key="...), key...)
	if c.cfg.Stale {
		c.path = append(c.path, "&consistency=stale"...)
	}
	status, err := c.send(ctx, "GET", c.path, nil)
	if status == 404 && ErrorKind(err) == "http:key_not_found" {
		return true, nil
	}
	return false, err
}

// cas reads the key's mod_revision, then writes it if that did not change.
func (c *httpConn) cas(ctx context.Context, op *Op) (Outcome, error) {
	miss, err := c.get(ctx, op.Key())
	if err != nil {
		return OutcomeOK, err
	}
	var rev int64 // a missing key has mod_revision 0
	if !miss {
		var ok bool
		if rev, ok = jsonInt(c.resp, `"mod_revision":`); !ok {
			return OutcomeOK, &OpError{Kind: "http:bad_response", Msg: "no mod_revision in " + string(c.resp)}
		}
	}
	succeeded, err := c.txn(ctx, op, rev)
	if err == nil && !succeeded {
		return OutcomeConflict, nil
	}
	return OutcomeOK, err
}

// txn puts op.Value to every key of op, if modRev < 0 unconditionally,
// else if the (single) key's mod_revision is modRev.
func (c *httpConn) txn(ctx context.Context, op *Op, modRev int64) (succeeded bool, err error) {
	b := append(c.body[:0], '{')
	if modRev >= 0 {
		b = append(b, `"compare":[{"key":"`...)
		b = append(b, op.Key()...)
		b = append(b, `","target":"mod_revision","result":"=","value":`...)
		b = strconv.AppendInt(b, modRev, 10)
		b = append(b, "}],"...)
	}
	b = append(b, `"success":[`...)
	for i, k := range op.Keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"put":{"key":"`...)
		b = append(b, k...) // keys and values need no JSON escaping
		b = append(b, `","value":"`...)
		b = append(b, op.Value...)
		b = append(b, `"}}`...)
	}
	b = append(b, "]}"...)
	c.body = b
	if _, err := c.send(ctx, "POST", append(c.path[:0], "/v1/kv/txn"...), b); err != nil {
		return false, err
	}
	return bytes.Contains(c.resp, []byte(`"succeeded":true`)), nil
}

var errHTTPProtocol = errors.New("bench: http: malformed response")

// send does one request and reads the response body into c.resp. A
// non-2xx status is an *OpError whose kind is "http:" and the API's error
// code (or the status, if the body has none).
func (c *httpConn) send(ctx context.Context, method string, path, body []byte) (status int, err error) {
	if c.nc == nil {
		if err := c.connect(ctx); err != nil {
			return 0, err
		}
	}
	c.nc.SetDeadline(time.Now().Add(c.cfg.Timeout))
	w := append(c.wbuf[:0], method...)
	w = append(w, ' ')
	w = append(w, path...)
	w = append(w, " HTTP/1.1\r\nHost: "...)
	w = append(w, c.host...)
	if body != nil {
		w = append(w, "\r\nContent-Type: application/json\r\nContent-Length: "...)
		w = strconv.AppendInt(w, int64(len(body)), 10)
	}
	w = append(w, "\r\n\r\n"...)
	w = append(w, body...)
	c.wbuf = w
	if _, err = c.nc.Write(w); err == nil {
		status, err = c.readResponse()
	}
	if err != nil { // the connection is out of step or dead
		c.Close()
		return 0, err
	}
	if status/100 == 2 {
		return status, nil
	}
	code, ok := jsonString(c.resp, `"code":"`)
	if !ok {
		code = strconv.Itoa(status)
	}
	return status, &OpError{Kind: "http:" + code,
		Msg: fmt.Sprintf("%s %s: %d: %s", method, path, status, bytes.TrimSpace(c.resp))}
}

// readResponse reads a response's status line, headers and body (with a
// Content-Length, chunked, or up to the end of the connection).
func (c *httpConn) readResponse() (status int, err error) {
	line, err := c.readLine()
	if err != nil {
		return 0, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, errHTTPProtocol
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, errHTTPProtocol
	}
	length, chunked, closing := -1, false, line[7] == '0' // HTTP/1.0 closes by default
	for {
		line, err := c.readLine()
		if err != nil {
			return 0, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, errHTTPProtocol
		}
		value = bytes.TrimSpace(value)
		switch {
		case equalFold(name, "Content-Length"):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, errHTTPProtocol
			}
		case equalFold(name, "Transfer-Encoding"):
			chunked = equalFold(value, "chunked")
		case equalFold(name, "Connection"):
			closing = equalFold(value, "close")
		}
	}
	c.resp = c.resp[:0]
	switch {
	case status < 200 || status == 204 || status == 304:
	case chunked:
		err = c.readChunked()
	case length >= 0:
		err = c.readBody(length)
	default:
		c.resp, err = readAllInto(c.br, c.resp)
		closing = true
	}
	if err == nil && closing {
		c.Close()
	}
	return status, err
}

func (c *httpConn) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, errHTTPProtocol
	}
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(line[:len(line)-1], []byte("\r")), nil
}

// readBody appends n bytes of body to c.resp.
func (c *httpConn) readBody(n int) error {
	old := len(c.resp)
	c.resp = slices.Grow(c.resp, n)[:old+n]
	_, err := io.ReadFull(c.br, c.resp[old:])
	return err
}

func (c *httpConn) readChunked() error {
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		hex, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(hex)), 16, 32)
		if err != nil || n < 0 {
			return errHTTPProtocol
		}
		if n == 0 { // trailers, then a blank line
			for {
				line, err := c.readLine()
				if err != nil || len(line) == 0 {
					return err
				}
			}
		}
		if err := c.readBody(int(n)); err != nil {
			return err
		}
		if line, err := c.readLine(); err != nil || len(line) != 0 {
			return cmp.Or(err, errHTTPProtocol)
		}
	}
}

func readAllInto(r io.Reader, b []byte) ([]byte, error) {
	for {
		b = slices.Grow(b, 4096)
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// equalFold reports whether b and the ASCII s are equal up to case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// jsonInt returns the integer after the first occurrence of field (a
// quoted name and its colon) in b. It is enough for the API's responses to
// the benchmark's requests, whose keys and values hold no quotes.
func jsonInt(b []byte, field string) (int64, bool) {
	i := bytes.Index(b, []byte(field))
	if i < 0 {
		return 0, false
	}
	b = b[i+len(field):]
	j := 0
	for j < len(b) && (b[j] >= '0' && b[j] <= '9' || j == 0 && b[j] == '-') {
		j++
	}
	n, err := strconv.ParseInt(string(b[:j]), 10, 64)
	return n, err == nil
}

// jsonString returns the string value after field (a quoted name, colon
// and opening quote) in b; see jsonInt.
func jsonString(b []byte, field string) (string, bool) {
	i := bytes.Index(b, []byte(field))
	if i < 0 {
		return "", false
	}
	b = b[i+len(field):]
	j := bytes.IndexByte(b, '"')
	if j < 0 {
		return "", false
	}
	return string(b[:j]), true
}
