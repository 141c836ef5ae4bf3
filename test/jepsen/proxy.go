package jepsen

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"time"
)

// handshakeSize is the length of the header that opens every Cairn peer
// connection: "CRFT" | version | kind | from uint64 BE | to uint64 BE (see
// internal/transport/frame.go).
const handshakeSize = 4 + 1 + 1 + 8 + 8

// link is one direction of a peer link: messages from `from` to `to`.
type link struct{ from, to uint64 }

// Net is a controllable network in front of the nodes' peer ports: one TCP
// proxy per destination node. Members advertise the proxy address, so every
// raft connection from A to B goes A -> proxy(B) -> B. The proxy reads the
// handshake to learn (from, to) and forwards or black-holes the connection
// according to the rules. Changing a rule closes every live connection whose
// link changed state; the sender reconnects with backoff and the new
// connection follows the new rule.
type Net struct {
	logf func(format string, args ...any)

	mu      sync.Mutex // guards the fields below
	blocked map[link]bool
	conns   map[*pconn]struct{}
	proxies map[uint64]*Proxy
	names   map[uint64]string
	closed  bool
}

// NewNet returns a network with every link open.
func NewNet(logf func(string, ...any)) *Net {
	return &Net{logf: logf, blocked: map[link]bool{}, conns: map[*pconn]struct{}{},
		proxies: map[uint64]*Proxy{}, names: map[uint64]string{}}
}

// Proxy accepts connections for one node and forwards them to its real
// peer address.
type Proxy struct {
	net    *Net
	id     uint64
	target string
	ln     net.Listener
	wg     sync.WaitGroup
}

// Addr is the address members dial to reach the node.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// pconn is one proxied connection.
type pconn struct {
	l          link
	client     net.Conn
	blackholed bool // set once, before the connection is shared

	mu     sync.Mutex // guards server and closed
	server net.Conn   // nil until dialed, and while black-holed
	closed bool
}

func (c *pconn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.client.Close()
	if c.server != nil {
		c.server.Close()
	}
}

// setServer attaches the dialed connection; false if already closed.
func (c *pconn) setServer(s net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		s.Close()
		return false
	}
	c.server = s
	return true
}

// AddNode starts a proxy for node id whose transport listens on target.
func (n *Net) AddNode(id uint64, name, target string) (*Proxy, error) {
	ln, err := listenFresh()
	if err != nil {
		return nil, err
	}
	p := &Proxy{net: n, id: id, target: target, ln: ln}
	n.mu.Lock()
	n.proxies[id] = p
	n.names[id] = name
	n.mu.Unlock()
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

func (p *Proxy) serve(c net.Conn) {
	var hs [handshakeSize]byte
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, hs[:]); err != nil || string(hs[:4]) != "CRFT" {
		c.Close() // not a peer connection; the node would refuse it anyway
		return
	}
	c.SetReadDeadline(time.Time{})
	l := link{from: binary.BigEndian.Uint64(hs[6:14]), to: binary.BigEndian.Uint64(hs[14:22])}
	pc := &pconn{l: l, client: c}
	if !p.net.register(pc, true) {
		c.Close()
		return
	}
	if pc.blackholed {
		// A partitioned link: accept and discard, as a network that drops
		// packets would; the sender sees no error until the rule changes.
		_, _ = io.Copy(io.Discard, c)
		p.net.unregister(pc)
		pc.close()
		return
	}
	s, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		p.net.unregister(pc)
		pc.close()
		return
	}
	if !pc.setServer(s) || !p.net.register(pc, false) { // the rule changed while dialing
		pc.close()
		return
	}
	if _, err := s.Write(hs[:]); err != nil {
		p.net.unregister(pc)
		pc.close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(s, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, s); done <- struct{}{} }()
	<-done
	pc.close()
	<-done
	p.net.unregister(pc)
}

