package transport

import (
	"sync"
	"testing"
	"time"
)

// removalHandler is a testHandler that also implements RemovalHandler.
type removalTestHandler struct {
	*testHandler
	mu      sync.Mutex
	removed map[uint64]bool // IDs this node knows as removed
	refused chan uint64     // peers that refused this node
}

func newRemovalTestHandler() *removalTestHandler {
	return &removalTestHandler{testHandler: newTestHandler(), removed: map[uint64]bool{}, refused: make(chan uint64, 1024)}
}

func (h *removalTestHandler) markRemoved(id uint64) {
	h.mu.Lock()
	h.removed[id] = true
	h.mu.Unlock()
}

func (h *removalTestHandler) IsRemoved(id uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.removed[id]
}

func (h *removalTestHandler) Removed(by uint64) {
	select { // must never block
	case h.refused <- by:
	default:
	}
}

var _ RemovalHandler = (*removalTestHandler)(nil)

// removalTransports builds nodes 1 and 2 (knowing each other) of kind
// "tcp" or "mem".
func removalTransports(t *testing.T, kind string) (a, b Transport, ha, hb *removalTestHandler) {
	t.Helper()
	ha, hb = newRemovalTestHandler(), newRemovalTestHandler()
	switch kind {
	case "tcp":
		ta := startTCP(t, 1, "", nil, func(c *TCPConfig) { c.Handler = ha })
		tb := startTCP(t, 2, "", nil, func(c *TCPConfig) { c.Handler = hb })
		ta.AddPeer(2, tb.Addr().String())
		tb.AddPeer(1, ta.Addr().String())
		return ta, tb, ha, hb
	default:
		nw := NewMemNetwork()
		t.Cleanup(nw.Close)
		ma, mb := nw.Transport(1, ha), nw.Transport(2, hb)
		ma.AddPeer(2, "")
		mb.AddPeer(1, "")
		return ma, mb, ha, hb
	}
}

// sendUntilRefused sends from a to 2 until a's handler reports a refusal.
func sendUntilRefused(t *testing.T, a Transport, ha *removalTestHandler) uint64 {
	t.Helper()
	deadline := time.After(waitTimeout)
	for i := uint64(1); ; i++ {
		a.Send(group, msgs(1, 2, i, 1))
		select {
		case by := <-ha.refused:
			return by
		case <-deadline:
			t.Fatal("no refusal reported")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestRemovedSenderIsRefused(t *testing.T) {
	for _, kind := range []string{"tcp", "mem"} {
		t.Run(kind, func(t *testing.T) {
			t.Run("known at connect", func(t *testing.T) {
				a, _, ha, hb := removalTransports(t, kind)
				hb.markRemoved(1)
				if by := sendUntilRefused(t, a, ha); by != 2 {
					t.Fatalf("refused by %d, want 2", by)
				}
				expectNone(t, hb.recv, "message from a removed sender")
			})
			t.Run("learned mid-stream", func(t *testing.T) {
				a, b, ha, hb := removalTransports(t, kind)
				a.Send(group, msgs(1, 2, 1, 3))
				checkOrder(t, recvN(t, hb.testHandler, 3), group, 1)
				hb.markRemoved(1)
				if by := sendUntilRefused(t, a, ha); by != 2 {
					t.Fatalf("refused by %d, want 2", by)
				}
				expectNone(t, hb.recv, "message from a removed sender")
				// The refusing side is not itself affected: it still
				// reaches its other peers, and is not told it is removed.
				b.Send(group, msgs(2, 1, 1, 1))
				recvN(t, ha.testHandler, 1)
				expectNone(t, hb.refused, "refusal of the refusing node")
			})
			t.Run("other IDs unaffected", func(t *testing.T) {
				a, _, ha, hb := removalTransports(t, kind)
				hb.markRemoved(3) // some other member
				ha.markRemoved(3)
				a.Send(group, msgs(1, 2, 1, 50))
				checkOrder(t, recvN(t, hb.testHandler, 50), group, 1)
				expectNone(t, ha.refused, "refusal of a member not removed")
			})
		})
	}
}

// A receiver whose Handler does not implement RemovalHandler never refuses,
// and a sender without one ignores a refusal (it sees a lost connection).
func TestRefusalWithoutRemovalHandler(t *testing.T) {
	hb := newRemovalTestHandler()
	hb.markRemoved(1)
	ha := newTestHandler()
	a := startTCP(t, 1, "", ha, nil)
	b := startTCP(t, 2, "", nil, func(c *TCPConfig) { c.Handler = hb })
	a.AddPeer(2, b.Addr().String())
	a.Send(group, msgs(1, 2, 1, 1))
	waitFor(t, ha.unreachable, "unreachable report after the refusal")
	expectNone(t, hb.recv, "message from a removed sender")
}
