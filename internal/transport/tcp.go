package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

var _ Transport = (*TCP)(nil)

// readBufSize and writeBufSize size the bufio buffers of one connection.
const (
	readBufSize  = 64 << 10
	writeBufSize = 64 << 10
)

// TCP is the Transport between real nodes. Create it with NewTCP.
//
// Goroutines, all tracked by wg and stopped by Close:
//   - one accept loop;
//   - per inbound connection, one reader that calls the Handler;
//   - per peer, one writer owning the outbound stream, plus a watcher
//     blocked in Read on that stream to notice the peer closing it;
//   - per outgoing snapshot, one sender.
type TCP struct {
	cfg    TCPConfig
	rh     RemovalHandler // cfg.Handler's, or nil
	log    *slog.Logger
	ln     net.Listener
	dialer net.Dialer

	// ctx is cancelled by Close; peers and snapshot senders derive theirs
	// from it, and every connection is closed when its context ends.
	ctx    context.Context
	cancel context.CancelCauseFunc

	// mu guards the fields below. It is never held across network I/O or
	// Handler calls.
	mu      sync.RWMutex
	closed  bool
	peers   map[uint64]*peer
	inbound map[net.Conn]uint64 // accepted connections -> sender ID (0 until the handshake)
	// wg counts goroutines. Add is called with mu held and closed false, or
	// from a goroutine wg already counts, so it never races with Close's Wait.
	wg sync.WaitGroup

	stats struct {
		batches atomic.Uint64 // flushes of the outbound streams
		frames  atomic.Uint64 // messages written to outbound streams
	}
}

// NewTCP starts listening and returns a running transport. Peers must be
// added with AddPeer before messages can be sent to them.
func NewTCP(cfg TCPConfig) (*TCP, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.ListenAddr); err != nil {
			return nil, fmt.Errorf("transport: listen on %s: %w", cfg.ListenAddr, err)
		}
	}
	t := &TCP{
		cfg:     cfg,
		rh:      removalHandler(cfg.Handler),
		log:     cfg.Logger.With("node", fmt.Sprintf("%x", cfg.ID)),
		ln:      ln,
		dialer:  net.Dialer{Timeout: cfg.DialTimeout},
		peers:   make(map[uint64]*peer),
		inbound: make(map[net.Conn]uint64),
	}
	t.ctx, t.cancel = context.WithCancelCause(context.Background())
	t.wg.Add(1)
	go t.acceptLoop()
	return t, nil
}

// Addr returns the address the transport listens on.
func (t *TCP) Addr() net.Addr { return t.ln.Addr() }

// Send implements Transport. It never blocks: a message to an unknown peer
// or to a peer whose queue is full is dropped and ReportUnreachable is
// called on the caller's goroutine before Send returns. The transport
// keeps the messages until they are written; the caller must not modify
// them after Send.
func (t *TCP) Send(group uint64, msgs []*pb.Message) {
	for _, m := range msgs {
		to := m.GetTo()
		t.mu.RLock()
		p, closed := t.peers[to], t.closed
		t.mu.RUnlock()
		if closed {
			return
		}
		if p == nil || !p.enqueue(group, m) {
			t.cfg.Handler.ReportUnreachable(group, to)
		}
	}
}

// AddPeer implements Transport. Changing the address of a known peer
// replaces its connection; messages still queued for it are dropped.
func (t *TCP) AddPeer(id uint64, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if old := t.peers[id]; old != nil {
		if old.addr == addr {
			return
		}
		old.cancel()
	}
	p := newPeer(t, id, addr)
	t.peers[id] = p
	t.wg.Add(1)
	go p.run()
}

// RemovePeer implements Transport. It stops the peer's writer and closes
// inbound connections from it; it does not wait for them to finish.
func (t *TCP) RemovePeer(id uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.peers[id]; p != nil {
		p.cancel()
		delete(t.peers, id)
	}
	for c, from := range t.inbound {
		if from == id {
			c.Close() // the reader untracks it
		}
	}
}

