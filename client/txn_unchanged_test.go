package client_test

import (
	"context"
	"testing"

	"github.com/cairndb/cairn/client"
)

// TestTxnUnchangedSince: UnchangedSince over a key and a prefix holds
// until a key there is written, even one created and deleted again.
func TestTxnUnchangedSince(t *testing.T) {
	n := newNode(t)
	c := newClient(t, n.srv.URL)
	ctx := context.Background()
	pr, err := c.Put(ctx, []byte("p/a"), []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	rev := pr.Revision
	holds := func(cmp client.Cmp) bool {
		t.Helper()
		r, err := c.Txn(ctx).If(cmp).Commit()
		if err != nil {
			t.Fatal(err)
		}
		return r.Succeeded
	}
	key := client.Compare(client.UnchangedSince([]byte("p/b")), "=", rev)
	prefix := client.Compare(client.UnchangedSince([]byte("p/"), client.WithPrefix()), "=", rev)
	rng := client.Compare(client.UnchangedSince([]byte("p/"), client.WithRange([]byte("p0"))), "=", rev)
	other := client.Compare(client.UnchangedSince([]byte("q"), client.WithFromKey()), "=", rev)
	for _, cmp := range []client.Cmp{key, prefix, rng, other} {
		if !holds(cmp) {
			t.Fatalf("%+v failed before any change", cmp)
		}
	}
	if _, err := c.Put(ctx, []byte("p/b"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, []byte("p/b")); err != nil {
		t.Fatal(err)
	}
	for _, cmp := range []client.Cmp{key, prefix, rng} {
		if holds(cmp) {
			t.Fatalf("%+v held after p/b was created and deleted", cmp)
		}
	}
	if !holds(other) {
		t.Fatal("a change below q failed a compare of every key >= q")
	}
	if _, err := c.Txn(ctx).If(client.Compare(client.UnchangedSince([]byte("k")), "!=", rev)).Commit(); err == nil {
		t.Fatal("unchanged_since with != accepted")
	}
}
