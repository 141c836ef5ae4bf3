package client_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairndb/cairn/client"
	"github.com/cairndb/cairn/internal/httpapi"
	"github.com/cairndb/cairn/internal/httpapi/httpapitest"
	"github.com/cairndb/cairn/internal/service"
)

// node is one httptest server running the API over a fake service, with a
// count of the requests it received.
type node struct {
	svc  *httpapitest.Service
	srv  *httptest.Server
	hits atomic.Int64
}

func newNode(t *testing.T) *node {
	t.Helper()
	n := &node{svc: httpapitest.NewService()}
	api := httpapi.New(n.svc, httpapi.Options{})
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.hits.Add(1)
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(n.srv.Close)
	return n
}

// deadAddr is an address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func newClient(t *testing.T, endpoints ...string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Endpoints: endpoints, RequestTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestKV(t *testing.T) {
	n := newNode(t)
	c := newClient(t, n.srv.URL)
	ctx := context.Background()
	key, val := []byte{0, 0xff, '+', '/'}, []byte{0xc3, 0x28, 0}
	p, err := c.Put(ctx, key, val)
	if err != nil || p.Revision != 1 {
		t.Fatalf("put: %+v %v", p, err)
	}
	p, err = c.Put(ctx, key, []byte("v2"), client.WithPrevKV())
	if err != nil || p.PrevKV == nil || !bytes.Equal(p.PrevKV.Value, val) {
		t.Fatalf("put prev: %+v %v", p, err)
	}
	g, err := c.Get(ctx, key)
	if err != nil || len(g.KVs) != 1 || !bytes.Equal(g.KVs[0].Key, key) || string(g.KVs[0].Value) != "v2" ||
		g.KVs[0].Version != 2 || g.Revision != 2 {
		t.Fatalf("get: %+v %v", g, err)
	}
	g, err = c.Get(ctx, key, client.WithRevision(1))
	if err != nil || !bytes.Equal(g.KVs[0].Value, val) {
		t.Fatalf("get rev 1: %+v %v", g, err)
	}
	for _, k := range []string{"p/1", "p/2", "p/3", "q"} {
		if _, err := c.Put(ctx, []byte(k), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	g, err = c.Get(ctx, []byte("p/"), client.WithPrefix(), client.WithLimit(2), client.WithKeysOnly())
	if err != nil || len(g.KVs) != 2 || !g.More || g.Count != 3 || string(g.NextKey) != "p/2\x00" || g.KVs[0].Value != nil {
		t.Fatalf("prefix page: %+v %v", g, err)
	}
	g, err = c.Get(ctx, g.NextKey, client.WithRange([]byte("p0")), client.WithStale(), client.WithMinRevision(1))
	if err != nil || len(g.KVs) != 1 || string(g.KVs[0].Key) != "p/3" || g.More {
		t.Fatalf("next page: %+v %v", g, err)
	}
	g, err = c.Get(ctx, nil, client.WithPrefix(), client.WithCountOnly())
	if err != nil || g.Count != 5 || len(g.KVs) != 0 {
		t.Fatalf("count all: %+v %v", g, err)
	}
	d, err := c.Delete(ctx, []byte("p/"), client.WithPrefix(), client.WithPrevKV())
	if err != nil || d.Deleted != 3 || len(d.PrevKVs) != 3 {
		t.Fatalf("delete prefix: %+v %v", d, err)
	}
	_, err = c.Get(ctx, []byte("p/1"))
	var ce *client.Error
	if !errors.Is(err, client.ErrKeyNotFound) || !errors.As(err, &ce) || ce.Status != 404 {
		t.Fatalf("get deleted: %v", err)
	}
}

func TestErrors(t *testing.T) {
	n := newNode(t)
	c := newClient(t, n.srv.URL)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		c.Put(ctx, []byte("k"), []byte("v"))
	}
	n.svc.Compact(3)
	_, err := c.Get(ctx, []byte("k"), client.WithRevision(1))
	var ce *client.Error
	if !errors.Is(err, client.ErrCompacted) || !errors.As(err, &ce) || ce.CompactRevision != 3 || ce.Status != 410 {
		t.Fatalf("compacted: %#v", err)
	}
	if _, err := c.Get(ctx, []byte("k"), client.WithRevision(99)); !errors.Is(err, client.ErrFutureRevision) {
		t.Fatalf("future: %v", err)
	}
	if _, err := c.Put(ctx, nil, []byte("v")); !errors.Is(err, client.ErrKeyEmpty) {
		t.Fatalf("empty key: %v", err)
	}
	if _, err := c.Put(ctx, []byte("k"), make([]byte, service.MaxValueSize+1)); !errors.Is(err, client.ErrValueTooLarge) {
		t.Fatalf("value too large: %v", err)
	}
	if _, err := c.MemberRemove(ctx, "nobody"); !errors.Is(err, client.ErrMemberNotFound) {
		t.Fatalf("member: %v", err)
	}

	// A write that timed out: unknown outcome, still a timeout.
	n.svc.SetHook(func(string) error { return service.ErrTimeout })
	_, err = c.Put(ctx, []byte("k"), []byte("v"))
	if !errors.Is(err, client.ErrUnknownOutcome) || !errors.Is(err, client.ErrTimeout) {
		t.Fatalf("put timeout: %v", err)
	}
	// A refused write: the outcome is known.
	n.svc.SetHook(func(string) error { return service.ErrKeyTooLarge })
	if _, err := c.Put(ctx, []byte("k"), []byte("v")); errors.Is(err, client.ErrUnknownOutcome) || !errors.Is(err, client.ErrKeyTooLarge) {
		t.Fatalf("put refused: %v", err)
	}
}

