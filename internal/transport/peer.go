package transport

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// envelope is one queued outbound message.
type envelope struct {
	group uint64
	m     *pb.Message
}

// peer owns the outbound message stream to one remote node. Send enqueues
// into queue from any goroutine; everything else belongs to the run
// goroutine.
type peer struct {
	t      *TCP
	id     uint64
	addr   string
	queue  chan envelope
	ctx    context.Context // cancelled by RemovePeer, AddPeer (new addr) and Close
	cancel context.CancelFunc

	// Owned by run.
	groups  map[uint64]struct{} // groups seen, to report unreachable on failure
	bw      *bufio.Writer       // reused across connections
	scratch []byte              // encode buffer for one frame, reused
}

func newPeer(t *TCP, id uint64, addr string) *peer {
	p := &peer{
		t:      t,
		id:     id,
		addr:   addr,
		queue:  make(chan envelope, t.cfg.QueueSize),
		groups: make(map[uint64]struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(t.ctx)
	return p
}

// enqueue adds m to the queue without blocking; false if the queue is full.
func (p *peer) enqueue(group uint64, m *pb.Message) bool {
	select {
	case p.queue <- envelope{group: group, m: m}:
		return true
	default:
		return false
	}
}

// run connects, streams, and reconnects with backoff until the peer is
// stopped.
func (p *peer) run() {
	defer p.t.wg.Done()
	b := backoff{min: p.t.cfg.BackoffMin, max: p.t.cfg.BackoffMax}
	for {
		connected, err := p.connectAndStream()
		if p.ctx.Err() != nil {
			return
		}
		if connected {
			b.reset()
		}
		p.t.log.Debug("transport: peer stream down",
			"peer", fmt.Sprintf("%x", p.id), "addr", p.addr, "err", err)
		p.reportUnreachable()
		if !p.dropUntil(time.Now().Add(b.next())) {
			return
		}
	}
}

// connectAndStream dials the peer and writes queued messages until the
// connection fails. connected reports whether the dial succeeded.
func (p *peer) connectAndStream() (connected bool, err error) {
	conn, err := p.t.dialer.DialContext(p.ctx, "tcp", p.addr)
	if err != nil {
		return false, fmt.Errorf("transport: dial %s: %w", p.addr, err)
	}
	stop := context.AfterFunc(p.ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()

	// The receiver never writes on a stream except to refuse a removed
	// member; a Read returning means the connection is gone (or the peer
	// misbehaves, which we treat the same).
	lost := make(chan struct{})
	p.t.wg.Add(1) // run is counted, so this cannot race with Close's Wait
	go func() {
		defer p.t.wg.Done()
		defer close(lost)
		var b [1]byte
		if n, _ := conn.Read(b[:]); n == 1 && b[0] == refusedRemoved && p.t.rh != nil && p.ctx.Err() == nil {
			p.t.log.Warn("transport: peer refused this node: it knows it as removed from the cluster",
				"peer", fmt.Sprintf("%x", p.id), "addr", p.addr)
			p.t.rh.Removed(p.id)
		}
	}()

	if p.bw == nil {
		p.bw = bufio.NewWriterSize(conn, writeBufSize)
	} else {
		p.bw.Reset(conn)
	}
	return true, p.stream(conn, lost)
}

// stream writes the handshake, then batches of queued messages.
func (p *peer) stream(conn net.Conn, lost <-chan struct{}) error {
	conn.SetWriteDeadline(time.Now().Add(p.t.cfg.WriteTimeout))
	hs := handshake{kind: kindStream, from: p.t.cfg.ID, to: p.id}
	p.scratch = hs.append(p.scratch[:0])
	p.bw.Write(p.scratch)
	if err := p.bw.Flush(); err != nil {
		return fmt.Errorf("transport: write handshake: %w", err)
	}
	for {
		select {
		case <-p.ctx.Done():
			return ErrClosed
		case <-lost:
			return errConnLost
		case env := <-p.queue:
			if err := p.writeBatch(conn, env); err != nil {
				return err
			}
		}
	}
}

// writeBatch writes first and everything queued behind it, then flushes
// once. The batch is bounded by the queue length seen on entry so a steady
// producer cannot postpone the flush forever.
func (p *peer) writeBatch(conn net.Conn, first envelope) error {
	conn.SetWriteDeadline(time.Now().Add(p.t.cfg.WriteTimeout))
	if err := p.writeMsg(first); err != nil {
		return err
	}
	for n := len(p.queue); n > 0; n-- {
		if err := p.writeMsg(<-p.queue); err != nil { // only run receives: cannot block
			return err
		}
	}
	if err := p.bw.Flush(); err != nil {
		return fmt.Errorf("transport: write to %x: %w", p.id, err)
	}
	p.t.stats.batches.Add(1)
	return nil
}

// writeMsg encodes one message into the buffered writer. A message that
// cannot be encoded is dropped (and reported) without failing the stream.
func (p *peer) writeMsg(env envelope) error {
	p.noteGroup(env.group)
	buf, err := appendMsgFrame(p.scratch[:0], frameMsg, env.group, env.m, p.t.cfg.MaxFrameSize)
	if err != nil {
		p.t.log.Warn("transport: dropping unencodable message", "err", err)
		p.t.cfg.Handler.ReportUnreachable(env.group, p.id)
		return nil
	}
	p.scratch = buf
	if cap(p.scratch) > retainMax {
		p.scratch = nil // don't pin the buffer of a rare huge message
	}
	if _, err := p.bw.Write(buf); err != nil {
		return fmt.Errorf("transport: write to %x: %w", p.id, err)
	}
	p.t.stats.frames.Add(1)
	return nil
}

func (p *peer) noteGroup(group uint64) bool {
	if _, ok := p.groups[group]; ok {
		return false
	}
	p.groups[group] = struct{}{}
	return true
}

// reportUnreachable tells every group that used this peer that it is down.
func (p *peer) reportUnreachable() {
	for g := range p.groups {
		p.t.cfg.Handler.ReportUnreachable(g, p.id)
	}
}

// dropUntil waits until deadline while the peer is down, dropping queued
// messages (raft retransmits). It reports unreachable for groups not seen
// before, since reportUnreachable did not cover them. It returns false if
// the peer was stopped.
func (p *peer) dropUntil(deadline time.Time) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return false
		case <-timer.C:
			return true
		case env := <-p.queue:
			if p.noteGroup(env.group) {
				p.t.cfg.Handler.ReportUnreachable(env.group, p.id)
			}
		}
	}
}

// backoff is a jittered exponential delay: each call to next returns a
// value in [d/2, d) and doubles d up to max.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) reset() { b.cur = 0 }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	if half <= 0 {
		return b.cur
	}
	return half + rand.N(half)
}