// register records a connection. first is true on accept (decides whether
// it is black-holed); on the second call, after dialing, it fails if the
// link's state changed meanwhile.
func (n *Net) register(pc *pconn, first bool) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	if first {
		pc.blackholed = n.blocked[pc.l]
		n.conns[pc] = struct{}{}
		return true
	}
	_, ok := n.conns[pc] // removed by a rule change while dialing
	return ok && !n.blocked[pc.l]
}

func (n *Net) unregister(pc *pconn) {
	n.mu.Lock()
	delete(n.conns, pc)
	n.mu.Unlock()
}

// setBlocked installs a new set of blocked links and closes the live
// connections of every link whose state changed.
func (n *Net) setBlocked(next map[link]bool, why string) {
	n.mu.Lock()
	var victims []*pconn
	for pc := range n.conns {
		if n.blocked[pc.l] != next[pc.l] {
			victims = append(victims, pc)
			delete(n.conns, pc)
		}
	}
	n.blocked = next
	desc := n.describeLocked()
	n.mu.Unlock()
	for _, pc := range victims {
		pc.close()
	}
	n.logf("net: %s: %s (closed %d connections)", why, desc, len(victims))
}

// Heal opens every link.
func (n *Net) Heal() { n.setBlocked(map[link]bool{}, "heal") }

// Partition splits the given nodes into groups that cannot reach each
// other (both directions). Nodes in no group keep all their links.
func (n *Net) Partition(groups ...[]uint64) {
	next := map[link]bool{}
	for i, g := range groups {
		for j, h := range groups {
			if i == j {
				continue
			}
			for _, a := range g {
				for _, b := range h {
					next[link{a, b}] = true
				}
			}
		}
	}
	n.setBlocked(next, "partition")
}

// Cut blocks the given pairs in both directions and nothing else.
func (n *Net) Cut(pairs ...[2]uint64) {
	next := map[link]bool{}
	for _, p := range pairs {
		next[link{p[0], p[1]}] = true
		next[link{p[1], p[0]}] = true
	}
	n.setBlocked(next, "cut")
}

// Blocked reports whether messages from a to b are dropped.
func (n *Net) Blocked(a, b uint64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.blocked[link{a, b}]
}

// RemoveNode stops a node's proxy.
func (n *Net) RemoveNode(id uint64) {
	n.mu.Lock()
	p := n.proxies[id]
	delete(n.proxies, id)
	var victims []*pconn
	for pc := range n.conns {
		if pc.l.to == id {
			victims = append(victims, pc)
			delete(n.conns, pc)
		}
	}
	n.mu.Unlock()
	for _, pc := range victims {
		pc.close()
	}
	if p != nil {
		p.ln.Close()
		p.wg.Wait()
	}
}

// Close stops every proxy and closes every connection.
func (n *Net) Close() {
	n.mu.Lock()
	n.closed = true
	var ps []*Proxy
	for _, p := range n.proxies {
		ps = append(ps, p)
	}
	var cs []*pconn
	for pc := range n.conns {
		cs = append(cs, pc)
	}
	n.conns = map[*pconn]struct{}{}
	n.mu.Unlock()
	for _, p := range ps {
		p.ln.Close()
		p.wg.Wait()
	}
	for _, pc := range cs {
		pc.close()
	}
}

// describeLocked lists the blocked links by node name. REQUIRES: n.mu.
func (n *Net) describeLocked() string {
	if len(n.blocked) == 0 {
		return "all links open"
	}
	var s []string
	for l := range n.blocked {
		if l.from < l.to && n.blocked[link{l.to, l.from}] {
			s = append(s, n.names[l.from]+"<->"+n.names[l.to])
		} else if !n.blocked[link{l.to, l.from}] {
			s = append(s, n.names[l.from]+"->"+n.names[l.to])
		}
	}
	sort.Strings(s)
	return fmt.Sprintf("blocked %s", strings.Join(s, " "))
}
