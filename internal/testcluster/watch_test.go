package testcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/client"
	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/server"
	"github.com/cairndb/cairn/internal/watch"
)

// change is one committed change, as writers saw it acknowledged and as
// watchers receive it.
type change struct {
	rev   int64
	typ   string
	key   string
	value string
}

func (c change) String() string { return fmt.Sprintf("%d:%s:%s=%s", c.rev, c.typ, c.key, c.value) }

// history records acknowledged single-key writes. Each one has its own
// revision, so together they are the full committed sequence.
type history struct {
	mu      sync.Mutex
	changes []change
}

func (h *history) add(c change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changes = append(h.changes, c)
}

// last is the highest acknowledged revision.
func (h *history) last() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var r int64
	for _, c := range h.changes {
		r = max(r, c.rev)
	}
	return r
}

// selected returns the recorded changes at or after start whose key
// match accepts, in revision order; it checks every revision in
// [1, last] is accounted for exactly once.
func (h *history) selected(t *testing.T, start int64, match func(string) bool) []change {
	t.Helper()
	h.mu.Lock()
	all := slices.Clone(h.changes)
	h.mu.Unlock()
	slices.SortFunc(all, func(a, b change) int { return int(a.rev - b.rev) })
	for i, c := range all {
		if c.rev != int64(i)+1 {
			t.Fatalf("revision %d missing or duplicated in the write history (at %d)", i+1, c.rev)
		}
	}
	var out []change
	for _, c := range all {
		if c.rev >= start && match(c.key) {
			out = append(out, c)
		}
	}
	return out
}

// writers run n goroutines of random puts and deletes over keys k00..k19
// through the nodes pick returns until stop is closed.
func writers(t *testing.T, pick func() []*Node, h *history, n int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				nodes := pick()
				nd := nodes[rng.IntN(len(nodes))]
				svc := nd.Server.Service()
				k := fmt.Sprintf("k%02d", rng.IntN(20))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if rng.IntN(4) == 0 {
					res, err := svc.Delete(ctx, &command.DeleteRequest{Key: []byte(k)})
					if err == nil && res.Delete.Deleted > 0 {
						h.add(change{rev: res.Revision, typ: "delete", key: k})
					} else if err != nil && !errors.Is(err, context.Canceled) {
						t.Errorf("delete %s: %v", k, err)
					}
				} else {
					v := fmt.Sprintf("w%d-%d", w, i)
					res, err := svc.Put(ctx, &command.PutRequest{Key: []byte(k), Value: []byte(v)})
					if err == nil {
						h.add(change{rev: res.Revision, typ: "put", key: k, value: v})
					} else {
						t.Errorf("put %s: %v", k, err)
					}
				}
				cancel()
			}
		}()
	}
	return &wg
}

func endpoints(c *Cluster) []string {
	var eps []string
	for _, nd := range c.Running() {
		eps = append(eps, nd.Server.HTTPAddr())
	}
	return eps
}

// collect reads a client watch until it has seen revision until (by an
// event or a progress notification).
func collect(t *testing.T, ch <-chan client.Event, until int64, timeout time.Duration) []change {
	t.Helper()
	var got []change
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("watch channel closed after %d events", len(got))
			}
			switch ev.Type {
			case "error":
				t.Fatalf("watch failed: %v", ev.Err)
			case "progress":
			default:
				got = append(got, change{rev: ev.Revision, typ: ev.Type, key: string(ev.Key), value: string(ev.Value)})
			}
			if ev.Revision >= until {
				return got
			}
		case <-deadline:
			t.Fatalf("timed out at %d events waiting for revision %d", len(got), until)
		}
	}
}

func diffChanges(t *testing.T, name string, got, want []change) {
	t.Helper()
	if len(got) == len(want) {
		same := true
		for i := range got {
			if got[i] != want[i] {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i].String()
		}
		if i < len(want) {
			w = want[i].String()
		}
		if g != w {
			t.Fatalf("%s: %d events, want %d; first difference at %d: got %s, want %s", name, len(got), len(want), i, g, w)
		}
	}
}

