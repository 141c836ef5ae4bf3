package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/testcluster"
)

func TestWatchPathCommand(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{})
	nd := c.WaitLeader(10 * time.Second)
	svc := nd.Server.Service()
	ctx := context.Background()
	for _, s := range [][2]string{{"$", `{"a":1,"b":1}`}, {"$.b", "2"}, {".a", "3"}, {"/b", "4"}, {"$.a", "5"}} {
		if _, err := svc.Doc(ctx, &command.DocRequest{Op: command.DocSet, Key: []byte("d"), Path: []byte(s[0]), Values: [][]byte{[]byte(s[1])}}); err != nil {
			t.Fatal(err)
		}
	}
	ep := nd.Server.HTTPAddr()
	out, errOut, code := run(t, ep, "", "--json", "watch", "d", "--path", "$.a", "--rev", "2", "--count", "2")
	want := `{"type":"put","revision":3,"key":"d","value":"{\"a\":3,\"b\":2}"}` + "\n" +
		`{"type":"put","revision":5,"key":"d","value":"{\"a\":5,\"b\":4}"}` + "\n"
	if code != 0 || out != want {
		t.Fatalf("cairn watch --path = %d %q (stderr %q), want %q", code, out, errOut, want)
	}
	_, errOut, code = run(t, ep, "", "watch", "d", "--path", "$.a[")
	if code == 0 || !strings.Contains(errOut, "path") {
		t.Fatalf("bad path: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = run(t, ep, "", "watch", "d", "--prefix", "--path", "$.a")
	if code == 0 || !strings.Contains(errOut, "--prefix") {
		t.Fatalf("prefix and path: exit %d, stderr %q", code, errOut)
	}
}
