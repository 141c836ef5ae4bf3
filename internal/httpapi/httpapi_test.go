package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/httpapi"
	"github.com/cairndb/cairn/internal/httpapi/httpapitest"
	"github.com/cairndb/cairn/internal/membership"
	"github.com/cairndb/cairn/internal/service"
)

var _ httpapi.Service = (*httpapitest.Service)(nil)

// result is a decoded response.
type result struct {
	status int
	header http.Header
	body   map[string]any
}

// call serves one request in process and decodes the JSON answer.
func call(t *testing.T, h http.Handler, method, target, body string) result {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, want application/json", method, target, ct)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object: %v", method, target, rec.Body.String(), err)
	}
	return result{rec.Code, rec.Header(), m}
}

// get walks a decoded JSON body: get(m, "kvs", 0, "key").
func get(v any, path ...any) any {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[p]
		case int:
			s, _ := v.([]any)
			if p >= len(s) {
				return nil
			}
			v = s[p]
		}
	}
	return v
}

func errCode(r result) any { return get(r.body, "error", "code") }

func newAPI(t *testing.T) (*httpapitest.Service, http.Handler) {
	t.Helper()
	svc := httpapitest.NewService()
	return svc, httpapi.New(svc, httpapi.Options{})
}

func mustStatus(t *testing.T, r result, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body %v", r.status, want, r.body)
	}
}

func TestPutGetDelete(t *testing.T) {
	_, h := newAPI(t)
	r := call(t, h, "PUT", "/v1/kv", `{"key":"a","value":"1"}`)
	mustStatus(t, r, 200)
	if r.header.Get("X-Cairn-Revision") != "1" || get(r.body, "revision") != 1.0 || get(r.body, "encoding") != "utf8" {
		t.Fatalf("put: header %v body %v", r.header, r.body)
	}
	r = call(t, h, "PUT", "/v1/kv", `{"key":"a","value":"2","prev_kv":true}`)
	mustStatus(t, r, 200)
	if get(r.body, "prev_kv", "value") != "1" || get(r.body, "prev_kv", "version") != 1.0 {
		t.Fatalf("put prev_kv: %v", r.body)
	}
	r = call(t, h, "GET", "/v1/kv?key=a", "")
	mustStatus(t, r, 200)
	if get(r.body, "kvs", 0, "value") != "2" || get(r.body, "kvs", 0, "version") != 2.0 ||
		get(r.body, "kvs", 0, "create_revision") != 1.0 || get(r.body, "kvs", 0, "mod_revision") != 2.0 ||
		get(r.body, "count") != 1.0 || get(r.body, "more") != false || r.header.Get("X-Cairn-Revision") != "2" {
		t.Fatalf("get: %v", r.body)
	}
	r = call(t, h, "GET", "/v1/kv?key=a&revision=1", "")
	if get(r.body, "kvs", 0, "value") != "1" {
		t.Fatalf("get at revision 1: %v", r.body)
	}
	r = call(t, h, "GET", "/v1/kv?key=a&keys_only=true", "")
	if kv := get(r.body, "kvs", 0).(map[string]any); kv["key"] != "a" || kv["value"] != nil {
		t.Fatalf("keys_only: %v", r.body)
	}
	r = call(t, h, "DELETE", "/v1/kv?key=a&prev_kv=true", "")
	mustStatus(t, r, 200)
	if get(r.body, "deleted") != 1.0 || get(r.body, "prev_kvs", 0, "value") != "2" || get(r.body, "revision") != 3.0 {
		t.Fatalf("delete: %v", r.body)
	}
	r = call(t, h, "GET", "/v1/kv?key=a", "")
	mustStatus(t, r, 404)
	if errCode(r) != "key_not_found" || r.header.Get("X-Cairn-Revision") != "3" {
		t.Fatalf("get deleted: %v %v", r.header, r.body)
	}
	r = call(t, h, "DELETE", "/v1/kv?key=a", "")
	if mustStatus(t, r, 200); get(r.body, "deleted") != 0.0 {
		t.Fatalf("delete missing: %v", r.body)
	}
}