func TestFailoverDeadEndpoint(t *testing.T) {
	n := newNode(t)
	c := newClient(t, deadAddr(t), n.srv.URL)
	ctx := context.Background()
	// Connection refused: even a write may move on.
	if _, err := c.Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatalf("put with first endpoint dead: %v", err)
	}
	if _, err := c.Get(ctx, []byte("k")); err != nil {
		t.Fatalf("get: %v", err)
	}
	if got := n.hits.Load(); got != 2 {
		t.Fatalf("live node got %d requests, want 2", got)
	}
}

func TestFailoverNoLeader(t *testing.T) {
	a, b := newNode(t), newNode(t)
	c := newClient(t, a.srv.URL, b.srv.URL)
	ctx := context.Background()
	a.svc.SetHook(func(string) error { return service.ErrNoLeader })
	b.svc.Put(ctx, testPut("k", "from-b"))

	// A read goes on to b.
	g, err := c.Get(ctx, []byte("k"))
	if err != nil || string(g.KVs[0].Value) != "from-b" {
		t.Fatalf("get: %+v %v", g, err)
	}
	// The client now prefers b, so a write goes straight there.
	hitsA := a.hits.Load()
	if _, err := c.Put(ctx, []byte("k2"), []byte("v")); err != nil {
		t.Fatalf("put: %v", err)
	}
	if a.hits.Load() != hitsA {
		t.Fatal("write went to the endpoint without a leader")
	}

	// A write that got no_leader is not retried elsewhere: it may have
	// been proposed.
	c2 := newClient(t, a.srv.URL, b.srv.URL)
	hitsB := b.hits.Load()
	_, err = c2.Put(ctx, []byte("k3"), []byte("v"))
	if !errors.Is(err, client.ErrNoLeader) || !errors.Is(err, client.ErrUnknownOutcome) || b.hits.Load() != hitsB {
		t.Fatalf("put to a leaderless node: %v (b hits %d -> %d)", err, hitsB, b.hits.Load())
	}
	// ... but the next call starts at b.
	if _, err := c2.Put(ctx, []byte("k3"), []byte("v")); err != nil {
		t.Fatalf("second put: %v", err)
	}
}

func TestWriteLostMidRequest(t *testing.T) {
	// The server reads the request, then drops the connection.
	var hits atomic.Int64
	drop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer drop.Close()
	n := newNode(t)
	c := newClient(t, drop.URL, n.srv.URL)
	_, err := c.Put(context.Background(), []byte("k"), []byte("v"))
	if !errors.Is(err, client.ErrUnknownOutcome) || n.hits.Load() != 0 {
		t.Fatalf("put: %v, live node hits %d", err, n.hits.Load())
	}
	// A read is retried on the next endpoint.
	n.svc.Put(context.Background(), testPut("k", "v"))
	if _, err := c.Get(context.Background(), []byte("k")); err != nil {
		t.Fatalf("get: %v", err)
	}
}

func TestAllEndpointsDownHonoursDeadline(t *testing.T) {
	c := newClient(t, deadAddr(t), deadAddr(t))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Get(ctx, []byte("k"))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("get: %v after %v", err, time.Since(start))
	}
	// Without any deadline, a call gives up after a few rounds.
	c2, _ := client.New(client.Config{Endpoints: []string{deadAddr(t)}, RequestTimeout: -1})
	if _, err := c2.Get(context.Background(), []byte("k")); err == nil {
		t.Fatal("get with no deadline succeeded against a dead endpoint")
	}
}

