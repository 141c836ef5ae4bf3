package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Config configures a Client.
type Config struct {
	// Endpoints are the HTTP addresses of the nodes, as "host:port" or
	// "http://host:port". At least one is required.
	Endpoints []string
	// DialTimeout bounds connecting to one endpoint. Zero means 2s.
	// Ignored when HTTPClient is set.
	DialTimeout time.Duration
	// RequestTimeout bounds each call, failover included, when the
	// caller's context has no earlier deadline. Zero means 5s; negative
	// means none (a call then gives up after three rounds of endpoints).
	RequestTimeout time.Duration
	// HTTPClient, if set, sends the requests.
	HTTPClient *http.Client
}

const (
	defaultDialTimeout    = 2 * time.Second
	defaultRequestTimeout = 5 * time.Second
	maxRoundsNoDeadline   = 3
	firstBackoff          = 25 * time.Millisecond
	maxBackoff            = time.Second
)

// Client talks to a Cairn cluster. Safe for concurrent use.
type Client struct {
	endpoints []string // base URLs, no trailing slash
	hc        *http.Client
	timeout   time.Duration

	mu  sync.Mutex // guards cur
	cur int        // index of the endpoint to try first: the last one that worked
}

// New returns a client. It does not connect.
func New(cfg Config) (*Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("cairn: no endpoints")
	}
	c := &Client{hc: cfg.HTTPClient, timeout: cfg.RequestTimeout}
	for _, ep := range cfg.Endpoints {
		u, err := normalizeEndpoint(ep)
		if err != nil {
			return nil, err
		}
		c.endpoints = append(c.endpoints, u)
	}
	if c.timeout == 0 {
		c.timeout = defaultRequestTimeout
	}
	if c.hc == nil {
		dial := cfg.DialTimeout
		if dial <= 0 {
			dial = defaultDialTimeout
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil
		t.DialContext = (&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}).DialContext
		c.hc = &http.Client{Transport: t}
	}
	return c, nil
}

func normalizeEndpoint(ep string) (string, error) {
	ep = strings.TrimSpace(ep)
	if !strings.Contains(ep, "://") {
		ep = "http://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("cairn: bad endpoint %q", ep)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// Endpoints returns the endpoints as base URLs.
func (c *Client) Endpoints() []string { return append([]string(nil), c.endpoints...) }

// Close releases idle connections.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// call is one API request.
type call struct {
	method string
	path   string
	query  url.Values
	body   any // JSON-encoded when non-nil
	out    any // decoded from a 2xx body when non-nil
	// safe calls may be repeated on any endpoint after any failure.
	safe bool
}

// do runs c with failover (see the package documentation).
func (c *Client) do(ctx context.Context, cl call) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("cairn: encode request: %w", err)
		}
	}
	_, hasDeadline := ctx.Deadline()
	start := c.first()
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		i := (start + attempt - 1) % len(c.endpoints)
		err := c.once(ctx, c.endpoints[i], cl, body)
		if err == nil {
			c.setFirst(i)
			return nil
		}
		retry, endpointFault := classify(ctx, err, cl.safe)
		if endpointFault {
			c.moveOff(i)
		}
		if !cl.safe && outcomeUnknown(err) {
			err = unknownOutcome(err)
		}
		if !retry || ctx.Err() != nil {
			return err
		}
		if attempt%len(c.endpoints) == 0 { // a full round failed
			if !hasDeadline && attempt/len(c.endpoints) >= maxRoundsNoDeadline {
				return err
			}
			select {
			case <-ctx.Done():
				return err
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

func (c *Client) first() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

func (c *Client) setFirst(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur = i
}

// moveOff makes the next call start after endpoint i, unless another call
// already moved on.
func (c *Client) moveOff(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == i {
		c.cur = (i + 1) % len(c.endpoints)
	}
}

// classify says whether a failed call may be retried on another endpoint
// and whether the endpoint itself is at fault (so later calls start
// elsewhere).
func classify(ctx context.Context, err error, safe bool) (retry, endpointFault bool) {
	if ctx.Err() != nil {
		return false, false
	}
	var e *Error
	if errors.As(err, &e) {
		switch e.Code {
		case "no_leader", "stopping", "not_ready", "timeout":
			return safe, true
		}
		return false, false
	}
	// A transport error: the endpoint is unreachable or broke the
	// connection.
	return safe || neverSent(err), true
}

// neverSent reports whether err proves the request never reached a
// server: it failed while dialing (refused, unreachable, DNS).
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// outcomeUnknown reports whether a failed write may have been applied.
// no_leader counts: the server also reports it for a proposal it accepted
// and then gave up on when the leader went away.
func outcomeUnknown(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Code == "timeout" || e.Code == "stopping" || e.Code == "no_leader"
	}
	return !neverSent(err)
}

// once sends cl to one endpoint.
func (c *Client) once(ctx context.Context, endpoint string, cl call, body []byte) error {
	u := endpoint + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, rd)
	if err != nil {
		return fmt.Errorf("cairn: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err // *url.Error: names the method and URL
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return readError(resp)
	}
	if cl.out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(cl.out); err != nil {
		return fmt.Errorf("cairn: %s %s: decode response: %w", cl.method, endpoint+cl.path, err)
	}
	return nil
}

// readError decodes {"error":{...}}, or makes do with the status.
func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var env struct {
		Error *struct {
			Code            string `json:"code"`
			Message         string `json:"message"`
			CompactRevision int64  `json:"compact_revision"`
			Line            int    `json:"line"`
			Col             int    `json:"col"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &env) == nil && env.Error != nil && env.Error.Code != "" {
		return &Error{Status: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message,
			CompactRevision: env.Error.CompactRevision, Line: env.Error.Line, Col: env.Error.Col}
	}
	code := "http_" + fmt.Sprint(resp.StatusCode)
	if resp.StatusCode == http.StatusServiceUnavailable {
		code = "not_ready" // e.g. a proxy in front of a node that is down
	}
	return &Error{Status: resp.StatusCode, Code: code,
		Message: fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(b)))}
}