func TestPutRawPath(t *testing.T) {
	_, h := newAPI(t)
	mustStatus(t, call(t, h, "PUT", "/v1/kv/dir/sub%20key", "raw body\n"), 200)
	r := call(t, h, "GET", "/v1/kv?key=dir%2Fsub+key", "")
	if get(r.body, "kvs", 0, "value") != "raw body\n" {
		t.Fatalf("raw put: %v", r.body)
	}
	mustStatus(t, call(t, h, "PUT", "/v1/kv/"+base64.StdEncoding.EncodeToString([]byte{0xff})+"?encoding=base64", "x"), 200)
	mustStatus(t, call(t, h, "PUT", "/v1/kv//a/../b", "dots"), 200) // not cleaned
	if r := call(t, h, "GET", "/v1/kv?key=%2Fa%2F..%2Fb", ""); get(r.body, "kvs", 0, "value") != "dots" {
		t.Fatalf("uncleaned key: %v", r.body)
	}
	r = call(t, h, "GET", "/v1/kv?key=%2Fw%3D%3D&encoding=base64", "")
	if get(r.body, "kvs", 0, "value") != base64.StdEncoding.EncodeToString([]byte("x")) {
		t.Fatalf("raw put base64 key: %v", r.body)
	}
	r = call(t, h, "PUT", "/v1/kv/k?prev_kv=maybe", "")
	if mustStatus(t, r, 400); errCode(r) != "bad_request" {
		t.Fatalf("bad bool: %v", r.body)
	}
	r = call(t, h, "PUT", "/v1/kv/", "v")
	if mustStatus(t, r, 400); errCode(r) != "key_empty" {
		t.Fatalf("empty path key: %v", r.body)
	}
}

func TestEncodings(t *testing.T) {
	_, h := newAPI(t)
	key, val := []byte{0, 0xff, 'k'}, []byte{0xc3, 0x28} // both invalid UTF-8
	b64 := base64.StdEncoding.EncodeToString
	mustStatus(t, call(t, h, "PUT", "/v1/kv", `{"key":"`+b64(key)+`","value":"`+b64(val)+`","encoding":"base64"}`), 200)

	// Asked for base64: everything base64.
	r := call(t, h, "GET", "/v1/kv?encoding=base64&key="+strings.ReplaceAll(b64(key), "+", "%2B"), "")
	if get(r.body, "encoding") != "base64" || get(r.body, "kvs", 0, "key") != b64(key) || get(r.body, "kvs", 0, "value") != b64(val) {
		t.Fatalf("base64 get: %v", r.body)
	}
	// Asked for utf8 (the query key is percent-encoded bytes), but the data
	// is not UTF-8: the response switches to base64 and says so.
	r = call(t, h, "GET", "/v1/kv?key=%00%FFk", "")
	if get(r.body, "encoding") != "base64" || get(r.body, "kvs", 0, "value") != b64(val) {
		t.Fatalf("utf8 get of binary data: %v", r.body)
	}
	// A UTF-8 key whose value is UTF-8 stays utf8, including non-ASCII.
	mustStatus(t, call(t, h, "PUT", "/v1/kv", `{"key":"ключ","value":"значение \u0000"}`), 200)
	r = call(t, h, "GET", "/v1/kv?key=%D0%BA%D0%BB%D1%8E%D1%87", "")
	if get(r.body, "encoding") != "utf8" || get(r.body, "kvs", 0, "value") != "значение \x00" {
		t.Fatalf("utf8 round trip: %v", r.body)
	}
	for _, bad := range []string{
		`{"key":"!!","value":"","encoding":"base64"}`,
		`{"key":"a","value":"","encoding":"latin1"}`,
	} {
		r := call(t, h, "PUT", "/v1/kv", bad)
		if mustStatus(t, r, 400); errCode(r) != "bad_request" {
			t.Fatalf("%s: %v", bad, r.body)
		}
	}
}

