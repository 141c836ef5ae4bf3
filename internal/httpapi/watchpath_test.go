package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/document"
	"github.com/cairndb/cairn/internal/testcluster"
)

// TestWatchHTTPPath watches JSON paths inside a document key over HTTP:
// document ops at, above, below and beside the path, other keys, type
// changes, creation and deletion, replayed and live.
func TestWatchHTTPPath(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{})
	nd := c.WaitLeader(10 * time.Second)
	svc := nd.Server.Service()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last int64
	docOp := func(op command.DocOp, path string, vals ...string) {
		t.Helper()
		r := &command.DocRequest{Op: op, Key: []byte("d"), Path: []byte(path)}
		for _, v := range vals {
			r.Values = append(r.Values, []byte(v))
		}
		res, err := svc.Doc(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		last = res.Revision
	}
	put := func(k, v string) {
		t.Helper()
		res, err := svc.Put(ctx, &command.PutRequest{Key: []byte(k), Value: []byte(v)})
		if err != nil {
			t.Fatal(err)
		}
		last = res.Revision
	}
	del := func() {
		t.Helper()
		res, err := svc.Delete(ctx, &command.DeleteRequest{Key: []byte("d")})
		if err != nil {
			t.Fatal(err)
		}
		last = res.Revision
	}
	// Each step is one revision (checked below).
	docOp(command.DocSet, "$", `{"a":{"b":1},"c":1}`) // 1: created
	docOp(command.DocSet, "$.c", `2`)                 // 2: beside a
	docOp(command.DocSet, ".a.b", `2`)                // 3: at a.b
	docOp(command.DocSet, "/a/x", `true`)             // 4: beside a.b, below a
	put("e", `{"a":{"b":9}}`)                         // 5: another key
	docOp(command.DocSet, "$.a.b", `{"deep":[1]}`)    // 6: at a.b
	docOp(command.DocArrAppend, "$.a.b.deep", `2`)    // 7: below a.b
	docOp(command.DocMerge, "$", `{"c":3}`)           // 8: above, a unchanged
	put("d", `{"a":{"b":{"deep":[1,2]}}}`)            // 9: bytes now
	del()                                             // 10: bytes deleted
	docOp(command.DocSet, "$", `{"a":{"b":2}}`)       // 11: a document again
	del()                                             // 12: deleted
	if last != 12 {
		t.Fatalf("setup ended at revision %d, want 12", last)
	}

	base := "http://" + nd.Server.HTTPAddr() + "/v1/watch?key=d&start_revision=1&path="
	open := func(q string) (*http.Response, *bufio.Reader) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+q, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp, bufio.NewReader(resp.Body)
	}
	type ev struct {
		Type      string  `json:"type"`
		Revision  int64   `json:"revision"`
		Key       string  `json:"key"`
		Value     *string `json:"value"`
		PrevValue *string `json:"prev_value"`
	}
	next := func(r *bufio.Reader) ev {
		t.Helper()
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		var e ev
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		return e
	}
	// expect reads the events of revisions revs, in order, then nothing
	// else up to the current revision (a progress notification at it
	// proves nothing more is coming).
	expect := func(r *bufio.Reader, prev bool, revs ...int64) {
		t.Helper()
		for _, rev := range revs {
			e := next(r)
			if e.Revision != rev || e.Key != "d" || e.Type == "progress" {
				t.Fatalf("got %+v, want an event at revision %d", e, rev)
			}
			if (e.PrevValue != nil) && !prev {
				t.Fatalf("prev_value sent unasked: %+v", e)
			}
		}
		if e := next(r); e.Type != "progress" || e.Revision != last {
			t.Fatalf("got %+v, want progress at %d", e, last)
		}
	}

	cases := []struct {
		path string
		prev bool
		revs []int64
	}{
		{"$.a.b", false, []int64{1, 3, 6, 7, 9, 11, 12}},
		{".a.b", true, []int64{1, 3, 6, 7, 9, 11, 12}},
		{"['a']['b']['deep']", false, []int64{6, 7, 9}},
		{"/a", true, []int64{1, 3, 4, 6, 7, 9, 11, 12}},
		{"$.c", false, []int64{1, 2, 8, 9}},
		{"$..b", false, []int64{1, 3, 6, 7, 9, 11, 12}},
		{"$.nothing", false, nil},
	}
	readers := make([]*bufio.Reader, len(cases))
	for i, tc := range cases {
		q := url.QueryEscape(tc.path) + "&progress_ms=50"
		if tc.prev {
			q += "&prev_value=true"
		}
		resp, r := open(q)
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(r)
			t.Fatalf("%s: %d %s", tc.path, resp.StatusCode, body)
		}
		t.Logf("path %s", tc.path)
		expect(r, tc.prev, tc.revs...)
		readers[i] = r
	}

	// Live: the same watches see the new changes.
	docOp(command.DocSet, "$", `{"a":{"b":3}}`)       // 13
	docOp(command.DocSet, "$.z", `1`)                 // 14: beside everything
	docOp(command.DocNumIncrBy, "$.a.b", `1`)         // 15: at a.b
	docOp(command.DocSet, "$.a.b", `4`)               // 16: the same value
	docOp(command.DocSet, "$", `{"a":{"b":4},"z":1}`) // 17: the same document
	live := map[string][]int64{
		"$.a.b": {13, 15}, ".a.b": {13, 15}, "['a']['b']['deep']": nil,
		"/a": {13, 15}, "$.c": nil, "$..b": {13, 15}, "$.nothing": nil,
	}
	for i, tc := range cases {
		t.Logf("live path %s", tc.path)
		r := readers[i]
		for _, rev := range live[tc.path] {
			e := next(r)
			for e.Type == "progress" && e.Revision < rev {
				e = next(r)
			}
			if e.Revision != rev || e.Type != "put" {
				t.Fatalf("%s: got %+v, want a put at %d", tc.path, e, rev)
			}
			if wantPrev := tc.prev && rev != 13; wantPrev != (e.PrevValue != nil) { // 13 creates the key
				t.Fatalf("%s: prev_value %v, asked %v", tc.path, e.PrevValue, tc.prev)
			}
		}
		for {
			e := next(r)
			if e.Type != "progress" {
				t.Fatalf("%s: unexpected %+v", tc.path, e)
			}
			if e.Revision >= last {
				break
			}
		}
	}

	// A malformed path is a 400 with the document package's message.
	_, perr := document.ParsePath("$.a[")
	resp, r := open(url.QueryEscape("$.a["))
	body, _ := io.ReadAll(r)
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if perr == nil || resp.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &e) != nil ||
		e.Error.Code != "invalid" || !strings.Contains(e.Error.Message, perr.Error()) {
		t.Fatalf("bad path: %d %s (parser says %v)", resp.StatusCode, body, perr)
	}
}
