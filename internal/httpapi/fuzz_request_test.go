package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/httpapi"
	"github.com/cairndb/cairn/internal/httpapi/httpapitest"
)

var fuzzMethods = []string{"GET", "PUT", "DELETE", "POST", "PATCH", "HEAD"}

// FuzzRequests feeds arbitrary request targets (path and query: keys,
// ranges, revisions, limits, encodings, member names, raw-key paths) with
// any method and body to the whole API over a fake service holding a few
// keys. Like FuzzBodies: no panic, no 5xx, and a JSON object back (except
// for HEAD, which has no body).
func FuzzRequests(f *testing.F) {
	for _, s := range []struct {
		m      uint8
		target string
	}{
		{0, "/v1/kv?key=a"},
		{0, "/v1/kv?key=a&end=%00&limit=2&revision=3&keys_only=true"},
		{0, "/v1/kv?key=&end=%00&count_only=true&consistency=stale"},
		{0, "/v1/kv?key=YQ%3D%3D&prefix=true&encoding=base64"},
		{0, "/v1/kv?key=%FF%00&end=%FF%FF&revision=-1&limit=9223372036854775807"},
		{1, "/v1/kv/a%2Fb?prev_kv=true&lease=5"},
		{1, "/v1/kv//..//x?encoding=base64"},
		{2, "/v1/kv?key=a&end=b&prev_kv=true"},
		{2, "/v1/cluster/members/n1"},
		{3, "/v1/cluster/members/n1/promote"},
		{0, "/v1/cluster/status?x=%zz"},
		{0, "/readyz"},
		{4, "/v1/kv"},
	} {
		f.Add(s.m, s.target, "")
		f.Add(s.m, s.target, `{"key":"a","value":"b"}`)
	}
	h := httpapi.New(httpapitest.NewService(), httpapi.Options{})
	for _, k := range []string{"a", "a/b", "b", "c"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PUT", "/v1/kv/"+k, strings.NewReader("v")))
	}
	f.Fuzz(func(t *testing.T, m uint8, target, body string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(target, "/") {
			return // net/http answers 400 before any handler runs
		}
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		req := &http.Request{Method: method, URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}}, Host: "x",
			Body: http.NoBody}
		if body != "" {
			req.Body, req.ContentLength = httptest.NewRequest(method, "/", strings.NewReader(body)).Body, int64(len(body))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", method, target, body, rec.Code, rec.Body)
		}
		if method == "HEAD" || rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusTemporaryRedirect || rec.Code == http.StatusPermanentRedirect {
			return
		}
		var obj map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &obj); err != nil {
			t.Fatalf("%s %s %q: %d, not a JSON object: %q", method, target, body, rec.Code, rec.Body)
		}
	})
}
