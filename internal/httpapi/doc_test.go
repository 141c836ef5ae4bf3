package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDocuments(t *testing.T) {
	_, h := newAPI(t)
	q := url.QueryEscape

	r := call(t, h, "PUT", "/v1/doc/user:1", `{"name":"ann","tags":["a"],"n":1}`)
	mustStatus(t, r, http.StatusOK)
	if get(r.body, "written") != true || get(r.body, "result") != "OK" {
		t.Fatalf("put: %v", r.body)
	}
	for _, c := range []struct{ path, want string }{
		{"", `{"n":1,"name":"ann","tags":["a"]}`}, // (the test decodes into a map; /v1/kv below checks the order)
		{"$.name", `["ann"]`},
		{".name", `"ann"`},
		{"['tags'][-1]", `"a"`},
		{"/tags/0", `"a"`},
	} {
		r := call(t, h, "GET", "/v1/doc/user:1?path="+q(c.path), "")
		mustStatus(t, r, http.StatusOK)
		if got := jsonText(t, get(r.body, "value")); got != c.want {
			t.Errorf("GET path %q = %s, want %s", c.path, got, c.want)
		}
	}

	r = call(t, h, "PUT", "/v1/doc/user:1?path="+q("$.age"), `31`)
	mustStatus(t, r, http.StatusOK)
	r = call(t, h, "PUT", "/v1/doc/user:1?nx=true&path="+q("$.age"), `32`)
	if mustStatus(t, r, http.StatusOK); get(r.body, "written") != false || get(r.body, "result") != nil {
		t.Fatalf("put nx of an existing path: %v", r.body)
	}
	// A JSONPath that may match many locations and matches none writes
	// nothing and is not an error (a definite one is doc_no_path, below).
	r = call(t, h, "PUT", "/v1/doc/user:1?path="+q("$..q.r"), `1`)
	if mustStatus(t, r, http.StatusOK); get(r.body, "written") != false || get(r.body, "result") != nil {
		t.Fatalf("put at an indefinite path that matches nothing: %v", r.body)
	}
	r = call(t, h, "PATCH", "/v1/doc/user:1", `{"n":null,"city":"Oslo"}`)
	mustStatus(t, r, http.StatusOK)
	r = call(t, h, "POST", "/v1/doc/user:1", `{"op":"arrappend","path":"$.tags","values":["b","c"]}`)
	if mustStatus(t, r, http.StatusOK); jsonText(t, get(r.body, "result")) != "[3]" {
		t.Fatalf("arrappend: %v", r.body)
	}
	r = call(t, h, "POST", "/v1/doc/user:1", `{"op":"numincrby","path":".age","values":[1]}`)
	if mustStatus(t, r, http.StatusOK); jsonText(t, get(r.body, "result")) != "32" {
		t.Fatalf("numincrby: %v", r.body)
	}
	r = call(t, h, "POST", "/v1/doc/user:1", `{"op":"type","path":"$.*"}`)
	if mustStatus(t, r, http.StatusOK); jsonText(t, get(r.body, "result")) != `["string","array","integer","string"]` {
		t.Fatalf("type: %v", r.body)
	}
	r = call(t, h, "POST", "/v1/doc/user:1", `{"op":"get","path":"$.tags"}`)
	if mustStatus(t, r, http.StatusOK); jsonText(t, get(r.body, "result")) != `[["a","b","c"]]` {
		t.Fatalf("post get: %v", r.body)
	}
	r = call(t, h, "POST", "/v1/doc/user:1", `{"op":"arrpop","path":".tags"}`)
	if mustStatus(t, r, http.StatusOK); jsonText(t, get(r.body, "result")) != `"c"` {
		t.Fatalf("arrpop: %v", r.body)
	}

	// The plain KV API shows the document's text and type.
	r = call(t, h, "GET", "/v1/kv?key=user:1", "")
	mustStatus(t, r, http.StatusOK)
	if get(r.body, "kvs", 0, "type") != "document" ||
		get(r.body, "kvs", 0, "value") != `{"name":"ann","tags":["a","b"],"age":32,"city":"Oslo"}` {
		t.Fatalf("kv get: %v", r.body)
	}

	// Errors.
	for _, c := range []struct {
		method, target, body string
		status               int
		code                 string
	}{
		{"GET", "/v1/doc/nokey", "", 404, "key_not_found"},
		{"GET", "/v1/doc/user:1?path=.nope", "", 404, "doc_no_path"},
		{"GET", "/v1/doc/user:1?path=" + q("$["), "", 400, "doc_bad_path"},
		{"PUT", "/v1/doc/user:1", `{bad`, 400, "doc_syntax"},
		{"PUT", "/v1/doc/user:1?path=.a.b", `1`, 404, "doc_no_path"},
		{"PUT", "/v1/doc/user:1?path=" + q("$.q.r"), `1`, 404, "doc_no_path"},
		{"PATCH", "/v1/doc/user:1?path=" + q("$.q.r"), `1`, 404, "doc_no_path"},
		{"POST", "/v1/doc/user:1", `{"op":"arrappend","path":"$.q","values":[1]}`, 404, "doc_no_path"},
		{"POST", "/v1/doc/user:1", `{"op":"numincrby","path":"$.q","values":[1]}`, 404, "doc_no_path"},
		{"PUT", "/v1/doc/new?path=.a", `1`, 400, "doc_new_at_root"},
		{"POST", "/v1/doc/user:1", `{"op":"arrappend","path":".name","values":[1]}`, 400, "doc_wrong_type"},
		{"POST", "/v1/doc/user:1", `{"op":"bogus","path":"."}`, 400, "invalid"},
		{"POST", "/v1/doc/nokey", `{"op":"arrappend","path":".a","values":[1]}`, 404, "key_not_found"},
		{"PUT", "/v1/doc/user:1?nx=true&xx=true", `1`, 400, "invalid"},
	} {
		r := call(t, h, c.method, c.target, c.body)
		if r.status != c.status || errCode(r) != c.code {
			t.Errorf("%s %s: %d %v, want %d %s", c.method, c.target, r.status, r.body, c.status, c.code)
		}
	}
	call(t, h, "PUT", "/v1/kv/plain", "x")
	if r := call(t, h, "GET", "/v1/doc/plain", ""); r.status != 409 || errCode(r) != "wrong_type" {
		t.Errorf("GET of a plain key: %d %v", r.status, r.body)
	}

	r = call(t, h, "DELETE", "/v1/doc/user:1?path="+q("$.tags[*]"), "")
	if mustStatus(t, r, http.StatusOK); jsonText(t, get(r.body, "result")) != "2" {
		t.Fatalf("delete: %v", r.body)
	}
	r = call(t, h, "DELETE", "/v1/doc/user:1", "")
	mustStatus(t, r, http.StatusOK)
	mustStatus(t, call(t, h, "GET", "/v1/doc/user:1", ""), http.StatusNotFound)
}
