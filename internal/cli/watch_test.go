package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/testcluster"
)

func TestWatchCommand(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{})
	nd := c.WaitLeader(10 * time.Second)
	svc := nd.Server.Service()
	ctx := context.Background()
	for _, kv := range [][2]string{{"w/a", "1"}, {"x", "no"}, {"w/b", "2"}, {"w/a", "3"}} {
		if _, err := svc.Put(ctx, &command.PutRequest{Key: []byte(kv[0]), Value: []byte(kv[1])}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Delete(ctx, &command.DeleteRequest{Key: []byte("w/b")}); err != nil {
		t.Fatal(err)
	}
	ep := nd.Server.HTTPAddr()
	out, errOut, code := run(t, ep, "", "watch", "w/", "--prefix", "--rev", "1", "--count", "4", "--prev-kv")
	want := "PUT\nw/a\n1\nPUT\nw/b\n2\nPUT\nw/a\n1\n3\nDELETE\nw/b\n2\n"
	if code != 0 || out != want {
		t.Fatalf("cairn watch = %d %q (stderr %q), want %q", code, out, errOut, want)
	}
	out, _, code = run(t, ep, "", "--json", "watch", "w/a", "--rev", "2", "--count", "1")
	if code != 0 || strings.TrimSpace(out) != `{"type":"put","revision":4,"key":"w/a","value":"3"}` {
		t.Fatalf("cairn --json watch = %d %q", code, out)
	}
	// A compacted start revision fails and names the oldest one.
	if _, err := svc.Compact(ctx, 3); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = run(t, ep, "", "watch", "w/a", "--rev", "2")
	if code == 0 || !strings.Contains(errOut, "oldest available revision is 4") {
		t.Fatalf("watch from a compacted revision: exit %d, stderr %q", code, errOut)
	}
}
