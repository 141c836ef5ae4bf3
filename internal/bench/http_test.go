package bench

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/httpapi"
	"github.com/cairndb/cairn/internal/httpapi/httpapitest"
	"github.com/cairndb/cairn/internal/service"
)

// apiServer serves the HTTP API over a fake service and records the query
// strings of reads.
type apiServer struct {
	svc *httpapitest.Service
	url string

	mu      sync.Mutex
	queries map[string]int // RawQuery of GET /v1/kv, without the key
}

func newAPIServer(t *testing.T) *apiServer {
	t.Helper()
	s := &apiServer{svc: httpapitest.NewService(), queries: map[string]int{}}
	api := httpapi.New(s.svc, httpapi.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/kv" {
			q := r.URL.Query()
			q.Del("key")
			s.mu.Lock()
			s.queries[q.Encode()]++
			s.mu.Unlock()
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *apiServer) get(t *testing.T, key string) *command.KeyValue {
	t.Helper()
	res, _, err := s.svc.Range(context.Background(), &command.RangeRequest{Key: []byte(key)}, service.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.KVs) == 0 {
		return nil
	}
	return res.KVs[0]
}

func runHTTP(t *testing.T, s *apiServer, cfg Config, hc HTTPConfig) *Result {
	t.Helper()
	hc.Endpoints = []string{strings.TrimPrefix(s.url, "http://")}
	d, err := NewHTTP(hc)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestHTTPWorkloads(t *testing.T) {
	s := newAPIServer(t)
	base := Default()
	base.Clients, base.Warmup, base.Keys, base.ValueSize, base.Ops = 4, 0, 50, 32, 300

	t.Run("put", func(t *testing.T) {
		res := runHTTP(t, s, base, HTTPConfig{})
		if res.Ops != 300 || res.Errors != 0 || s.svc.Revision() != 300 {
			t.Fatalf("ops %d errors %d revision %d %v", res.Ops, res.Errors, s.svc.Revision(), res.FirstErrors)
		}
		if kv := s.get(t, "key:0000000007"); kv == nil || len(kv.Value) != 32 {
			t.Errorf("key 7 = %+v", kv)
		}
	})
	t.Run("get", func(t *testing.T) {
		cfg := base
		cfg.Workload, cfg.Preload = WorkloadGet, true
		res := runHTTP(t, s, cfg, HTTPConfig{})
		if res.Ops != 300 || res.Errors != 0 || res.Misses != 0 {
			t.Fatalf("ops %d errors %d misses %d %v", res.Ops, res.Errors, res.Misses, res.FirstErrors)
		}
		cfg.Keys, cfg.Preload = 500, false // keys 50 onwards were never written
		res = runHTTP(t, s, cfg, HTTPConfig{Stale: true})
		if res.Misses < 200 || res.Misses == res.Ops || res.Errors != 0 {
			t.Errorf("misses %d of %d, errors %d", res.Misses, res.Ops, res.Errors)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.queries[""] != 300 || s.queries["consistency=stale"] != 300 {
			t.Errorf("read queries %v", s.queries)
		}
	})
	t.Run("mixed", func(t *testing.T) {
		cfg := base
		cfg.Workload, cfg.KeyDist = WorkloadMixed, DistZipfian
		res := runHTTP(t, s, cfg, HTTPConfig{})
		if res.Ops != 300 || res.Errors != 0 {
			t.Fatalf("ops %d errors %d", res.Ops, res.Errors)
		}
	})
	t.Run("txn", func(t *testing.T) {
		cfg := base
		cfg.Workload, cfg.TxnKeys = WorkloadTxn, 4
		rev := s.svc.Revision()
		res := runHTTP(t, s, cfg, HTTPConfig{})
		if res.Ops != 300 || res.Errors != 0 || s.svc.Revision() != rev+300 {
			t.Fatalf("ops %d errors %d revisions %d %v", res.Ops, res.Errors, s.svc.Revision()-rev, res.FirstErrors)
		}
		// The last txn wrote four keys at the last revision.
		same := 0
		for i := range cfg.Keys {
			if kv := s.get(t, string(AppendKey(nil, i))); kv != nil && kv.ModRevision == s.svc.Revision() {
				same++
			}
		}
		if same != 4 {
			t.Errorf("%d keys at the last revision, want 4", same)
		}
	})
	t.Run("cas", func(t *testing.T) {
		cfg := base
		cfg.Workload, cfg.Keys, cfg.Clients, cfg.Preload = WorkloadCAS, 2, 8, true
		rev := s.svc.Revision() + 2 // after the preload
		res := runHTTP(t, s, cfg, HTTPConfig{})
		if res.Ops != 300 || res.Errors != 0 || res.Conflicts == 0 {
			t.Fatalf("ops %d errors %d conflicts %d %v", res.Ops, res.Errors, res.Conflicts, res.FirstErrors)
		}
		// Each CAS that won wrote once; the others wrote nothing.
		if won := res.Ops - res.Conflicts; s.svc.Revision()-rev != int64(won) {
			t.Errorf("%d CAS won but the revision moved by %d", won, s.svc.Revision()-rev)
		}
	})
	t.Run("large values", func(t *testing.T) { // chunked responses
		cfg := base
		cfg.Workload, cfg.Preload, cfg.ValueSize, cfg.Ops = WorkloadGet, true, 20000, 50
		res := runHTTP(t, s, cfg, HTTPConfig{})
		if res.Ops != 50 || res.Errors != 0 || res.Misses != 0 {
			t.Fatalf("ops %d errors %d misses %d %v", res.Ops, res.Errors, res.Misses, res.FirstErrors)
		}
	})
	t.Run("errors", func(t *testing.T) {
		s.svc.SetHook(func(m string) error {
			if m == "Put" {
				return service.ErrNoLeader
			}
			return nil
		})
		defer s.svc.SetHook(nil)
		cfg := base
		cfg.Workload, cfg.Ops = WorkloadMixed, 1000
		res := runHTTP(t, s, cfg, HTTPConfig{})
		if res.Ops+res.Errors != 1000 || res.Errors < 50 || res.ErrorKinds["http:no_leader"] != res.Errors {
			t.Fatalf("ops %d errors %d %v", res.Ops, res.Errors, res.ErrorKinds)
		}
		if !strings.Contains(res.FirstErrors[0], "503") {
			t.Errorf("first error %q", res.FirstErrors[0])
		}
	})
}

func TestHTTPDialFails(t *testing.T) {
	d, _ := NewHTTP(HTTPConfig{Endpoints: []string{"127.0.0.1:1"}, Timeout: time.Second})
	if _, err := Run(context.Background(), Default(), d); err == nil || ErrorKind(err) != "net:refused" {
		t.Fatalf("dial a closed port: %v", err)
	}
}

func TestHTTPReadResponse(t *testing.T) {
	for _, tc := range []struct {
		in     string
		status int
		body   string
		closes bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, "hello", false},
		{"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\nConnection: close\r\n\r\n{}", 404, "{}", true},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n", 200, "abcde", false},
		{"HTTP/1.0 200 OK\r\n\r\nuntil the end", 200, "until the endNEXT", true},
		{"HTTP/1.1 204 No Content\r\n\r\n", 204, "", false},
	} {
		c := &httpConn{br: bufio.NewReader(strings.NewReader(tc.in + "NEXT"))}
		c.nc = &net.TCPConn{} // stands for an open connection; Close must drop it
		c.unwatch = func() bool { return true }
		status, err := c.readResponse()
		if err != nil || status != tc.status || string(c.resp) != tc.body || (c.nc == nil) != tc.closes {
			t.Errorf("%q: status %d body %q err %v closed %v", tc.in, status, c.resp, err, c.nc == nil)
		}
	}
	for _, bad := range []string{"HTTP/1.1 2x0 OK\r\n\r\n", "SMTP ready\r\n\r\n", "HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"} {
		c := &httpConn{br: bufio.NewReader(strings.NewReader(bad))}
		if _, err := c.readResponse(); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestJSONScan(t *testing.T) {
	b := []byte(`{"revision":7,"kvs":[{"key":"k","create_revision":3,"mod_revision":-5}],"error":{"code":"no_leader"}}`)
	if n, ok := jsonInt(b, `"mod_revision":`); !ok || n != -5 {
		t.Errorf("mod_revision %d %v", n, ok)
	}
	if _, ok := jsonInt(b, `"version":`); ok {
		t.Error("found a missing field")
	}
	if s, ok := jsonString(b, `"code":"`); !ok || s != "no_leader" {
		t.Errorf("code %q %v", s, ok)
	}
}
