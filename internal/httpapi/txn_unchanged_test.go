package httpapi_test

import (
	"fmt"
	"testing"
)

// TestTxnUnchangedSince: the "unchanged_since" compare target over one
// key, a range and a prefix, and its malformed forms.
func TestTxnUnchangedSince(t *testing.T) {
	svc, h := newAPI(t)
	mustStatus(t, call(t, h, "PUT", "/v1/kv", `{"key":"p/a","value":"1"}`), 200)
	rev := svc.Revision()
	txn := func(cmp string) any {
		t.Helper()
		r := call(t, h, "POST", "/v1/kv/txn", `{"compare":[`+cmp+`]}`)
		mustStatus(t, r, 200)
		return r.body["succeeded"]
	}
	key := fmt.Sprintf(`{"key":"p/b","target":"unchanged_since","result":"=","value":%d}`, rev)
	prefix := fmt.Sprintf(`{"key":"p/","prefix":true,"target":"unchanged_since","result":"=","value":%d}`, rev)
	rng := fmt.Sprintf(`{"key":"p/","end":"p0","target":"unchanged_since","result":"=","value":%d}`, rev)
	for _, c := range []string{key, prefix, rng} {
		if got := txn(c); got != true {
			t.Fatalf("%s before any change: succeeded %v", c, got)
		}
	}
	// Create and delete p/b: nothing looks different, but it changed.
	mustStatus(t, call(t, h, "PUT", "/v1/kv", `{"key":"p/b","value":"1"}`), 200)
	mustStatus(t, call(t, h, "DELETE", "/v1/kv?key=p/b", ""), 200)
	for _, c := range []string{key, prefix, rng} {
		if got := txn(c); got != false {
			t.Fatalf("%s after a change: succeeded %v", c, got)
		}
	}
	// A change outside the prefix.
	other := fmt.Sprintf(`{"key":"q","prefix":true,"target":"unchanged_since","result":"=","value":%d}`, svc.Revision())
	mustStatus(t, call(t, h, "PUT", "/v1/kv", `{"key":"p/c","value":"1"}`), 200)
	if got := txn(other); got != true {
		t.Fatalf("change outside the prefix: succeeded %v", got)
	}
	// Below the compaction horizon the compare fails, even with no change.
	old := fmt.Sprintf(`{"key":"q","target":"unchanged_since","result":"=","value":%d}`, rev)
	svc.Compact(rev + 1)
	if got := txn(old); got != false {
		t.Fatalf("below the horizon: succeeded %v", got)
	}
	for _, body := range []string{
		`{"key":"k","target":"unchanged_since","result":"!=","value":1}`,
		`{"key":"k","target":"unchanged_since","result":"=","value":-1}`,
		`{"key":"k","target":"unchanged_since","result":"=","value":"1"}`,
		`{"key":"k","end":"a","target":"unchanged_since","result":"=","value":1}`,
		`{"key":"k","end":"z","prefix":true,"target":"unchanged_since","result":"=","value":1}`,
		`{"key":"k","end":"z","target":"mod_revision","result":"=","value":1}`,
		`{"key":"k","prefix":true,"target":"version","result":"=","value":1}`,
	} {
		r := call(t, h, "POST", "/v1/kv/txn", `{"compare":[`+body+`]}`)
		if r.status != 400 || errCode(r) != "bad_request" {
			t.Errorf("%s: got %d %v, want 400 bad_request", body, r.status, r.body)
		}
	}
}
