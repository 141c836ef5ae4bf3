package jepsen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestBadInput throws malformed, truncated, oversized and random input at
// every listener of a running 3-node cluster of the real binary: the HTTP
// API, the RESP port and the peer (raft transport) port. Every exchange is
// bounded by a deadline (a hang fails the test). The node must answer HTTP
// with a 4xx JSON error, RESP with an -ERR reply (closing that connection
// on a protocol error), and drop a bad peer connection; after each listener
// every process must still run, /healthz answer 200, a write and a read
// work over both front ends, and the keys written before must be intact.
// No node's log may mention a panic (both servers recover them per
// connection, so a recovered panic would otherwise go unnoticed).
func TestBadInput(t *testing.T) {
	forEachSeed(t, func(t *testing.T, seed uint64) {
		c := NewCluster(t, bins, ClusterOptions{Nodes: 3}, t.Logf)
		rng := rand.New(rand.NewPCG(seed, 0xbad))
		canary := writeCanary(t, c)
		for _, sub := range []struct {
			name string
			fn   func(*testing.T, *Cluster, *rand.Rand)
		}{
			{"http", badHTTP},
			{"resp", badRESP},
			{"peer", badPeer},
		} {
			t.Run(sub.name, func(t *testing.T) {
				sub.fn(t, c, rng)
				checkHealthy(t, c, canary)
			})
		}
	})
}

// exchangeTimeout bounds every single exchange of the survey.
const exchangeTimeout = 15 * time.Second

// writeCanary writes keys that must survive the survey unchanged.
func writeCanary(t *testing.T, c *Cluster) map[string]string {
	kv := NewKV(5 * time.Second)
	canary := map[string]string{}
	for i := range 20 {
		k, v := fmt.Sprintf("canary/%02d", i), fmt.Sprintf("v%d", i)
		if _, err := kv.Put(context.Background(), c.Members()[i%3].HTTP, k, v); err != nil {
			t.Fatalf("canary write: %v", err)
		}
		canary[k] = v
	}
	return canary
}