func TestRangeAndPaging(t *testing.T) {
	_, h := newAPI(t)
	for _, k := range []string{"a", "b/1", "b/2", "b/3", "c", "\xff\xff"} {
		mustStatus(t, call(t, h, "PUT", "/v1/kv", `{"key":"`+base64.StdEncoding.EncodeToString([]byte(k))+`","value":"dg==","encoding":"base64"}`), 200)
	}
	r := call(t, h, "GET", "/v1/kv?key=b/&prefix=true", "")
	if get(r.body, "count") != 3.0 || get(r.body, "kvs", 2, "key") != "b/3" || get(r.body, "next_key") != nil {
		t.Fatalf("prefix: %v", r.body)
	}
	r = call(t, h, "GET", "/v1/kv?key=b/&end=c", "")
	if get(r.body, "count") != 3.0 {
		t.Fatalf("range: %v", r.body)
	}
	r = call(t, h, "GET", "/v1/kv?key=&prefix=true&count_only=true", "")
	if get(r.body, "count") != 6.0 || len(get(r.body, "kvs").([]any)) != 0 {
		t.Fatalf("count all: %v", r.body)
	}
	r = call(t, h, "GET", "/v1/kv?key=%FF&prefix=true", "") // all-0xff prefix: no upper bound
	if get(r.body, "count") != 1.0 || get(r.body, "encoding") != "base64" {
		t.Fatalf("0xff prefix: %v", r.body)
	}
	// Page through everything two at a time with next_key.
	var keys []string
	next := base64.StdEncoding.EncodeToString([]byte{0})
	for i := 0; next != ""; i++ {
		r := call(t, h, "GET", "/v1/kv?encoding=base64&limit=2&end=AA%3D%3D&key="+strings.ReplaceAll(next, "+", "%2B"), "")
		mustStatus(t, r, 200)
		next = ""
		for _, kv := range get(r.body, "kvs").([]any) {
			k, _ := base64.StdEncoding.DecodeString(kv.(map[string]any)["key"].(string))
			keys = append(keys, string(k))
		}
		if get(r.body, "more") == true {
			next = get(r.body, "next_key").(string)
		}
		if i > 10 {
			t.Fatal("paging does not end")
		}
	}
	if strings.Join(keys, ",") != "a,b/1,b/2,b/3,c,\xff\xff" {
		t.Fatalf("paged keys %q", keys)
	}
	r = call(t, h, "GET", "/v1/kv?key=a&prefix=true&end=b", "")
	if mustStatus(t, r, 400); errCode(r) != "bad_request" {
		t.Fatalf("prefix+end: %v", r.body)
	}
}

