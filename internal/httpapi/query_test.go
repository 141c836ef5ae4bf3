package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/cairndb/cairn/internal/httpapi"
	"github.com/cairndb/cairn/internal/httpapi/httpapitest"
)

func TestQuery(t *testing.T) {
	h := httpapi.New(httpapitest.NewService(), httpapi.Options{})
	for _, c := range []struct {
		body   string
		status int
		check  func(r result) bool
	}{
		{`{"script":"db['x'] = [1, 2]\ndb['x'][1] * 10","write":true}`, 200,
			func(r result) bool { return get(r.body, "value") == 20.0 && get(r.body, "committed") == true }},
		{`{"script":"db"}`, 200,
			func(r result) bool { return get(r.body, "value", "x", 1) == 2.0 && get(r.body, "committed") == false }},
		{`{"script":"y = 1"}`, 200,
			func(r result) bool { _, ok := r.body["value"]; return !ok }},
		{`{"script":"db['x'] = 1"}`, 400,
			func(r result) bool { return get(r.body, "error", "code") == "read_only" }},
		{`{"script":"x = 1\ny = (","write":true}`, 400,
			func(r result) bool {
				return get(r.body, "error", "code") == "syntax_error" && get(r.body, "error", "line") == 2.0
			}},
		{`{"script":"\n\nfail('no')","write":true}`, 400,
			func(r result) bool {
				return get(r.body, "error", "code") == "script_error" && get(r.body, "error", "line") == 3.0
			}},
		{`{"script":"db.undo()","write":true}`, http.StatusNotImplemented,
			func(r result) bool { return get(r.body, "error", "code") == "not_available" }},
		{`{"script":"db.at(1)['x']","revision":1}`, 200,
			func(r result) bool { return get(r.body, "value", 0) == 1.0 }},
		{`{"script":"1","write":true,"revision":1}`, 400,
			func(r result) bool { return get(r.body, "error", "code") == "invalid" }},
		{`{"script":"n = 2","session":{"globals":{"m":"40"}}}`, 200,
			func(r result) bool {
				return get(r.body, "session", "globals", "n") == "2" && get(r.body, "session", "globals", "m") == "40"
			}},
	} {
		r := call(t, h, "POST", "/v1/query", c.body)
		if r.status != c.status || !c.check(r) {
			t.Errorf("%s: %d %v", c.body, r.status, r.body)
		}
	}
}
