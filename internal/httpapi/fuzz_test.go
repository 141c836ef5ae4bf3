package httpapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/httpapi"
	"github.com/cairndb/cairn/internal/httpapi/httpapitest"
)

var fuzzRoutes = []struct{ method, target string }{
	{"PUT", "/v1/kv"},
	{"POST", "/v1/kv/txn"},
	{"POST", "/v1/cluster/members"},
	{"POST", "/v1/cluster/transfer-leader"},
	{"PUT", "/v1/kv/k"},
}

// FuzzBodies feeds arbitrary bodies to every endpoint that decodes one: the
// handler must never panic, never answer 5xx (the fake service does not
// fail on its own) and always answer a JSON object.
func FuzzBodies(f *testing.F) {
	for _, s := range []string{
		`{"key":"a","value":"b","prev_kv":true,"lease":1}`,
		`{"key":"YQ==","value":"/w==","encoding":"base64"}`,
		`{"compare":[{"key":"a","target":"value","result":"=","value":"x"}],"success":[{"put":{"key":"a","value":"b"}}],"failure":[{"range":{"key":"a","prefix":true}}]}`,
		`{"compare":[{"key":"a","target":"exists","result":"!=","value":true}],"success":[{"delete":{"key":"a","end":"b"}}]}`,
		`{"name":"n9","peer_addr":"h:1","learner":true}`,
		`{"to":"n1"}`,
		`{"key":"\u0000"}`, `[]`, `null`, `{"key":`, "",
	} {
		for i := range fuzzRoutes {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		h := httpapi.New(httpapitest.NewService(), httpapi.Options{})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(rt.method, rt.target, strings.NewReader(body)))
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", rt.method, rt.target, body, rec.Code, rec.Body)
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s %s %q: not JSON: %s", rt.method, rt.target, body, rec.Body)
		}
	})
}
