package watch

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"
)

// Request selects the changes a watch delivers.
type Request struct {
	// Key is the key watched, or with Prefix the prefix of the keys
	// watched (an empty Key with Prefix watches every key).
	Key    []byte
	Prefix bool
	// Start is the first revision delivered. 0 means "from now": the
	// changes after the hub's current revision.
	Start int64
	// PrevValue asks for Event.PrevValue.
	PrevValue bool
	// Filter, if set, further selects events among those the key
	// selection matches (a JSON path filter plugs in here). It sees the
	// previous value whatever PrevValue says. It runs on the consumer's
	// goroutine and must not keep the event.
	Filter func(ev *Event) bool
	// Buffer bounds the live events queued for this watcher (0: the hub's
	// default).
	Buffer int
	// ProgressInterval overrides the hub's (0: the hub's default).
	ProgressInterval time.Duration
}

// Watcher is one watch. Next delivers its events; Close ends it. A watcher
// is used by one goroutine at a time.
type Watcher struct {
	h     *Hub
	req   Request
	start int64 // the first revision selected

	ch         chan Event    // live events; the hub is the only sender
	done       chan struct{} // closed when cancelled; err is then set
	registered chan struct{} // closed when regRev is set
	closeOnce  sync.Once

	// Guarded by h.mu.
	err     error
	regRev  int64 // live events are those above regRev
	through int64 // every selected change up to through is queued or delivered
	isReg   bool  // registration was requested (maybe pending)

	// Owned by the consumer.
	next   int64   // next revision to replay
	replay []Event // replayed events not yet returned
	live   bool    // replay done: read ch
	timer  *time.Timer
}

// Watch starts a watch. A Start at or below the compaction horizon fails
// in Next with a *CompactedError (the first call), as does any storage
// error; Next then keeps returning it.
func (h *Hub) Watch(req Request) (*Watcher, error) {
	if req.Start < 0 {
		return nil, fmt.Errorf("%w: negative start revision", ErrInvalid)
	}
	if !req.Prefix && len(req.Key) == 0 {
		return nil, fmt.Errorf("%w: empty key", ErrInvalid)
	}
	buf := req.Buffer
	if buf <= 0 {
		buf = h.cfg.Buffer
	}
	if req.ProgressInterval <= 0 {
		req.ProgressInterval = h.cfg.ProgressInterval
	}
	req.Key = bytes.Clone(req.Key)
	w := &Watcher{
		h: h, req: req,
		ch:         make(chan Event, buf),
		done:       make(chan struct{}),
		registered: make(chan struct{}),
	}
	if req.Start == 0 {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.closed {
			return nil, ErrClosed
		}
		w.live = true // nothing to replay: registration sets start
		h.requestRegisterLocked(w)
		return w, nil
	}
	w.start, w.next = req.Start, req.Start
	return w, nil
}

// requestRegisterLocked registers w now, or when the apply in flight
// commits if that apply does not collect events.
func (h *Hub) requestRegisterLocked(w *Watcher) {
	w.isReg = true
	if h.inApply && !h.collecting {
		h.pending = append(h.pending, w)
		return
	}
	h.registerLocked(w)
}

// StartRevision is the first revision the watch selects. For a watch
// "from now" it waits for the registration (at most the apply in flight).
func (w *Watcher) StartRevision() int64 {
	if w.req.Start == 0 {
		select {
		case <-w.registered:
		case <-w.done:
		}
	}
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	return w.start
}

// selects reports whether the live event ev is one of w's (key selection
// and start revision; Filter runs in Next).
func (w *Watcher) selects(ev *Event) bool {
	return ev.Revision >= w.start && w.matchKey(ev.Key)
}

func (w *Watcher) matchKey(k []byte) bool {
	if w.req.Prefix {
		return bytes.HasPrefix(k, w.req.Key)
	}
	return bytes.Equal(k, w.req.Key)
}

// Next returns the next event: the replayed history first, then live
// changes, in revision order, each change exactly once; a Progress event
// when the watch has been idle for the progress interval. It returns an
// error when ctx ends or the watch is cancelled (see ResumeError); after
// an error the watcher is done and must be closed.
func (w *Watcher) Next(ctx context.Context) (Event, error) {
	for {
		for len(w.replay) > 0 {
			ev := w.replay[0]
			w.replay[0] = Event{}
			w.replay = w.replay[1:]
			if w.accept(&ev) {
				return ev, nil
			}
		}
		if w.live {
			ev, err := w.nextLive(ctx)
			if err != nil || w.accept(&ev) {
				return ev, err
			}
			continue
		}
		if err := w.fill(ctx); err != nil {
			return Event{}, err
		}
	}
}

