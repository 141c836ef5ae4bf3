package testcluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cairndb/cairn/client"
	"github.com/cairndb/cairn/internal/command"
)

// TestWatchPathClient: client.WithPath delivers exactly the changes of a
// document key that change what the path selects, and keeps doing so
// when the connection to the serving node breaks and the watch resumes
// on another node.
func TestWatchPathClient(t *testing.T) {
	c := New(t, 3, Options{})
	c.WaitLeader(10 * time.Second)
	proxy := newCutProxy(t, c.Node("n1").Server.HTTPAddr())
	cl, err := client.New(client.Config{Endpoints: []string{
		proxy.ln.Addr().String(), c.Node("n2").Server.HTTPAddr(), c.Node("n3").Server.HTTPAddr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Prefix and path together are refused.
	bad := cl.Watch(ctx, []byte("d"), client.WithPrefix(), client.WithPath("$.n"))
	var ce *client.Error
	if ev := <-bad; ev.Type != "error" || !errors.As(ev.Err, &ce) || ce.Code != "invalid" {
		t.Fatalf("prefix with path: %+v", ev)
	}

	ch := cl.Watch(ctx, []byte("d"), client.WithPath("$.n"), client.WithRevision(1), client.WithPrevKV(),
		client.WithProgressInterval(100*time.Millisecond))
	svc := c.Node("n2").Server.Service()
	write := func(r *command.DocRequest) int64 {
		t.Helper()
		r.Key = []byte("d")
		res, err := svc.Doc(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return res.Revision
	}
	var want []change
	var last int64
	for i := range 60 {
		if i == 30 {
			proxy.cut() // the client resumes on n2 or n3
		}
		switch {
		case i == 0:
			last = write(&command.DocRequest{Op: command.DocSet, Path: []byte("$"), Values: [][]byte{[]byte(`{"n":0,"o":0}`)}})
		case i%3 == 0: // at the path
			v := fmt.Sprintf(`{"n":%d,"o":%d}`, i, i-1)
			last = write(&command.DocRequest{Op: command.DocSet, Path: []byte("$.n"), Values: [][]byte{fmt.Appendf(nil, "%d", i)}})
			want = append(want, change{rev: last, typ: "put", key: "d", value: v})
			continue
		default: // beside it
			last = write(&command.DocRequest{Op: command.DocSet, Path: []byte("/o"), Values: [][]byte{fmt.Appendf(nil, "%d", i)}})
			continue
		}
		want = append(want, change{rev: last, typ: "put", key: "d", value: `{"n":0,"o":0}`})
	}
	got := collect(t, ch, last, 30*time.Second)
	diffChanges(t, "path watch across a connection loss", got, want)
}