func TestTxn(t *testing.T) {
	_, h := newAPI(t)
	mustStatus(t, call(t, h, "PUT", "/v1/kv", `{"key":"k","value":"v1"}`), 200)
	r := call(t, h, "POST", "/v1/kv/txn", `{
		"compare":[{"key":"k","target":"value","result":"=","value":"v1"},
		           {"key":"k","target":"version","result":">","value":0},
		           {"key":"k","target":"mod_revision","result":"<","value":5},
		           {"key":"k","target":"create_revision","result":"=","value":1},
		           {"key":"nope","target":"exists","result":"=","value":false}],
		"success":[{"put":{"key":"k","value":"v2","prev_kv":true}},{"range":{"key":"k"}},{"delete":{"key":"x"}}],
		"failure":[{"range":{"key":"k"}}]}`)
	mustStatus(t, r, 200)
	if get(r.body, "succeeded") != true || get(r.body, "revision") != 2.0 ||
		get(r.body, "responses", 0, "put", "prev_kv", "value") != "v1" ||
		get(r.body, "responses", 1, "range", "kvs", 0, "value") != "v2" ||
		get(r.body, "responses", 2, "delete", "deleted") != 0.0 {
		t.Fatalf("txn success: %v", r.body)
	}
	r = call(t, h, "POST", "/v1/kv/txn", `{"compare":[{"key":"k","target":"value","result":"=","value":"v1"}],
		"failure":[{"range":{"key":"k","keys_only":true}}]}`)
	if get(r.body, "succeeded") != false || get(r.body, "responses", 0, "range", "kvs", 0, "key") != "k" ||
		get(r.body, "responses", 0, "range", "kvs", 0, "value") != nil {
		t.Fatalf("txn failure: %v", r.body)
	}
	for body, code := range map[string]string{
		`{"success":[{"put":{"key":"a"}},{"put":{"key":"a"}}]}`: "duplicate_key",
		`{"success":[{}]}`: "bad_request",
		`{"success":[{"put":{"key":"a"},"delete":{"key":"a"}}]}`:                "bad_request",
		`{"compare":[{"key":"k","target":"value","result":"=","value":3}]}`:     "bad_request",
		`{"compare":[{"key":"k","target":"version","result":"=","value":"3"}]}`: "bad_request",
		`{"compare":[{"key":"k","target":"exists","result":"<","value":true}]}`: "bad_request",
		`{"compare":[{"key":"k","target":"exists","result":"=","value":1}]}`:    "bad_request",
		`{"compare":[{"key":"k","target":"size","result":"=","value":1}]}`:      "bad_request",
		`{"compare":[{"key":"k","target":"version","result":"~","value":1}]}`:   "bad_request",
		`{"compare":[{"key":"","target":"version","result":"=","value":1}]}`:    "key_empty",
		`{"success":[{"range":{"key":"k","limit":-1}}]}`:                        "bad_request",
		`{"success":[{"put":{"key":"k"}}],"extra":1}`:                           "bad_request",
	} {
		r := call(t, h, "POST", "/v1/kv/txn", body)
		if errCode(r) != code || r.status != 400 {
			t.Errorf("%s: got %d %v, want 400 %s", body, r.status, r.body, code)
		}
	}
}

// slowService blocks every Range until the request context ends.
type slowService struct{ *httpapitest.Service }

func (s slowService) Range(ctx context.Context, _ *command.RangeRequest, _ service.ReadOptions) (*command.RangeResult, int64, error) {
	<-ctx.Done()
	return nil, 0, ctx.Err()
}

func TestRequestTimeout(t *testing.T) {
	h := httpapi.New(slowService{httpapitest.NewService()}, httpapi.Options{RequestTimeout: 20 * time.Millisecond})
	r := call(t, h, "GET", "/v1/kv?key=a", "")
	if mustStatus(t, r, 504); errCode(r) != "timeout" {
		t.Fatalf("timeout: %v", r.body)
	}
}