// TestWatchExact: concurrent writers on many keys; a watcher from
// revision 1 and several that join later (other nodes, prefixes, single
// keys) each see exactly the committed sequence for their key set.
func TestWatchExact(t *testing.T) {
	c := New(t, 3, Options{})
	cl, err := client.New(client.Config{Endpoints: endpoints(c)})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	type watcher struct {
		name  string
		start int64
		match func(string) bool
		ch    <-chan client.Event
	}
	var watchers []watcher
	all := func(string) bool { return true }
	watchers = append(watchers, watcher{"all-from-1", 1, all, cl.Watch(ctx, []byte("k"), client.WithPrefix(), client.WithRevision(1))})

	h := &history{}
	stop := make(chan struct{})
	wg := writers(t, c.Running, h, 4, stop)
	waitRev := func(r int64) {
		c.Eventually(10*time.Second, "writes", func() error {
			if got := c.Running()[0].Server.Service().Revision(); got < r {
				return fmt.Errorf("at revision %d", got)
			}
			return nil
		})
	}
	for i, nd := range c.Running() {
		waitRev(int64(60 * (i + 1)))
		ncl, err := client.New(client.Config{Endpoints: []string{nd.Server.HTTPAddr()}})
		if err != nil {
			t.Fatal(err)
		}
		defer ncl.Close()
		rev := nd.Server.Service().Revision()
		start := max(1, rev-25) // some history, then live
		p := fmt.Sprintf("k%d", i)
		watchers = append(watchers,
			watcher{"prefix-" + p + "@" + nd.Name, start, func(k string) bool { return strings.HasPrefix(k, p) },
				ncl.Watch(ctx, []byte(p), client.WithPrefix(), client.WithRevision(start))},
			watcher{"key-k05@" + nd.Name, start + 3, func(k string) bool { return k == "k05" },
				ncl.Watch(ctx, []byte("k05"), client.WithRevision(start+3))})
	}
	waitRev(300)
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}
	last := h.last()
	for _, w := range watchers {
		got := collect(t, w.ch, last, 20*time.Second)
		diffChanges(t, w.name, got, h.selected(t, w.start, w.match))
	}
}

// TestWatchResumeAfterCompaction: a watch from a compacted revision fails
// with the oldest available revision; re-reading and resuming from there
// works.
func TestWatchResumeAfterCompaction(t *testing.T) {
	c := New(t, 3, Options{})
	leader := c.WaitLeader(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 10 {
		if _, err := put(ctx, leader, "c", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := leader.Server.Service().Compact(ctx, 6); err != nil {
		t.Fatal(err)
	}
	// Every node applies the compaction (followers a little later).
	c.Eventually(10*time.Second, "compaction applied everywhere", func() error {
		for _, nd := range c.Running() {
			st, err := nd.Server.Service().Status(ctx)
			if err != nil {
				return err
			}
			if st.Compacted != 6 {
				return fmt.Errorf("%s compacted to %d", nd.Name, st.Compacted)
			}
		}
		return nil
	})
	cl, err := client.New(client.Config{Endpoints: endpoints(c)})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ev := <-cl.Watch(ctx, []byte("c"), client.WithRevision(2))
	var ce *client.Error
	if ev.Type != "error" || !errors.Is(ev.Err, client.ErrCompacted) || !errors.As(ev.Err, &ce) || ce.CompactRevision != 6 {
		t.Fatalf("watch from a compacted revision: %+v", ev)
	}
	if !strings.Contains(ev.Err.Error(), "oldest available revision is 7") {
		t.Fatalf("error does not name the oldest revision: %v", ev.Err)
	}
	// Re-read at the horizon, then resume after it.
	g, err := cl.Get(ctx, []byte("c"), client.WithRevision(ce.CompactRevision))
	if err != nil || len(g.KVs) != 1 || string(g.KVs[0].Value) != "5" {
		t.Fatalf("get at the horizon: %+v, %v", g, err)
	}
	got := collect(t, cl.Watch(ctx, []byte("c"), client.WithRevision(ce.CompactRevision+1)), 10, 10*time.Second)
	want := []change{{7, "put", "c", "6"}, {8, "put", "c", "7"}, {9, "put", "c", "8"}, {10, "put", "c", "9"}}
	diffChanges(t, "resumed", got, want)
}

// TestWatchSlowConsumerResumes: a consumer that does not keep up is
// cancelled by the server (small buffers), and the client resumes from
// its last revision without a gap or duplicate.
func TestWatchSlowConsumerResumes(t *testing.T) {
	c := New(t, 1, Options{Configure: func(cfg *server.Config) {
		cfg.Watch = watch.Config{Buffer: 4}
	}})
	nd := c.WaitLeader(10 * time.Second)
	cl, err := client.New(client.Config{Endpoints: endpoints(c)})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := cl.Watch(ctx, []byte("s"), client.WithPrefix(), client.WithRevision(1))
	h := &history{}
	// Writes in large concurrent batches overflow the 4-event queue while
	// nobody reads the channel.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 150 {
				k, v := fmt.Sprintf("s%d", w), fmt.Sprintf("%d-%d-%s", w, i, strings.Repeat("x", 2000))
				res, err := put(context.Background(), nd, k, v)
				if err != nil {
					t.Error(err)
					return
				}
				h.add(change{rev: res.Revision, typ: "put", key: k, value: v})
			}
		}()
	}
	wg.Wait()
	got := collect(t, ch, h.last(), 30*time.Second)
	diffChanges(t, "slow consumer", got, h.selected(t, 1, func(string) bool { return true }))
	if n := nd.Server.Service().Hub().SlowConsumerCancels(); n == 0 {
		t.Fatalf("no watcher was cancelled as a slow consumer: the test did not exercise resumption")
	}
}

