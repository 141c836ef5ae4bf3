package transport

import (
	"bytes"
	"container/heap"
	"context"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// memQueueSize bounds each Mem endpoint's inbox, and separately the
// messages it holds back for a Delay rule.
const memQueueSize = 4096

var _ Transport = (*Mem)(nil)

// MemNetwork connects Mem endpoints in one process, for tests. Fault rules
// can be changed at any time from any goroutine and apply to messages sent
// afterwards; snapshots obey them too.
//
// A message from a to b is lost (silently, like a packet) when any of these
// holds: a and b are on different sides of a Partition, either is
// Isolated, a Cut(a, b) is in force, or a Drop(a, b, p) rule fires. It is
// reported unreachable to a's handler, as TCP would, when b was never added
// with a.AddPeer, when b has no open endpoint, or when b's inbox is full.
//
// Delivery is asynchronous: each endpoint has one goroutine that calls its
// Handler, in the order messages were sent per (from, to) pair. A Delay
// rule holds messages back for a random time in [lo, hi], so delayed
// messages may overtake each other or be overtaken by later undelayed ones
// (as on a real network with reconnects); with lo == hi order is kept. An
// endpoint holds at most memQueueSize delayed messages; more are lost.
//
// A receiver whose Handler implements RemovalHandler drops messages from
// senders it knows as removed and calls the sender's RemovalHandler.Removed
// (unless fault rules block the way back), as TCP does.
//
// Messages are deep-copied on Send, so sender and receiver never share
// memory, as over TCP.
type MemNetwork struct {
	// mu guards the fields below. Lock order: MemNetwork.mu, then Mem.mu.
	mu       sync.Mutex
	nodes    map[uint64]*Mem
	sides    map[uint64]int // partition side per listed node; nil when not partitioned
	isolated map[uint64]bool
	cuts     map[link]bool
	drops    map[link]float64
	delays   map[link][2]time.Duration
	rng      *rand.Rand
}

// link is a directed pair of nodes; 0 in a rule matches any node.
type link struct{ from, to uint64 }

// NewMemNetwork returns an empty network with no faults and RNG seed 1.
func NewMemNetwork() *MemNetwork {
	n := &MemNetwork{nodes: make(map[uint64]*Mem)}
	n.Heal()
	n.SetSeed(1)
	return n
}

// Transport creates the endpoint of node id, whose messages are delivered
// to h. If id already has an endpoint, that one is closed and replaced,
// which models a node restart.
func (n *MemNetwork) Transport(id uint64, h Handler) *Mem {
	e := &Mem{
		net:   n,
		id:    id,
		h:     h,
		inbox: make(chan memEnvelope, memQueueSize),
		peers: make(map[uint64]bool),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	n.mu.Lock()
	old := n.nodes[id]
	n.nodes[id] = e
	n.mu.Unlock()
	if old != nil {
		old.Close()
	}
	e.wg.Add(1)
	go e.run()
	return e
}

// Partition splits the network: each listed group is one side, and all
// nodes not listed form one more side together. Nodes on different sides
// cannot talk. It replaces any previous partition; Isolate, Cut, Drop and
// Delay rules stay in force.
func (n *MemNetwork) Partition(groups ...[]uint64) {
	sides := make(map[uint64]int)
	for i, g := range groups {
		for _, id := range g {
			sides[id] = i + 1 // side 0 is everyone unlisted
		}
	}
	n.mu.Lock()
	n.sides = sides
	n.mu.Unlock()
}

// Isolate cuts node id off from every other node, in both directions.
func (n *MemNetwork) Isolate(id uint64) {
	n.mu.Lock()
	n.isolated[id] = true
	n.mu.Unlock()
}

// Cut drops every message from `from` to `to` (one direction only). Either
// may be 0 to match any node.
func (n *MemNetwork) Cut(from, to uint64) {
	n.mu.Lock()
	n.cuts[link{from, to}] = true
	n.mu.Unlock()
}

// Drop loses each message from `from` to `to` with probability prob, using
// the network's seeded RNG. Either node may be 0 to match any node; prob 0
// removes the rule. The most specific rule wins.
func (n *MemNetwork) Drop(from, to uint64, prob float64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if prob <= 0 {
		delete(n.drops, link{from, to})
		return
	}
	n.drops[link{from, to}] = prob
}

// Delay holds back each message from `from` to `to` for a uniformly random
// duration in [lo, hi]. Either node may be 0 to match any node; hi 0
// removes the rule. The most specific rule wins.
func (n *MemNetwork) Delay(from, to uint64, lo, hi time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if hi <= 0 {
		delete(n.delays, link{from, to})
		return
	}
	lo = max(lo, 0)
	n.delays[link{from, to}] = [2]time.Duration{lo, max(lo, hi)}
}

// Heal removes every fault rule: partitions, isolation, cuts, drops and
// delays. Messages already delayed are still delivered.
func (n *MemNetwork) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sides = nil
	n.isolated = make(map[uint64]bool)
	n.cuts = make(map[link]bool)
	n.drops = make(map[link]float64)
	n.delays = make(map[link][2]time.Duration)
}

// SetSeed reseeds the RNG behind Drop and Delay.
func (n *MemNetwork) SetSeed(seed int64) {
	n.mu.Lock()
	n.rng = rand.New(rand.NewPCG(uint64(seed), 0))
	n.mu.Unlock()
}

// Close closes every endpoint.
func (n *MemNetwork) Close() {
	n.mu.Lock()
	nodes := make([]*Mem, 0, len(n.nodes))
	for _, e := range n.nodes {
		nodes = append(nodes, e)
	}
	n.mu.Unlock()
	for _, e := range nodes {
		e.Close()
	}
}

// verdict is the fate route assigns to one message.
type verdict int

const (
	deliver     verdict = iota
	lost                // dropped silently by a fault rule
	unreachable         // no open endpoint for the destination
)

// route decides what happens to a message from -> to now.
func (n *MemNetwork) route(from, to uint64) (*Mem, time.Duration, verdict) {
	n.mu.Lock()
	defer n.mu.Unlock()
	dst := n.nodes[to]
	if dst == nil || dst.closed.Load() {
		return nil, 0, unreachable
	}
	if n.blockedLocked(from, to) {
		return nil, 0, lost
	}
	if p, ok := lookup(n.drops, from, to); ok && n.rng.Float64() < p {
		return nil, 0, lost
	}
	var delay time.Duration
	if d, ok := lookup(n.delays, from, to); ok {
		delay = d[0] + time.Duration(n.rng.Int64N(int64(d[1]-d[0])+1))
	}
	return dst, delay, deliver
}

// blockedLocked reports whether partitions, isolation or cuts separate
// from and to. REQUIRES: n.mu.
func (n *MemNetwork) blockedLocked(from, to uint64) bool {
	if n.isolated[from] || n.isolated[to] {
		return true
	}
	if _, cut := lookup(n.cuts, from, to); cut {
		return true
	}
	return n.sides != nil && n.sides[from] != n.sides[to]
}

// lookup finds the most specific rule for from -> to.
func lookup[V any](rules map[link]V, from, to uint64) (V, bool) {
	for _, k := range [...]link{{from, to}, {from, 0}, {0, to}, {0, 0}} {
		if v, ok := rules[k]; ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// Mem is one node's endpoint on a MemNetwork.
type Mem struct {
	net    *MemNetwork
	id     uint64
	h      Handler
	inbox  chan memEnvelope
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	closed atomic.Bool
	seq    atomic.Uint64 // orders messages with equal delivery times

	// mu guards peers and wg.Add after Close.
	mu    sync.Mutex
	peers map[uint64]bool
	wg    sync.WaitGroup
}

type memEnvelope struct {
	from  uint64
	group uint64
	m     *pb.Message
	at    time.Time // zero: deliver at once
	seq   uint64
}

// Send implements Transport. Messages to peers never added, to nodes
// without an open endpoint or to a full inbox are dropped and reported
// unreachable on the caller's goroutine.
func (e *Mem) Send(group uint64, msgs []*pb.Message) {
	if e.closed.Load() {
		return
	}
	for _, m := range msgs {
		if !e.send(group, m) {
			e.h.ReportUnreachable(group, m.GetTo())
		}
	}
}

// send routes one message; false means report it unreachable.
func (e *Mem) send(group uint64, m *pb.Message) bool {
	to := m.GetTo()
	if !e.knows(to) {
		return false
	}
	dst, delay, v := e.net.route(e.id, to)
	switch v {
	case unreachable:
		return false
	case lost:
		return true
	}
	env := memEnvelope{from: e.id, group: group, m: proto.CloneOf(m), seq: e.seq.Add(1)}
	if delay > 0 {
		env.at = time.Now().Add(delay)
	}
	select {
	case dst.inbox <- env:
		return true
	default:
		return false
	}
}

// SendSnapshot implements Transport. The body is read into memory and
// handed to the receiver's ReceiveSnapshot from a goroutine of this
// endpoint, which then calls ReportSnapshot; fault rules apply (a lost
// snapshot is reported failed).
func (e *Mem) SendSnapshot(group uint64, m *pb.Message, body io.ReadCloser) {
	m = proto.CloneOf(m)
	if !e.spawn(func() { e.sendSnapshot(group, m, body) }) {
		body.Close()
	}
}

func (e *Mem) sendSnapshot(group uint64, m *pb.Message, body io.ReadCloser) {
	// Close unblocks a stalled body by closing it.
	closeBody := sync.OnceValue(body.Close)
	stop := context.AfterFunc(e.ctx, func() { closeBody() })
	data, err := io.ReadAll(body)
	stop()
	closeBody()
	ok := err == nil && e.knows(m.GetTo()) && e.deliverSnapshot(group, m, data)
	e.h.ReportSnapshot(group, m.GetTo(), !ok)
}

func (e *Mem) deliverSnapshot(group uint64, m *pb.Message, data []byte) bool {
	dst, delay, v := e.net.route(e.id, m.GetTo())
	if v != deliver {
		return false
	}
	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-e.ctx.Done():
			return false
		}
	}
	// Run the handler as a goroutine of the receiver, so that its Close
	// waits for it.
	result := make(chan error, 1)
	if !dst.spawn(func() { result <- dst.h.ReceiveSnapshot(group, m, bytes.NewReader(data)) }) {
		return false
	}
	select {
	case err := <-result:
		return err == nil
	case <-e.ctx.Done():
		return false
	}
}

// AddPeer implements Transport; Mem only records that id is known.
func (e *Mem) AddPeer(id uint64, _ string) {
	e.mu.Lock()
	e.peers[id] = true
	e.mu.Unlock()
}

// RemovePeer implements Transport.
func (e *Mem) RemovePeer(id uint64) {
	e.mu.Lock()
	delete(e.peers, id)
	e.mu.Unlock()
}

func (e *Mem) knows(id uint64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.peers[id]
}

// Close implements Transport. It stops the endpoint's goroutines and waits
// for them; messages still queued for it are discarded.
func (e *Mem) Close() error {
	e.mu.Lock()
	if e.closed.Swap(true) {
		e.mu.Unlock()
		return nil
	}
	e.cancel()
	e.mu.Unlock()
	e.wg.Wait()
	return nil
}

// spawn runs fn in a tracked goroutine unless the endpoint is closed.
func (e *Mem) spawn(fn func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed.Load() {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		fn()
	}()
	return true
}

// run delivers the inbox to the Handler, holding delayed messages in a
// heap until they are due.
func (e *Mem) run() {
	defer e.wg.Done()
	var held envelopeHeap
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var due <-chan time.Time
		if len(held) > 0 {
			timer.Reset(time.Until(held[0].at))
			due = timer.C
		}
		select {
		case <-e.ctx.Done():
			return
		case env := <-e.inbox:
			switch {
			case env.at.IsZero():
				e.deliver(env)
			case len(held) < memQueueSize:
				heap.Push(&held, env)
			}
		case <-due:
			for now := time.Now(); len(held) > 0 && !held[0].at.After(now); {
				env := heap.Pop(&held).(memEnvelope)
				e.deliver(env)
			}
		}
	}
}

// deliver hands env to the handler, unless the handler knows its sender as
// removed from the cluster: then the message is dropped and the sender's
// handler is told it was refused, as TCP does.
func (e *Mem) deliver(env memEnvelope) {
	if rh := removalHandler(e.h); rh != nil && rh.IsRemoved(env.from) {
		e.net.mu.Lock()
		src := e.net.nodes[env.from]
		if src != nil && e.net.blockedLocked(e.id, env.from) {
			src = nil // the refusal cannot travel back
		}
		e.net.mu.Unlock()
		if src != nil {
			if srh := removalHandler(src.h); srh != nil {
				src.spawn(func() { srh.Removed(e.id) })
			}
		}
		return
	}
	e.h.Receive(env.group, env.m)
}

// envelopeHeap orders delayed messages by delivery time, then send order.
type envelopeHeap []memEnvelope

func (h envelopeHeap) Len() int { return len(h) }
func (h envelopeHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h envelopeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *envelopeHeap) Push(x any)   { *h = append(*h, x.(memEnvelope)) }
func (h *envelopeHeap) Pop() any {
	old := *h
	env := old[len(old)-1]
	*h = old[:len(old)-1]
	return env
}