func TestErrorMapping(t *testing.T) {
	svc, h := newAPI(t)
	for i := 0; i < 3; i++ {
		mustStatus(t, call(t, h, "PUT", "/v1/kv", `{"key":"a","value":"x"}`), 200)
	}
	svc.Compact(2)
	big := strings.Repeat("k", service.MaxKeySize+1)
	tests := []struct {
		name, method, target, body string
		hook                       error
		status                     int
		code                       string
	}{
		{"key empty", "PUT", "/v1/kv", `{"key":"","value":"v"}`, nil, 400, "key_empty"},
		{"invalid utf-8 in body", "PUT", "/v1/kv", "{\"key\":\"\xff\",\"value\":\"v\"}", nil, 400, "bad_request"},
		{"key too large", "PUT", "/v1/kv", `{"key":"` + big + `"}`, nil, 400, "key_too_large"},
		{"value too large", "PUT", "/v1/kv", `{"key":"a","value":"` + strings.Repeat("v", service.MaxValueSize+1) + `"}`, nil, 400, "value_too_large"},
		{"body too large", "PUT", "/v1/kv", `{"key":"a","value":"` + strings.Repeat("v", httpapi.MaxBodySize) + `"}`, nil, 413, "request_too_large"},
		{"raw body too large", "PUT", "/v1/kv/a", strings.Repeat("v", httpapi.MaxBodySize+1), nil, 413, "request_too_large"},
		{"malformed json", "PUT", "/v1/kv", `{"key":`, nil, 400, "bad_request"},
		{"empty body", "PUT", "/v1/kv", ``, nil, 400, "bad_request"},
		{"wrong type", "PUT", "/v1/kv", `{"key":1}`, nil, 400, "bad_request"},
		{"unknown field", "PUT", "/v1/kv", `{"key":"a","vaule":"v"}`, nil, 400, "bad_request"},
		{"trailing data", "PUT", "/v1/kv", `{"key":"a"} {}`, nil, 400, "bad_request"},
		{"negative lease", "PUT", "/v1/kv", `{"key":"a","lease":-1}`, nil, 400, "bad_request"},
		{"unknown param", "GET", "/v1/kv?key=a&prefx=true", "", nil, 400, "bad_request"},
		{"repeated param", "GET", "/v1/kv?key=a&key=b", "", nil, 400, "bad_request"},
		{"bad limit", "GET", "/v1/kv?key=a&limit=-1", "", nil, 400, "bad_request"},
		{"bad consistency", "GET", "/v1/kv?key=a&consistency=eventual", "", nil, 400, "bad_request"},
		{"bad base64", "GET", "/v1/kv?key=%25&encoding=base64", "", nil, 400, "bad_request"},
		{"limit too big", "GET", "/v1/kv?key=a&end=b&limit=100000000", "", nil, 400, "invalid"},
		{"get empty key", "GET", "/v1/kv", "", nil, 400, "key_empty"},
		{"compacted", "GET", "/v1/kv?key=a&revision=1", "", nil, 410, "compacted"},
		{"future", "GET", "/v1/kv?key=a&revision=99", "", nil, 400, "future_revision"},
		{"min revision wait", "GET", "/v1/kv?key=a&consistency=stale&min_revision=99", "", nil, 504, "timeout"},
		{"timeout", "PUT", "/v1/kv", `{"key":"a"}`, fmtErr(service.ErrTimeout), 504, "timeout"},
		{"no leader", "GET", "/v1/kv?key=a", "", fmtErr(service.ErrNoLeader), 503, "no_leader"},
		{"stopping", "DELETE", "/v1/kv?key=a", "", fmtErr(service.ErrStopped), 503, "stopping"},
		{"not ready", "GET", "/v1/kv?key=a", "", fmtErr(service.ErrNotReady), 503, "not_ready"},
		{"service request too large", "POST", "/v1/kv/txn", `{}`, fmtErr(service.ErrRequestTooLarge), 413, "request_too_large"},
		{"internal", "GET", "/v1/cluster/status", "", errors.New("disk on fire"), 500, "internal"},
		{"member not found", "DELETE", "/v1/cluster/members/nobody", "", nil, 404, "member_not_found"},
		{"member not found hex", "POST", "/v1/cluster/members/abc/promote", "", nil, 404, "member_not_found"},
		{"member exists", "POST", "/v1/cluster/members", `{"name":"n1","peer_addr":"x:1"}`, nil, 409, "member_exists"},
		{"join without name", "POST", "/v1/cluster/members", `{"peer_addr":"x:1"}`, nil, 400, "invalid"},
		{"not learner", "POST", "/v1/cluster/members/n1/promote", "", nil, 400, "not_learner"},
		{"transfer empty", "POST", "/v1/cluster/transfer-leader", `{}`, nil, 400, "invalid"},
		{"not ready readyz", "GET", "/readyz", "", fmtErr(service.ErrNoLeader), 503, "no_leader"},
		{"not ready readyz other", "GET", "/readyz", "", errors.New("catching up"), 503, "not_ready"},
		{"unknown route", "GET", "/v2/kv", "", nil, 404, "not_found"},
		{"unknown route root", "GET", "/", "", nil, 404, "not_found"},
		{"wrong method", "PATCH", "/v1/kv", "", nil, 405, "method_not_allowed"},
		{"wrong method txn", "GET", "/v1/kv/txn", "", nil, 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hook := tt.hook
			svc.SetHook(func(string) error { return hook })
			defer svc.SetHook(nil)
			r := call(t, h, tt.method, tt.target, tt.body)
			if r.status != tt.status || errCode(r) != tt.code {
				t.Fatalf("got %d %v, want %d %s", r.status, r.body, tt.status, tt.code)
			}
			if msg, _ := get(r.body, "error", "message").(string); msg == "" {
				t.Fatalf("no message: %v", r.body)
			}
			if tt.code == "compacted" && get(r.body, "error", "compact_revision") != 2.0 {
				t.Fatalf("compact_revision missing: %v", r.body)
			}
			if tt.status == 405 && r.header.Get("Allow") == "" {
				t.Fatalf("405 without Allow")
			}
		})
	}
}

