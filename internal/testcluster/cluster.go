// Package testcluster runs in-process Cairn clusters for tests: real
// servers (storage, raft, state machine, service, HTTP on loopback) whose
// peer traffic goes through an in-memory network that tests can partition,
// drop and delay.
package testcluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/membership"
	"github.com/cairndb/cairn/internal/server"
	"github.com/cairndb/cairn/internal/transport"
)

// Options tune a cluster.
type Options struct {
	TickInterval   time.Duration // default 20ms
	ElectionTicks  int           // default 10
	CompactEntries uint64        // raft log compaction threshold (default: server's)
	CatchUpEntries uint64
	Verbose        bool // log at debug level to the test log
	// Configure, if set, adjusts every node's configuration before it
	// starts (after the cluster's own settings).
	Configure func(*server.Config)
}

// Cluster is a set of in-process nodes on one in-memory network.
type Cluster struct {
	t    testing.TB
	opts Options
	Net  *transport.MemNetwork
	dir  string

	mu    sync.Mutex // guards nodes
	nodes map[string]*Node
	order []string
}

// ElectionTimeout is the members' election timeout: a new leader gives
// every lease its TTL plus this much.
func (c *Cluster) ElectionTimeout() time.Duration {
	return time.Duration(c.opts.ElectionTicks) * c.opts.TickInterval
}

// Node is one member; Server is nil while the node is stopped.
type Node struct {
	Name     string
	ID       uint64
	Dir      string
	PeerAddr string
	Server   *server.Server
}

// New starts an n-node cluster named n1..nN and waits for a leader.
func New(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if opts.TickInterval == 0 {
		opts.TickInterval = 20 * time.Millisecond
	}
	if opts.ElectionTicks == 0 {
		opts.ElectionTicks = 10
	}
	c := &Cluster{t: t, opts: opts, Net: transport.NewMemNetwork(), dir: t.TempDir(), nodes: map[string]*Node{}}
	var initial []string
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("n%d", i)
		nd := &Node{Name: name, ID: membership.IDFromName(name), Dir: filepath.Join(c.dir, name), PeerAddr: fmt.Sprintf("127.0.0.1:%d", 10000+i)}
		c.nodes[name] = nd
		c.order = append(c.order, name)
		initial = append(initial, name+"="+nd.PeerAddr)
	}
	ic := strings.Join(initial, ",")
	for _, name := range c.order {
		c.start(c.nodes[name], func(cfg *server.Config) { cfg.InitialCluster = ic })
	}
	t.Cleanup(c.Close)
	c.WaitLeader(10 * time.Second)
	return c
}

func (c *Cluster) logger(name string) *slog.Logger {
	level := slog.LevelWarn
	if c.opts.Verbose {
		level = slog.LevelDebug
	}
	if os.Getenv("CAIRN_TEST_LOG") != "" {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(testWriter{c.t}, &slog.HandlerOptions{Level: level})).With("test_node", name)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (c *Cluster) start(nd *Node, mod func(*server.Config)) {
	c.t.Helper()
	cfg := server.Config{
		Name: nd.Name, DataDir: nd.Dir, ListenPeer: nd.PeerAddr,
		ListenHTTP: "127.0.0.1:0", ListenRESP: "127.0.0.1:0",
		Logger:       c.logger(nd.Name),
		TickInterval: c.opts.TickInterval, ElectionTicks: c.opts.ElectionTicks,
		CompactEntries: c.opts.CompactEntries, CatchUpEntries: c.opts.CatchUpEntries,
		NewTransport: func(id uint64, h transport.Handler) (transport.Transport, error) {
			return c.Net.Transport(id, h), nil
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	if c.opts.Configure != nil {
		c.opts.Configure(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		c.t.Fatalf("start %s: %v", nd.Name, err)
	}
	c.mu.Lock()
	nd.Server = srv
	c.mu.Unlock()
}

// Node returns the node with the given name.
func (c *Cluster) Node(name string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	nd, ok := c.nodes[name]
	if !ok {
		c.t.Fatalf("no node %q", name)
	}
	return nd
}

// Running returns snapshots of the nodes that are currently running, in
// creation order. They are copies, so a concurrent Stop cannot change the
// Server a caller holds (that server may then be stopped: calls on it fail
// with ErrStopped). Compare nodes by ID.
func (c *Cluster) Running() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Node
	for _, name := range c.order {
		if nd := c.nodes[name]; nd.Server != nil {
			cp := *nd
			out = append(out, &cp)
		}
	}
	return out
}

// Stop stops a node (gracefully: its data stays on disk).
func (c *Cluster) Stop(name string) {
	nd := c.Node(name)
	c.mu.Lock()
	srv := nd.Server
	nd.Server = nil
	c.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}

// Restart starts a stopped node again from its data directory.
func (c *Cluster) Restart(name string) {
	c.t.Helper()
	nd := c.Node(name)
	if nd.Server != nil {
		c.t.Fatalf("restart %s: still running", name)
	}
	c.start(nd, nil)
}

// Add starts a new node that joins the cluster through a running member.
func (c *Cluster) Add(name string, readOnly bool) *Node {
	c.t.Helper()
	c.mu.Lock()
	i := len(c.order) + 1
	nd := &Node{Name: name, ID: membership.IDFromName(name), Dir: filepath.Join(c.dir, name), PeerAddr: fmt.Sprintf("127.0.0.1:%d", 10000+i)}
	c.nodes[name] = nd
	c.order = append(c.order, name)
	c.mu.Unlock()
	via := c.Running()[0].Server.HTTPAddr()
	c.start(nd, func(cfg *server.Config) { cfg.Join = via; cfg.Learner = readOnly })
	return nd
}

// Close stops every node and the network.
func (c *Cluster) Close() {
	for _, nd := range c.Running() {
		c.Stop(nd.Name)
	}
	c.Net.Close()
}

// WaitLeader waits until every running node agrees on one leader that is
// itself running, and returns it.
func (c *Cluster) WaitLeader(timeout time.Duration) *Node {
	c.t.Helper()
	var leader *Node
	c.Eventually(timeout, "agreed leader", func() error {
		nodes := c.Running()
		var lead uint64
		for _, nd := range nodes {
			l := nd.Server.Node().Leader()
			if l == 0 || (lead != 0 && l != lead) {
				return fmt.Errorf("%s sees leader %x, others %x", nd.Name, l, lead)
			}
			lead = l
		}
		for _, nd := range nodes {
			if nd.ID == lead {
				leader = nd
				return nil
			}
		}
		return fmt.Errorf("leader %x is not running", lead)
	})
	return leader
}

// Eventually retries fn until it succeeds or timeout passes, then fails
// the test with fn's last error.
func (c *Cluster) Eventually(timeout time.Duration, what string, fn func() error) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %v waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(wait)
		wait = min(wait*2, 50*time.Millisecond)
	}
}
