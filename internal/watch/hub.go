package watch

import (
	"sync"
	"sync/atomic"
	"time"
)

// Source replays committed changes from storage (the state machine's
// change index and history).
type Source interface {
	// Changes returns, in (revision, key) order, the changes with
	// revisions in [from, to] whose key match accepts, read from one
	// consistent view. It stops after the first revision at which at least
	// limit events were collected, and returns the revision to continue
	// from (to+1 when it read everything). withPrev fills PrevValue. A
	// from at or below the compaction horizon fails with *CompactedError.
	Changes(from, to int64, match func(key []byte) bool, withPrev bool, limit int) (events []Event, next int64, err error)
}

// Config configures a Hub. The zero value is valid.
type Config struct {
	// Buffer bounds the live events queued per watcher (and messages per
	// subscription) when the request does not say (default 1024). A
	// watcher whose queue is full when a change commits is cancelled with
	// ErrSlowConsumer.
	Buffer int
	// ProgressInterval is how long a live watcher may stay idle before
	// Next returns a Progress event (default 5s).
	ProgressInterval time.Duration
	// ReplayChunk is how many events a replaying watcher reads per storage
	// read (default 256).
	ReplayChunk int
}

func (c *Config) setDefaults() {
	if c.Buffer <= 0 {
		c.Buffer = 1024
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = 5 * time.Second
	}
	if c.ReplayChunk <= 0 {
		c.ReplayChunk = 256
	}
}

// Hub fans committed changes and pub/sub messages out to the watchers and
// subscriptions of one node.
//
// The state machine calls Begin before it applies a batch of entries and
// Committed after the batch's Pebble commit, from the raft goroutine.
// Neither blocks on a consumer: each watcher has a bounded queue, and one
// that is full is cancelled (ErrSlowConsumer) instead of waited for.
// Committed does the fan-out under mu, together with advancing rev, so a
// watcher that finds its queue empty under mu has received every change
// up to rev (progress notifications rely on this).
//
// A watcher registers for live events at a revision regRev and replays
// history (through Source) up to regRev, then reads its queue, which
// holds exactly the changes above regRev: no gap and no duplicate at the
// switch-over. To keep registration exact when the applier did not
// collect events (Begin found no watcher, so the apply in flight carries
// no events), a watcher registering during such an apply is parked in
// pending and registered by Committed at the revision it commits.
type Hub struct {
	cfg Config
	src Source

	// mu guards everything below.
	mu         sync.Mutex
	rev        int64 // revision of the last Committed (or Reset)
	inApply    bool  // between Begin and Committed
	collecting bool  // the apply in flight collects events
	closed     bool
	watchers   map[*Watcher]struct{}
	pending    []*Watcher
	subs       map[*Subscription]struct{}

	slowCancels atomic.Int64
}

// SlowConsumerCancels counts the watchers and subscriptions cancelled
// because their queue was full.
func (h *Hub) SlowConsumerCancels() int64 { return h.slowCancels.Load() }

// NewHub returns a hub. Call SetSource before the first Watch.
func NewHub(cfg Config) *Hub {
	cfg.setDefaults()
	return &Hub{
		cfg:      cfg,
		watchers: map[*Watcher]struct{}{},
		subs:     map[*Subscription]struct{}{},
	}
}

// SetSource sets where replays read history from.
func (h *Hub) SetSource(src Source) { h.src = src }

// Revision is the revision of the last change delivered to live watchers.
func (h *Hub) Revision() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rev
}

// Begin is called by the state machine before it applies entries. It
// reports whether the apply should collect events and messages for
// Committed (only when someone is watching or subscribed).
func (h *Hub) Begin() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inApply = true
	h.collecting = len(h.watchers) > 0 || len(h.subs) > 0
	return h.collecting
}

// Committed is called by the state machine after the entries applied since
// Begin are committed to storage, with the store revision and, when Begin
// asked for them, the changes (in revision order) and published messages.
// It returns the number of receivers of each message on this node. The
// hub keeps references to events and msgs: the caller must not reuse
// their memory.
func (h *Hub) Committed(rev int64, events []Event, msgs []Message) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var receivers []int
	if h.collecting {
		h.fanOutLocked(rev, events)
		if len(h.subs) > 0 {
			h.notifyLocked(events)
		}
		if len(msgs) > 0 {
			receivers = make([]int, len(msgs))
			for i := range msgs {
				receivers[i] = h.publishLocked(&msgs[i])
			}
		}
	}
	h.inApply, h.collecting = false, false
	h.rev = rev
	for _, w := range h.pending {
		h.registerLocked(w)
	}
	h.pending = nil
	return receivers
}

// Reset tells the hub the store was (re)loaded at rev: at open, and after
// a snapshot from the leader replaced the node's state. Live watchers
// would miss the changes the snapshot skipped, so they are cancelled with
// ErrReset and resume (from history) where they stopped.
func (h *Hub) Reset(rev int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		if rev != h.rev {
			w.cancelLocked(&ResumeError{Cause: ErrReset, Revision: w.through + 1})
		}
	}
	h.rev = rev
	h.inApply, h.collecting = false, false
}

// Close cancels every watcher and subscription with ErrClosed.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for w := range h.watchers {
		w.cancelLocked(ErrClosed)
	}
	for _, w := range h.pending {
		w.cancelLocked(ErrClosed)
	}
	h.pending = nil
	for s := range h.subs {
		s.cancelLocked(ErrClosed)
	}
}

// fanOutLocked queues the events each watcher selects. A watcher whose
// queue cannot take all of them is cancelled with none of them queued, so
// it resumes at a revision boundary.
func (h *Hub) fanOutLocked(rev int64, events []Event) {
	for w := range h.watchers {
		n := 0
		first := int64(0)
		for i := range events {
			if w.selects(&events[i]) {
				if n == 0 {
					first = events[i].Revision
				}
				n++
			}
		}
		if n > cap(w.ch)-len(w.ch) {
			w.cancelLocked(&ResumeError{Cause: ErrSlowConsumer, Revision: first})
			h.slowCancels.Add(1)
			continue
		}
		if n > 0 {
			for i := range events {
				if w.selects(&events[i]) {
					w.ch <- events[i] // room checked above; the hub is the only sender
				}
			}
		}
		if rev > w.through {
			w.through = rev
		}
	}
}

// registerLocked makes w live at the current revision.
func (h *Hub) registerLocked(w *Watcher) {
	if w.req.Start == 0 {
		// "From now" is when registration completes: after an apply
		// that was in flight when Watch was called.
		w.start = h.rev + 1
	}
	w.regRev = h.rev
	w.through = h.rev
	if w.start > h.rev+1 {
		w.through = w.start - 1
	}
	h.watchers[w] = struct{}{}
	close(w.registered)
}