func fmtErr(sentinel error) error { return errors.Join(errors.New("ctx"), sentinel) }

func TestCluster(t *testing.T) {
	svc, h := newAPI(t)
	n1 := membership.IDString(membership.IDFromName("n1"))
	n2 := membership.IDString(membership.IDFromName("n2"))
	r := call(t, h, "GET", "/v1/cluster/members", "")
	if mustStatus(t, r, 200); get(r.body, "members", 0, "id") != n1 || get(r.body, "leader") != n1 {
		t.Fatalf("members: %v", r.body)
	}
	r = call(t, h, "POST", "/v1/cluster/members", `{"name":"n2","peer_addr":"h2:7380","http_addr":"h2:7379"}`)
	if mustStatus(t, r, 200); get(r.body, "member", "id") != n2 || get(r.body, "member", "learner") != true ||
		len(get(r.body, "members").([]any)) != 2 {
		t.Fatalf("join: %v", r.body)
	}
	r = call(t, h, "POST", "/v1/cluster/transfer-leader", `{"to":"n2"}`)
	if mustStatus(t, r, 400); errCode(r) != "invalid" { // learners cannot lead (fake's rule)
		t.Fatalf("transfer to learner: %v", r.body)
	}
	r = call(t, h, "POST", "/v1/cluster/members/n2/promote", "")
	if mustStatus(t, r, 200); get(r.body, "id") != n2 {
		t.Fatalf("promote: %v", r.body)
	}
	r = call(t, h, "POST", "/v1/cluster/transfer-leader", `{"to":"`+n2+`"}`)
	if mustStatus(t, r, 200); get(r.body, "id") != n2 {
		t.Fatalf("transfer: %v", r.body)
	}
	r = call(t, h, "GET", "/v1/cluster/status", "")
	if mustStatus(t, r, 200); get(r.body, "id") != n1 || get(r.body, "role") != "follower" || get(r.body, "leader") != n2 ||
		get(r.body, "name") != "n1" || len(get(r.body, "members").([]any)) != 2 {
		t.Fatalf("status: %v", r.body)
	}
	r = call(t, h, "DELETE", "/v1/cluster/members/"+n2, "")
	if mustStatus(t, r, 200); get(r.body, "id") != n2 {
		t.Fatalf("remove: %v", r.body)
	}
	if ms, _ := svc.Members(context.Background()); len(ms) != 1 {
		t.Fatalf("members after remove: %v", ms)
	}
	// A valid hex ID that matches nobody goes to the service, which decides.
	r = call(t, h, "DELETE", "/v1/cluster/members/"+n2, "")
	if mustStatus(t, r, 404); errCode(r) != "member_not_found" {
		t.Fatalf("remove twice: %v", r.body)
	}
}

func TestHealth(t *testing.T) {
	_, h := newAPI(t)
	if r := call(t, h, "GET", "/healthz", ""); r.status != 200 || get(r.body, "health") != "ok" {
		t.Fatalf("healthz: %v", r)
	}
	if r := call(t, h, "GET", "/readyz", ""); r.status != 200 || get(r.body, "ready") != true {
		t.Fatalf("readyz: %v", r)
	}
}

// TestOverHTTP checks the handler behind a real server (headers, body limit).
func TestOverHTTP(t *testing.T) {
	_, h := newAPI(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("PUT", srv.URL+"/v1/kv", strings.NewReader(`{"key":"a","value":"b"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Cairn-Revision") != "1" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
}
