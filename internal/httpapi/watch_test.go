package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/testcluster"
)

// TestWatchHTTP exercises GET /v1/watch on a real node: NDJSON, SSE with
// Last-Event-ID resumption, the compacted and unsupported errors.
func TestWatchHTTP(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{})
	nd := c.WaitLeader(10 * time.Second)
	svc := nd.Server.Service()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	put := func(k, v string) {
		t.Helper()
		if _, err := svc.Put(ctx, &command.PutRequest{Key: []byte(k), Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	// One txn writes two keys at revision 3.
	put("h/a", "1")
	put("h/b", "\xff")
	if _, err := svc.Txn(ctx, &command.TxnRequest{Success: []command.TxnOp{
		{Put: &command.PutRequest{Key: []byte("h/a"), Value: []byte("2")}},
		{Delete: &command.DeleteRequest{Key: []byte("h/b")}},
	}}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + nd.Server.HTTPAddr() + "/v1/watch?key=h/&prefix=true"
	open := func(url string, hdr ...string) (*http.Response, *bufio.Reader) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp, bufio.NewReader(resp.Body)
	}
	line := func(r *bufio.Reader) string {
		t.Helper()
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(l)
	}

	resp, r := open(base + "&start_revision=1&prev_value=true")
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("content type %q", ct)
	}
	for _, want := range []string{
		`{"type":"put","revision":1,"key":"h/a","value":"1","encoding":"utf8","id":"1/1"}`,
		`{"type":"put","revision":2,"key":"aC9i","value":"/w==","encoding":"base64","id":"2/1"}`,
		`{"type":"put","revision":3,"key":"h/a","value":"2","prev_value":"1","encoding":"utf8","id":"3/1"}`,
		`{"type":"delete","revision":3,"key":"aC9i","prev_value":"/w==","encoding":"base64","id":"3/2"}`,
	} {
		if got := line(r); got != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	}
	put("h/c", "live")
	if got := line(r); !strings.Contains(got, `"revision":4,"key":"h/c","value":"live"`) {
		t.Fatalf("live event: %s", got)
	}

	// SSE, resuming after the first event of revision 3.
	resp, r = open(base, "Accept", "text/event-stream", "Last-Event-ID", "3/1")
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	for _, want := range []string{"id: 3/2", "event: delete", `data: {"type":"delete","revision":3,"key":"h/b","encoding":"utf8","id":"3/2"}`, "",
		"id: 4/1", "event: put"} {
		if got := line(r); got != want {
			t.Fatalf("SSE got %q, want %q", got, want)
		}
	}

	// Progress notifications on an idle watch.
	_, r = open(base + "&progress_ms=20")
	if got := line(r); got != `{"type":"progress","revision":4,"id":"5/0"}` {
		t.Fatalf("progress: %s", got)
	}

	// Errors before the stream starts are plain JSON errors.
	if _, err := svc.Compact(ctx, 2); err != nil {
		t.Fatal(err)
	}
	resp, r = open(base + "&start_revision=1")
	body, _ := io.ReadAll(r)
	var e struct {
		Error struct {
			Code            string `json:"code"`
			Message         string `json:"message"`
			CompactRevision int64  `json:"compact_revision"`
		} `json:"error"`
	}
	if resp.StatusCode != http.StatusGone || json.Unmarshal(body, &e) != nil || e.Error.Code != "compacted" ||
		e.Error.CompactRevision != 2 || !strings.Contains(e.Error.Message, "oldest available revision is 3") {
		t.Fatalf("compacted: %d %s", resp.StatusCode, body)
	}
	resp, r = open(base + "&path=$.a")
	body, _ = io.ReadAll(r)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "cannot be combined with a prefix") {
		t.Fatalf("prefix and path: %d %s", resp.StatusCode, body)
	}
	resp, r = open(base + "&bogus=1")
	body, _ = io.ReadAll(r)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown parameter: %d %s", resp.StatusCode, body)
	}
}