// Close implements Transport. It stops the listener, closes every
// connection, cancels snapshot transfers (reporting them failed) and
// returns once every goroutine has exited. No Handler method is called
// after Close returns.
func (t *TCP) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	for c := range t.inbound {
		c.Close()
	}
	t.mu.Unlock()

	t.cancel(ErrClosed)
	err := t.ln.Close()
	t.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// spawn runs fn in a tracked goroutine unless the transport is closed.
func (t *TCP) spawn(fn func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		fn()
	}()
	return true
}

func (t *TCP) acceptLoop() {
	defer t.wg.Done()
	var delay time.Duration
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient (e.g. out of file descriptors): back off briefly
			// as net/http does, rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.log.Warn("transport: accept failed", "err", err, "retry_in", delay)
			if !sleepCtx(t.ctx, delay) {
				return
			}
			continue
		}
		delay = 0
		t.trackInbound(c)
	}
}

// trackInbound registers c and starts its reader, or closes c if the
// transport is closing.
func (t *TCP) trackInbound(c net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return
	}
	t.inbound[c] = 0
	t.wg.Add(1)
	go t.serveInbound(c)
}

func (t *TCP) untrackInbound(c net.Conn) {
	t.mu.Lock()
	delete(t.inbound, c)
	t.mu.Unlock()
	c.Close()
}

// serveInbound reads one accepted connection until it fails or closes.
func (t *TCP) serveInbound(c net.Conn) {
	defer t.wg.Done()
	defer t.untrackInbound(c)

	br := bufio.NewReaderSize(c, readBufSize)
	c.SetReadDeadline(time.Now().Add(t.cfg.DialTimeout))
	hs, err := readHandshake(br, t.cfg.ID)
	if err != nil {
		t.log.Debug("transport: rejected connection", "remote", c.RemoteAddr(), "err", err)
		return
	}
	c.SetReadDeadline(time.Time{})
	if !t.setInboundSender(c, hs.from) {
		return // RemovePeer or Close raced with the handshake
	}

	if t.isRemoved(hs.from) {
		t.refuse(c, hs.from)
		return
	}
	fr := newFrameReader(br, t.cfg.MaxFrameSize)
	if hs.kind == kindSnapshot {
		err = t.receiveSnapshot(c, fr, hs.from)
	} else {
		err = t.readStream(c, fr, hs.from)
	}
	if err != nil && !errors.Is(err, io.EOF) && t.ctx.Err() == nil {
		t.log.Debug("transport: inbound connection closed",
			"peer", fmt.Sprintf("%x", hs.from), "remote", c.RemoteAddr(), "err", err)
	}
}

// setInboundSender records the sender of c; false if c was already
// untracked.
func (t *TCP) setInboundSender(c net.Conn, from uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.inbound[c]; !ok || t.closed {
		return false
	}
	t.inbound[c] = from
	return true
}

// isRemoved reports whether the handler knows id as a removed member.
func (t *TCP) isRemoved(id uint64) bool { return t.rh != nil && t.rh.IsRemoved(id) }

// refuse tells the sender of c that it was removed from the cluster. The
// caller closes c.
func (t *TCP) refuse(c net.Conn, from uint64) {
	t.log.Debug("transport: refusing removed member", "peer", fmt.Sprintf("%x", from), "remote", c.RemoteAddr())
	c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
	c.Write([]byte{refusedRemoved})
}

// errRefused ends a stream whose sender turned out to be removed.
var errRefused = errors.New("transport: sender was removed from the cluster")

// readStream delivers the messages of a stream connection from `from`.
// Once the handler knows the sender as removed, its messages (including
// any already in flight) are dropped and the stream is refused.
func (t *TCP) readStream(c net.Conn, fr *frameReader, from uint64) error {
	for {
		f, err := fr.next()
		if err != nil {
			return err
		}
		if t.isRemoved(from) {
			t.refuse(c, from)
			return errRefused
		}
		if f.typ != frameMsg {
			return fmt.Errorf("%w: type %d on a message stream", ErrBadFrame, f.typ)
		}
		m, err := decodeMessage(f.payload)
		if err != nil {
			return err
		}
		t.cfg.Handler.Receive(f.group, m)
	}
}

// sleepCtx waits for d or until ctx ends; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