// accept applies Filter and drops what the request did not ask for.
func (w *Watcher) accept(ev *Event) bool {
	if ev.Type == Progress {
		return true
	}
	if w.req.Filter != nil && !w.req.Filter(ev) {
		return false
	}
	if !w.req.PrevValue {
		ev.PrevValue, ev.PrevExists = nil, false
	}
	return true
}

// fill reads the next chunk of history, registering for live events once
// the replay has (nearly) caught up with the hub.
func (w *Watcher) fill(ctx context.Context) error {
	h := w.h
	h.mu.Lock()
	if w.err != nil && !resumable(w.err) {
		// A resumable cancellation still replays up to regRev and drains
		// the queue first: its resume revision counts on that.
		err := w.err
		h.mu.Unlock()
		return err
	}
	if h.closed {
		h.mu.Unlock()
		return ErrClosed
	}
	target := h.rev
	if !w.isReg && target-w.next < int64(cap(w.ch)) {
		// Close enough: from here the live queue can hold what commits
		// while the rest is replayed.
		h.requestRegisterLocked(w)
	}
	reg := w.isReg
	h.mu.Unlock()
	if reg {
		select {
		case <-w.registered:
		case <-w.done:
			return w.doneErr()
		case <-ctx.Done():
			return ctx.Err()
		}
		h.mu.Lock()
		target = w.regRev
		h.mu.Unlock()
		if w.next > target {
			w.live = true
			return nil
		}
	}
	if w.next > target {
		return nil // a future start: the loop registers on the next call
	}
	filterPrev := w.req.PrevValue || w.req.Filter != nil
	events, next, err := h.src.Changes(w.next, target, w.matchKey, filterPrev, h.cfg.ReplayChunk)
	if err != nil {
		w.fail(err)
		return err
	}
	w.replay, w.next = events, next
	return nil
}

func resumable(err error) bool {
	_, ok := err.(*ResumeError)
	return ok
}

func (w *Watcher) fail(err error) {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	w.cancelLocked(err)
}

func (w *Watcher) doneErr() error {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	return w.err
}

// nextLive returns the next queued live event, or a progress event.
func (w *Watcher) nextLive(ctx context.Context) (Event, error) {
	select {
	case ev := <-w.ch:
		return ev, nil
	default:
	}
	for {
		if w.timer == nil {
			w.timer = time.NewTimer(w.req.ProgressInterval)
		} else {
			w.timer.Reset(w.req.ProgressInterval)
		}
		select {
		case ev := <-w.ch:
			w.timer.Stop()
			return ev, nil
		case <-w.done:
			w.timer.Stop()
			// Events queued before the cancellation come first.
			select {
			case ev := <-w.ch:
				return ev, nil
			default:
			}
			return Event{}, w.doneErr()
		case <-ctx.Done():
			w.timer.Stop()
			return Event{}, ctx.Err()
		case <-w.timer.C:
			if ev, ok := w.progress(); ok {
				return ev, nil
			}
		}
	}
}

// progress returns a Progress event if nothing is queued: then every
// change up to the hub's revision has been delivered.
func (w *Watcher) progress() (Event, bool) {
	h := w.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(w.ch) > 0 || w.err != nil {
		return Event{}, false
	}
	return Event{Type: Progress, Revision: h.rev}, true
}

// cancelLocked ends the watch with err. REQUIRES: h.mu.
func (w *Watcher) cancelLocked(err error) {
	if w.err != nil {
		return
	}
	w.err = err
	close(w.done)
	delete(w.h.watchers, w)
}

// Done is closed when the watch is cancelled (the hub is closing, the
// watcher fell behind, or it was closed).
func (w *Watcher) Done() <-chan struct{} { return w.done }

// Close ends the watch and releases it from the hub.
func (w *Watcher) Close() {
	w.closeOnce.Do(func() {
		h := w.h
		h.mu.Lock()
		defer h.mu.Unlock()
		for i, p := range h.pending {
			if p == w {
				h.pending = append(h.pending[:i], h.pending[i+1:]...)
				break
			}
		}
		w.cancelLocked(ErrClosed)
		if w.timer != nil {
			w.timer.Stop()
		}
	})
}