func TestTxn(t *testing.T) {
	n := newNode(t)
	c := newClient(t, n.srv.URL)
	ctx := context.Background()
	c.Put(ctx, []byte("k"), []byte("v1"))
	r, err := c.Txn(ctx).
		If(client.Compare(client.Value([]byte("k")), "=", "v1"),
			client.Compare(client.Version([]byte("k")), "=", 1),
			client.Compare(client.ModRevision([]byte("k")), "<", int64(10)),
			client.Compare(client.CreateRevision([]byte("k")), ">", 0),
			client.Compare(client.Exists([]byte("other")), "=", false)).
		Then(client.OpPut([]byte("k"), []byte("v2"), client.WithPrevKV()), client.OpGet([]byte("k")), client.OpDelete([]byte("x"))).
		Else(client.OpGet([]byte("k"))).
		Commit()
	if err != nil || !r.Succeeded || r.Revision != 2 || len(r.Responses) != 3 ||
		string(r.Responses[0].Put.PrevKV.Value) != "v1" || string(r.Responses[1].Get.KVs[0].Value) != "v2" ||
		r.Responses[1].Get.Revision != 2 || r.Responses[2].Delete.Deleted != 0 {
		t.Fatalf("txn: %+v %v", r, err)
	}
	r, err = c.Txn(ctx).If(client.Compare(client.Value([]byte("k")), "=", []byte("v1"))).
		Else(client.OpGet([]byte("k"), client.WithPrefix())).Commit()
	if err != nil || r.Succeeded || string(r.Responses[0].Get.KVs[0].Value) != "v2" {
		t.Fatalf("txn else: %+v %v", r, err)
	}
	for _, bad := range []client.Cmp{
		client.Compare(client.Value([]byte("k")), "==", "v"),
		client.Compare(client.Version([]byte("k")), "=", "1"),
		client.Compare(client.Exists([]byte("k")), "<", true),
		client.Value([]byte("k")),
	} {
		if _, err := c.Txn(ctx).If(bad).Commit(); err == nil {
			t.Errorf("bad compare %+v accepted", bad)
		}
	}
	_, err = c.Txn(ctx).Then(client.OpPut([]byte("a"), nil), client.OpPut([]byte("a"), nil)).Commit()
	if !errors.Is(err, client.ErrDuplicateKey) {
		t.Fatalf("duplicate: %v", err)
	}
}

func TestCluster(t *testing.T) {
	n := newNode(t)
	c := newClient(t, strings.TrimPrefix(n.srv.URL, "http://"))
	ctx := context.Background()
	ml, err := c.MemberList(ctx)
	if err != nil || len(ml.Members) != 1 || ml.Members[0].Name != "n1" || ml.Leader != ml.Members[0].ID {
		t.Fatalf("list: %+v %v", ml, err)
	}
	add, err := c.MemberAdd(ctx, client.Member{Name: "n2", PeerAddr: "h:2"})
	if err != nil || add.Member == nil || add.Member.Name != "n2" || !add.Member.Learner || len(add.Members) != 2 {
		t.Fatalf("add: %+v %v", add, err)
	}
	if _, err := c.MemberAdd(ctx, client.Member{Name: "n2", PeerAddr: "h:2"}); err != nil {
		t.Fatalf("retried add: %v", err)
	}
	if _, err := c.MemberAdd(ctx, client.Member{Name: "n2", PeerAddr: "h:3"}); !errors.Is(err, client.ErrMemberExists) {
		t.Fatalf("conflicting add: %v", err)
	}
	if id, err := c.MemberPromote(ctx, "n2"); err != nil || id != add.Member.ID {
		t.Fatalf("promote: %v %v", id, err)
	}
	if _, err := c.MemberPromote(ctx, "n2"); !errors.Is(err, client.ErrNotLearner) {
		t.Fatalf("promote twice: %v", err)
	}
	if id, err := c.MoveLeader(ctx, add.Member.ID.String()); err != nil || id != add.Member.ID {
		t.Fatalf("move leader: %v %v", id, err)
	}
	st, err := c.Status(ctx, n.srv.URL)
	if err != nil || st.Leader != add.Member.ID || st.Role != "follower" || st.Name != "n1" {
		t.Fatalf("status: %+v %v", st, err)
	}
	if id, err := c.MemberRemove(ctx, "n2"); err != nil || id != add.Member.ID {
		t.Fatalf("remove: %v %v", id, err)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := client.New(client.Config{}); err == nil {
		t.Fatal("no endpoints accepted")
	}
	if _, err := client.New(client.Config{Endpoints: []string{"ftp://x"}}); err == nil {
		t.Fatal("ftp endpoint accepted")
	}
	c, err := client.New(client.Config{Endpoints: []string{"127.0.0.1:7379", "https://h:1/"}})
	if err != nil || strings.Join(c.Endpoints(), ",") != "http://127.0.0.1:7379,https://h:1" {
		t.Fatalf("%v %v", c.Endpoints(), err)
	}
}