// checkHealthy: every process runs, answers /healthz, takes a write and a
// read over HTTP and RESP, and still holds the canary keys; no log
// mentions a panic.
func checkHealthy(t *testing.T, c *Cluster, canary map[string]string) {
	t.Helper()
	if crashes := c.Crashes(); len(crashes) > 0 {
		t.Fatalf("nodes crashed: %s", strings.Join(crashes, "; "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv := NewKV(10 * time.Second)
	for _, n := range c.Members() {
		if !n.Running() {
			t.Fatalf("%s is not running: %s", n.Name, c.Describe())
		}
		if code, err := httpGet(ctx, n.HTTP, "/healthz", nil); err != nil || code != 200 {
			t.Fatalf("%s /healthz: %d %v", n.Name, code, err)
		}
		key, val := "after/"+n.Name, time.Now().String()
		err := waitFor(10*time.Second, func() error {
			_, err := kv.Put(ctx, n.HTTP, key, val)
			return err
		})
		if err != nil {
			t.Fatalf("%s: write after bad input: %v", n.Name, err)
		}
		if got, _, _, err := kv.Get(ctx, n.HTTP, key, false); err != nil || got != val {
			t.Fatalf("%s: read after bad input: %q, %v; want %q", n.Name, got, err, val)
		}
		rdb := redis.NewClient(&redis.Options{Addr: n.RESP, MaxRetries: -1, DialTimeout: 5 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})
		if err := rdb.Set(ctx, key+"/resp", val, 0).Err(); err != nil {
			t.Errorf("%s: RESP SET after bad input: %v", n.Name, err)
		} else if got, err := rdb.Get(ctx, key+"/resp").Result(); err != nil || got != val {
			t.Errorf("%s: RESP GET after bad input: %q, %v; want %q", n.Name, got, err, val)
		}
		rdb.Close()
		for k, v := range canary {
			if got, _, _, err := kv.Get(ctx, n.HTTP, k, false); err != nil || got != v {
				t.Fatalf("%s: canary %s = %q, %v; want %q", n.Name, k, got, err, v)
			}
		}
		if logs := n.Logs(); strings.Contains(logs, "panic") {
			i := strings.Index(logs, "panic")
			t.Fatalf("%s logged a panic: %s", n.Name, logs[max(0, i-200):min(len(logs), i+2000)])
		}
	}
}

// --- HTTP ---

type httpCase struct {
	name   string
	method string
	path   string
	ctype  string
	body   func() io.Reader
	status int    // expected status; 0: any 4xx
	code   string // expected error code, if set
}

func bodyOf(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }

// bigBody is a body of prefix, n copies of b, then suffix, streamed.
func bigBody(prefix string, b byte, n int, suffix string) func() io.Reader {
	return func() io.Reader {
		return io.MultiReader(strings.NewReader(prefix), io.LimitReader(repeatByte(b), int64(n)), strings.NewReader(suffix))
	}
}

type repeatByte byte

func (r repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

const (
	maxValue = 8 << 20 // service.MaxValueSize
	maxKey   = 4 << 10 // service.MaxKeySize
)

func httpCases(rng *rand.Rand) []httpCase {
	junk := make([]byte, 64)
	for i := range junk {
		junk[i] = byte(rng.UintN(256))
	}
	cases := []httpCase{
		{name: "truncated JSON", method: "PUT", path: "/v1/kv", body: bodyOf(`{"key":`), status: 400, code: "bad_request"},
		{name: "not JSON", method: "PUT", path: "/v1/kv", body: bodyOf("\x00\xff\xfe garbage"), status: 400},
		{name: "empty body", method: "PUT", path: "/v1/kv", body: bodyOf(""), status: 400},
		{name: "JSON array", method: "PUT", path: "/v1/kv", body: bodyOf(`[1,2,3]`), status: 400},
		{name: "JSON null", method: "PUT", path: "/v1/kv", body: bodyOf(`null`), status: 400},
		{name: "wrong type", method: "PUT", path: "/v1/kv", body: bodyOf(`{"key":"a","value":1}`), status: 400},
		{name: "unknown field", method: "PUT", path: "/v1/kv", body: bodyOf(`{"key":"a","value":"b","bogus":true}`), status: 400},
		{name: "two objects", method: "PUT", path: "/v1/kv", body: bodyOf(`{"key":"a","value":"b"}{"key":"c"}`), status: 400},
		{name: "empty key", method: "PUT", path: "/v1/kv", body: bodyOf(`{"key":"","value":"b"}`), status: 400, code: "key_empty"},
		{name: "invalid base64", method: "PUT", path: "/v1/kv", body: bodyOf(`{"key":"!!!","value":"b","encoding":"base64"}`), status: 400},
		{name: "unknown encoding", method: "PUT", path: "/v1/kv", body: bodyOf(`{"key":"a","value":"b","encoding":"rot13"}`), status: 400},
		{name: "invalid UTF-8 in JSON", method: "PUT", path: "/v1/kv", body: bodyOf("{\"key\":\"\xff\xfe\",\"value\":\"\xc0\"}"), status: 0},
		{name: "deep nesting", method: "PUT", path: "/v1/kv", body: func() io.Reader {
			return strings.NewReader(`{"key":"a","value":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`)
		}, status: 400},
		{name: "deep nesting txn", method: "POST", path: "/v1/kv/txn", body: func() io.Reader {
			return strings.NewReader(`{"compare":` + strings.Repeat(`[{"key":`, 20000) + `}`)
		}, status: 400},
		{name: "key too large", method: "PUT", path: "/v1/kv", body: bigBody(`{"key":"`, 'k', maxKey+1, `","value":"v"}`), status: 400, code: "key_too_large"},
		{name: "value too large", method: "PUT", path: "/v1/kv", body: bigBody(`{"key":"big","value":"`, 'v', maxValue+1, `"}`), status: 400, code: "value_too_large"},
		{name: "body past the limit", method: "PUT", path: "/v1/kv", body: bigBody(`{"key":"big","value":"`, 'v', 20<<20, `"}`), status: 413, code: "request_too_large"},
		{name: "raw value too large", method: "PUT", path: "/v1/kv/rawbig", ctype: "application/octet-stream", body: bigBody("", 0xff, maxValue+1, ""), status: 400, code: "value_too_large"},
		{name: "raw body past the limit", method: "PUT", path: "/v1/kv/rawbig", ctype: "application/octet-stream", body: bigBody("", 0xff, 20<<20, ""), status: 413},
		{name: "raw key invalid base64", method: "PUT", path: "/v1/kv/%21%21?encoding=base64", body: bodyOf("v"), status: 400},
		{name: "txn malformed compare", method: "POST", path: "/v1/kv/txn", body: bodyOf(`{"compare":[{"key":"a","target":"bogus","result":"?"}]}`), status: 400},
		{name: "txn too many ops", method: "POST", path: "/v1/kv/txn", body: func() io.Reader {
			ops := strings.Repeat(`{"put":{"key":"t","value":"v"}},`, 2000)
			return strings.NewReader(`{"success":[` + ops[:len(ops)-1] + `]}`)
		}, status: 400},
		{name: "txn wrong shape", method: "POST", path: "/v1/kv/txn", body: bodyOf(`{"success":{"put":1}}`), status: 400},
		{name: "member without peer", method: "POST", path: "/v1/cluster/members", body: bodyOf(`{"name":"x"}`), status: 400},
		{name: "member without name", method: "POST", path: "/v1/cluster/members", body: bodyOf(`{"peer_addr":"127.0.0.1:1"}`), status: 400},
		{name: "member junk", method: "POST", path: "/v1/cluster/members", body: bodyOf(`{"name":"","peer_addr":"","learner":"yes"}`), status: 400},
		{name: "remove unknown member", method: "DELETE", path: "/v1/cluster/members/%00%ff", status: 404},
		{name: "promote unknown member", method: "POST", path: "/v1/cluster/members/nobody/promote", status: 404},
		{name: "transfer to nobody", method: "POST", path: "/v1/cluster/transfer-leader", body: bodyOf(`{"to":"nobody"}`), status: 0},
		{name: "wrong method kv", method: "PATCH", path: "/v1/kv", status: 405, code: "method_not_allowed"},
		{name: "wrong method txn", method: "GET", path: "/v1/kv/txn", status: 405},
		{name: "wrong method status", method: "POST", path: "/v1/cluster/status", status: 405},
		{name: "unknown path", method: "GET", path: "/v2/../../etc/passwd", status: 404},
		{name: "query junk key", method: "GET", path: "/v1/kv?key=" + urlBytes(junk), status: 0},
		{name: "query bad limit", method: "GET", path: "/v1/kv?key=a&limit=-5", status: 400},
		{name: "query limit not a number", method: "GET", path: "/v1/kv?key=a&limit=%ff", status: 400},
		{name: "query huge revision", method: "GET", path: "/v1/kv?key=a&revision=99999999999999999999", status: 400},
		{name: "query future revision", method: "GET", path: "/v1/kv?key=a&revision=9223372036854775807", status: 400, code: "future_revision"},
		{name: "query bad consistency", method: "GET", path: "/v1/kv?key=a&consistency=%00", status: 400},
		{name: "query bad encoding", method: "GET", path: "/v1/kv?key=%%%&encoding=base64", status: 400},
		{name: "query invalid base64", method: "GET", path: "/v1/kv?key=***&encoding=base64", status: 400},
		{name: "query bad bool", method: "GET", path: "/v1/kv?key=a&prefix=maybe", status: 400},
		{name: "delete without key", method: "DELETE", path: "/v1/kv", status: 400},
		{name: "range end before key", method: "GET", path: "/v1/kv?key=b&end=a", status: 0},
	}
	return cases
}

// urlBytes percent-encodes every byte.
func urlBytes(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, "%%%02X", c)
	}
	return s.String()
}

func badHTTP(t *testing.T, c *Cluster, rng *rand.Rand) {
	n := c.Members()[0]
	hc := &http.Client{Timeout: exchangeTimeout}
	for _, tc := range httpCases(rng) {
		var body io.Reader
		if tc.body != nil {
			body = tc.body()
		}
		req, err := http.NewRequest(tc.method, "http://"+n.HTTP+tc.path, body)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		ct := tc.ctype
		if ct == "" && body != nil {
			ct = "application/json"
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			t.Errorf("%s: %s %s: no answer after %v: %v", tc.name, tc.method, tc.path, time.Since(start).Round(time.Millisecond), err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e errResp
		jerr := json.Unmarshal(b, &e)
		t.Logf("%-26s %d %s (%v)", tc.name, resp.StatusCode, e.Error.Code, time.Since(start).Round(time.Millisecond))
		switch {
		case resp.StatusCode >= 500:
			t.Errorf("%s: %s %s: %d %s", tc.name, tc.method, tc.path, resp.StatusCode, b)
		case tc.status != 0 && resp.StatusCode != tc.status:
			t.Errorf("%s: %s %s: %d %s; want %d", tc.name, tc.method, tc.path, resp.StatusCode, b, tc.status)
		case resp.StatusCode >= 400 && (jerr != nil || e.Error.Code == "" || e.Error.Message == ""):
			t.Errorf("%s: %s %s: %d with no JSON error: %q", tc.name, tc.method, tc.path, resp.StatusCode, b)
		case tc.code != "" && e.Error.Code != tc.code:
			t.Errorf("%s: %s %s: code %q (%s); want %q", tc.name, tc.method, tc.path, e.Error.Code, e.Error.Message, tc.code)
		}
	}

	// Below the HTTP layer: the request line and headers themselves.
	for _, raw := range []struct{ name, in, want string }{
		{"garbage request line", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03junk\r\n\r\n", "HTTP/1.1 400"},
		{"bad version", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", "HTTP/1.1 505"},
		{"huge header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Junk: " + strings.Repeat("a", 2<<20) + "\r\n\r\n", "HTTP/1.1 431"},
		{"bad chunked body", "PUT /v1/kv HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", "HTTP/1.1 400"},
		{"content-length lies", "PUT /v1/kv HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nContent-Type: application/json\r\n\r\n{\"key\":\"a\"}", ""},
		{"binary junk", string(randBytes(rng, 4096)), "HTTP/1.1 400"},
	} {
		got, hung := rawExchange(t, n.HTTP, []byte(raw.in), true)
		status, _, _ := strings.Cut(got, "\r\n")
		t.Logf("%-26s %q", raw.name, status)
		if hung {
			t.Errorf("%s: no answer within %v (got %q)", raw.name, exchangeTimeout, status)
		} else if !strings.HasPrefix(got, raw.want) {
			t.Errorf("%s: got %q, want %q", raw.name, status, raw.want)
		}
	}

	// A half-sent request held open must not stop others from being served.
	slow, err := net.DialTimeout("tcp", n.HTTP, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "PUT /v1/kv HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"key\":")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if code, err := httpGet(ctx, n.HTTP, "/healthz", nil); err != nil || code != 200 {
		t.Errorf("healthz with a stalled request open: %d %v", code, err)
	}
}

// rawExchange sends in on a fresh connection (closing the write side
// after it if closeWrite) and reads until the server closes. hung reports
// that the deadline passed first. Write errors are ignored: the server
// may close the connection before reading everything.
func rawExchange(t *testing.T, addr string, in []byte, closeWrite bool) (string, bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(exchangeTimeout))
	go func() {
		_, _ = conn.Write(in)
		if closeWrite {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
	}()
	b, err := io.ReadAll(conn)
	var ne net.Error
	return string(b), errors.As(err, &ne) && ne.Timeout()
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	return b
}

// --- RESP ---

// respJunk is random input biased towards the RESP grammar's bytes.
func respJunk(rng *rand.Rand, n int) []byte {
	const alphabet = "*$+-:_,#!=%~>|\r\n0123456789-\"'\\ abcSETGET"
	b := make([]byte, n)
	for i := range b {
		if rng.IntN(4) == 0 {
			b[i] = byte(rng.UintN(256))
		} else {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
	}
	return b
}

func bulk(args ...string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&s, "$%d\r\n%s\r\n", len(a), a)
	}
	return s.String()
}

func badRESP(t *testing.T, c *Cluster, rng *rand.Rand) {
	n := c.Members()[1]
	// Each case: the input, whether to half-close after it, and the
	// replies expected in order (prefixes of the whole output, which
	// must end with the server closing the connection).
	for _, tc := range []struct {
		name  string
		in    string
		close bool     // half-close after sending
		want  []string // expected substrings, in order
	}{
		{"huge bulk length", "*1\r\n$99999999999\r\n", false, []string{"-ERR Protocol error"}},
		{"bulk past the 9 MiB limit", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10485760\r\n", false, []string{"-ERR Protocol error"}},
		{"huge array length", "*2147483648\r\n", false, []string{"-ERR Protocol error"}},
		{"negative bulk length", "*1\r\n$-7\r\n", false, []string{"-ERR Protocol error"}},
		{"array length not a number", "*x\r\n", false, []string{"-ERR Protocol error"}},
		{"bulk without CRLF", "*1\r\n$4\r\nPINGxx", false, []string{"-ERR Protocol error"}},
		{"unbalanced quotes", "SET \"abc def\r\n", false, []string{"-ERR Protocol error"}},
		{"unbalanced single quote", "SET 'k v\r\n", false, []string{"-ERR Protocol error"}},
		{"inline line too long", strings.Repeat("A", 100<<10), false, []string{"-ERR Protocol error"}},
		{"garbage after valid commands", bulk("SET", "bad/pipe", "1") + bulk("GET", "bad/pipe") + "PING\r\n" + "*1\r\n$zz\r\n" + bulk("PING"),
			false, []string{"+OK\r\n$1\r\n1\r\n+PONG\r\n", "-ERR Protocol error"}},
		{"truncated command then EOF", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel", true, nil},
		{"unknown command", bulk("FROBNICATE", "x") + bulk("QUIT"), false, []string{"-ERR unknown command", "+OK"}},
		{"wrong arity", bulk("GET") + bulk("SET", "k") + bulk("QUIT"), false, []string{"-ERR wrong number of arguments", "-ERR wrong number of arguments", "+OK"}},
		{"empty key", bulk("SET", "", "v") + bulk("QUIT"), false, []string{"-ERR", "+OK"}},
		{"key too large", bulk("SET", strings.Repeat("k", maxKey+1), "v") + bulk("QUIT"), false, []string{"-ERR", "+OK"}},
		{"value just too large", bulk("SET", "bad/big", strings.Repeat("v", maxValue+1)) + bulk("PING") + bulk("QUIT"),
			false, []string{"-ERR value too large", "+PONG", "+OK"}},
		{"EXEC without MULTI", bulk("EXEC") + bulk("MULTI") + bulk("MULTI") + bulk("WATCH", "x") + bulk("KEYS", "*") + bulk("EXEC") + bulk("QUIT"),
			false, []string{"-ERR EXEC without MULTI", "+OK", "-ERR MULTI calls can not be nested", "-ERR WATCH inside MULTI", "-", "-EXECABORT", "+OK"}},
		{"MGET past 100000 keys", func() string {
			args := []string{"MGET"}
			for i := range 100001 {
				args = append(args, fmt.Sprint(i))
			}
			return bulk(args...) + bulk("QUIT")
		}(), false, []string{"-ERR", "+OK"}},
		{"bad integer", bulk("INCRBY", "bad/int", "1e3") + bulk("SET", "bad/int", "x") + bulk("INCR", "bad/int") + bulk("QUIT"),
			false, []string{"-ERR value is not an integer", "+OK", "-ERR value is not an integer", "+OK"}},
		{"HELLO 4", bulk("HELLO", "4") + bulk("QUIT"), false, []string{"-NOPROTO", "+OK"}},
	} {
		got, hung := rawExchange(t, n.RESP, []byte(tc.in), tc.close)
		short := got
		if len(short) > 200 {
			short = short[:200] + "..."
		}
		t.Logf("%-30s %q", tc.name, short)
		if hung {
			t.Errorf("%s: connection not closed within %v; got %q", tc.name, exchangeTimeout, short)
			continue
		}
		rest := got
		for _, w := range tc.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: got %q, want %q next", tc.name, short, w)
				break
			}
			rest = rest[i+len(w):]
		}
	}

	// Binary keys and values (invalid UTF-8, NUL, CR/LF) round-trip.
	rdb := redis.NewClient(&redis.Options{Addr: n.RESP, MaxRetries: -1, DialTimeout: 5 * time.Second,
		ReadTimeout: exchangeTimeout, WriteTimeout: exchangeTimeout})
	defer rdb.Close()
	ctx := context.Background()
	for range 20 {
		k := "bin/" + string(randBytes(rng, 1+rng.IntN(32)))
		v := string(randBytes(rng, rng.IntN(256)))
		if err := rdb.Set(ctx, k, v, 0).Err(); err != nil {
			t.Errorf("SET %q: %v", k, err)
			continue
		}
		if got, err := rdb.Get(ctx, k).Result(); err != nil || got != v {
			t.Errorf("GET %q = %q, %v; want %q", k, got, err, v)
		}
	}
	// A value of exactly the limit is accepted and read back whole.
	big := string(bytes.Repeat([]byte{0xfe}, maxValue))
	if err := rdb.Set(ctx, "bad/max", big, 0).Err(); err != nil {
		t.Errorf("SET of a %d-byte value: %v", len(big), err)
	} else if got, err := rdb.Get(ctx, "bad/max").Result(); err != nil || got != big {
		t.Errorf("GET of the %d-byte value: %d bytes, %v", len(big), len(got), err)
	}

	// Random input on fresh connections: each must end (half-closed, so
	// a truncated command cannot wait for ever), with nothing but replies.
	for i := range 40 {
		in := respJunk(rng, 1+rng.IntN(2048))
		if i%4 == 0 {
			in = randBytes(rng, 1+rng.IntN(2048))
		}
		got, hung := rawExchange(t, n.RESP, in, true)
		if hung {
			t.Errorf("random input %d (%q): connection not closed within %v", i, in, exchangeTimeout)
		}
		if err := checkReplies(got); err != nil {
			t.Errorf("random input %d (%q): answer %q is not RESP: %v", i, in, got, err)
		}
	}

	// Connections abandoned mid-command stay open while others are served.
	for range 20 {
		conn, err := net.DialTimeout("tcp", n.RESP, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000\r\npartial")
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Errorf("PING with abandoned connections open: %v", err)
	}
}

// checkReplies checks that s is a sequence of whole RESP2 replies, or a
// prefix of one (the connection may close mid-reply only if the server
// failed, which the health check catches).
func checkReplies(s string) error {
	br := bufio.NewReader(strings.NewReader(s))
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF && line == "" {
			return nil
		}
		if err != nil || len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
			return fmt.Errorf("bad line %q", line)
		}
		switch line[0] {
		case '+', '-', ':':
		case '$':
			var n int
			if _, err := fmt.Sscanf(line, "$%d\r\n", &n); err != nil {
				return err
			}
			if n >= 0 {
				if _, err := io.CopyN(io.Discard, br, int64(n)+2); err != nil {
					return err
				}
			}
		case '*':
			// An array header: its elements follow as replies.
		default:
			return fmt.Errorf("unexpected reply type in %q", line)
		}
	}
}

// --- peer port ---

func peerHandshake(kind byte, from, to uint64) []byte {
	b := append([]byte("CRFT"), 1, kind)
	b = binary.BigEndian.AppendUint64(b, from)
	return binary.BigEndian.AppendUint64(b, to)
}

func peerFrame(typ byte, group uint64, payload []byte) []byte {
	var hdr []byte
	hdr = append(hdr, typ)
	hdr = binary.AppendUvarint(hdr, group)
	b := binary.BigEndian.AppendUint32(nil, uint32(len(hdr)+len(payload)))
	return append(append(b, hdr...), payload...)
}

func badPeer(t *testing.T, c *Cluster, rng *rand.Rand) {
	const stranger = 0xdead
	// Invalid protobuf: a field number 0 tag.
	notProto := append([]byte{0x00, 0xff, 0xff}, randBytes(rng, 61)...)
	for _, n := range c.Members() {
		cases := []struct {
			name string
			in   []byte
			half bool // half-close after sending (for input the node waits on)
		}{
			{"random bytes", randBytes(rng, 4096), false},
			{"short junk", randBytes(rng, 7), true},
			{"HTTP on the peer port", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false},
			{"wrong version", append(append([]byte("CRFT"), 9, 1), make([]byte, 16)...), false},
			{"unknown kind", peerHandshake(7, stranger, n.ID), false},
			{"sender zero", peerHandshake(1, 0, n.ID), false},
			{"addressed to another node", peerHandshake(1, stranger, n.ID+1), false},
			{"handshake then random bytes", append(peerHandshake(1, stranger, n.ID), randBytes(rng, 4096)...), false},
			{"handshake then huge frame", append(peerHandshake(1, stranger, n.ID), 0xff, 0xff, 0xff, 0xff, 1, 1), false},
			{"handshake then frame past the limit", append(peerHandshake(1, stranger, n.ID), binary.BigEndian.AppendUint32(nil, 65<<20)...), false},
			{"handshake then declared 60 MiB, truncated", append(append(peerHandshake(1, stranger, n.ID), binary.BigEndian.AppendUint32(nil, 60<<20)...), 1, 1, 'x'), true},
			{"handshake then unknown frame type", append(peerHandshake(1, stranger, n.ID), peerFrame(99, 1, []byte("x"))...), false},
			{"handshake then empty frame", append(peerHandshake(1, stranger, n.ID), 0, 0, 0, 0), false},
			{"handshake then snapshot frame on a stream", append(peerHandshake(1, stranger, n.ID), peerFrame(3, 1, []byte("chunk"))...), false},
			{"handshake then non-protobuf message", append(peerHandshake(1, stranger, n.ID), peerFrame(1, 1, notProto)...), false},
			{"handshake then message for another group", append(peerHandshake(1, stranger, n.ID), peerFrame(1, 77, notProto)...), true},
			{"snapshot handshake then junk", append(peerHandshake(2, stranger, n.ID), randBytes(rng, 4096)...), false},
			{"snapshot handshake then bad header", append(peerHandshake(2, stranger, n.ID), peerFrame(2, 1, notProto)...), false},
			{"snapshot handshake then chunk first", append(peerHandshake(2, stranger, n.ID), peerFrame(3, 1, []byte("body"))...), false},
		}
		for _, tc := range cases {
			start := time.Now()
			got, hung := rawExchange(t, n.Peer, tc.in, tc.half)
			if n == c.Members()[0] {
				t.Logf("%-42s %d bytes back, closed after %v", tc.name, len(got), time.Since(start).Round(time.Millisecond))
			}
			if hung {
				t.Errorf("%s: %s: connection not closed within %v", n.Name, tc.name, exchangeTimeout)
			}
		}
	}
	// The cluster still has a leader.
	if err := waitFor(10*time.Second, func() error {
		if c.Leader() == nil {
			return os.ErrNotExist
		}
		return nil
	}); err != nil {
		t.Fatalf("no leader after peer junk: %s", c.Describe())
	}
}