// TestWatchSurvivesNodeStop: the node serving a watch stops mid-stream;
// the client resumes on another node from its last revision.
func TestWatchSurvivesNodeStop(t *testing.T) {
	c := New(t, 3, Options{})
	// n1 must not lead: stopping it then fails no write in flight.
	if c.WaitLeader(10*time.Second).Name == "n1" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.Node("n1").Server.Service().TransferLeader(ctx, c.Node("n2").ID)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		c.Eventually(10*time.Second, "leader moved off n1", func() error {
			if l := c.WaitLeader(10 * time.Second); l.Name == "n1" {
				return errors.New("n1 still leads")
			}
			return nil
		})
	}
	// The client tries endpoints in order: n1 serves the watch.
	var eps []string
	for _, name := range []string{"n1", "n2", "n3"} {
		eps = append(eps, c.Node(name).Server.HTTPAddr())
	}
	cl, err := client.New(client.Config{Endpoints: eps})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := cl.Watch(ctx, []byte("k"), client.WithPrefix(), client.WithRevision(1), client.WithProgressInterval(200*time.Millisecond))
	h := &history{}
	stop := make(chan struct{})
	// Writers use n2 and n3 only, so stopping n1 fails no write.
	n2, n3 := c.Node("n2"), c.Node("n3")
	wg := writers(t, func() []*Node { return []*Node{n2, n3} }, h, 3, stop)
	c.Eventually(10*time.Second, "writes", func() error {
		if r := c.Node("n2").Server.Service().Revision(); r < 80 {
			return fmt.Errorf("at %d", r)
		}
		return nil
	})
	c.Stop("n1")
	c.Eventually(10*time.Second, "more writes", func() error {
		if r := c.Node("n2").Server.Service().Revision(); r < 200 {
			return fmt.Errorf("at %d", r)
		}
		return nil
	})
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}
	got := collect(t, ch, h.last(), 30*time.Second)
	diffChanges(t, "across a node stop", got, h.selected(t, 1, func(string) bool { return true }))
}

// cutProxy forwards TCP connections to target until cut, which closes
// the listener and every connection at once, as a crashed node would.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// TestWatchSurvivesConnectionLoss: the connection to the serving node
// breaks without a goodbye (a crash, as the client sees it); the client
// resumes on another node.
func TestWatchSurvivesConnectionLoss(t *testing.T) {
	c := New(t, 3, Options{})
	proxy := newCutProxy(t, c.Node("n1").Server.HTTPAddr())
	cl, err := client.New(client.Config{Endpoints: []string{proxy.ln.Addr().String(),
		c.Node("n2").Server.HTTPAddr(), c.Node("n3").Server.HTTPAddr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := cl.Watch(ctx, []byte("k"), client.WithPrefix(), client.WithRevision(1))
	h := &history{}
	stop := make(chan struct{})
	wg := writers(t, c.Running, h, 3, stop)
	rev := func() int64 { return c.Node("n2").Server.Service().Revision() }
	c.Eventually(10*time.Second, "writes", func() error {
		if r := rev(); r < 80 {
			return fmt.Errorf("at %d", r)
		}
		return nil
	})
	proxy.cut()
	c.Eventually(10*time.Second, "more writes", func() error {
		if r := rev(); r < 200 {
			return fmt.Errorf("at %d", r)
		}
		return nil
	})
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}
	got := collect(t, ch, h.last(), 30*time.Second)
	diffChanges(t, "across a broken connection", got, h.selected(t, 1, func(string) bool { return true }))
}
