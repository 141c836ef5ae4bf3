package watch

import (
	"slices"
	"sync"
)

// Subscription is one client's set of pub/sub channels and patterns
// (Redis SUBSCRIBE and PSUBSCRIBE). Messages published through raft and
// keyspace notifications of committed writes are queued on C in commit
// order; a subscription whose queue is full is cancelled with
// ErrSlowConsumer, as Redis disconnects a pub/sub client over its output
// buffer limit.
type Subscription struct {
	h     *Hub
	match func(pattern, channel []byte) bool
	ch    chan Message
	done  chan struct{}
	once  sync.Once

	// Guarded by h.mu.
	err      error
	channels map[string]struct{}
	patterns map[string]struct{}
}

// Subscribe returns an empty subscription. match reports whether a pattern
// matches a channel (Redis glob rules in the RESP front end). buffer
// bounds the queued messages (0: the hub's default).
func (h *Hub) Subscribe(match func(pattern, channel []byte) bool, buffer int) *Subscription {
	if buffer <= 0 {
		buffer = h.cfg.Buffer
	}
	s := &Subscription{
		h: h, match: match,
		ch:       make(chan Message, buffer),
		done:     make(chan struct{}),
		channels: map[string]struct{}{},
		patterns: map[string]struct{}{},
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.cancelLocked(ErrClosed)
		return s
	}
	h.subs[s] = struct{}{}
	return s
}

// C delivers the messages.
func (s *Subscription) C() <-chan Message { return s.ch }

// Done is closed when the subscription is cancelled; Err says why.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is the reason the subscription was cancelled, or nil.
func (s *Subscription) Err() error {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.err
}

// Subscribe adds a channel and returns the number of channels and
// patterns subscribed.
func (s *Subscription) Subscribe(channel []byte) int {
	return s.update(s.channels, channel, true)
}

// Unsubscribe removes a channel and returns the number left.
func (s *Subscription) Unsubscribe(channel []byte) int {
	return s.update(s.channels, channel, false)
}

// PSubscribe adds a pattern and returns the number of channels and
// patterns subscribed.
func (s *Subscription) PSubscribe(pattern []byte) int {
	return s.update(s.patterns, pattern, true)
}

// PUnsubscribe removes a pattern and returns the number left.
func (s *Subscription) PUnsubscribe(pattern []byte) int {
	return s.update(s.patterns, pattern, false)
}

func (s *Subscription) update(set map[string]struct{}, name []byte, add bool) int {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	if add {
		set[string(name)] = struct{}{}
	} else {
		delete(set, string(name))
	}
	return len(s.channels) + len(s.patterns)
}

// Channels returns the subscribed channels, sorted.
func (s *Subscription) Channels() [][]byte { return s.names(s.channels) }

// Patterns returns the subscribed patterns, sorted.
func (s *Subscription) Patterns() [][]byte { return s.names(s.patterns) }

func (s *Subscription) names(set map[string]struct{}) [][]byte {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	out := make([][]byte, 0, len(set))
	for n := range set {
		out = append(out, []byte(n))
	}
	slices.SortFunc(out, func(a, b []byte) int { return slices.Compare(a, b) })
	return out
}

// Count is the number of channels and patterns subscribed.
func (s *Subscription) Count() int {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return len(s.channels) + len(s.patterns)
}

// Close cancels the subscription and releases it from the hub.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.h.mu.Lock()
		defer s.h.mu.Unlock()
		s.cancelLocked(ErrClosed)
	})
}

// cancelLocked ends the subscription. REQUIRES: h.mu.
func (s *Subscription) cancelLocked(err error) {
	if s.err != nil {
		return
	}
	s.err = err
	close(s.done)
	delete(s.h.subs, s)
}

// deliverLocked queues m for s on a channel or pattern match and returns
// how many times it was queued. REQUIRES: h.mu.
func (s *Subscription) deliverLocked(channel, payload []byte) int {
	n := 0
	if s.err != nil {
		return 0
	}
	if _, ok := s.channels[string(channel)]; ok {
		if !s.sendLocked(Message{Channel: channel, Payload: payload}) {
			return n
		}
		n++
	}
	for p := range s.patterns {
		pat := []byte(p)
		if s.match(pat, channel) {
			if !s.sendLocked(Message{Pattern: pat, Channel: channel, Payload: payload}) {
				return n
			}
			n++
		}
	}
	return n
}

func (s *Subscription) sendLocked(m Message) bool {
	select {
	case s.ch <- m:
		return true
	default:
		s.cancelLocked(ErrSlowConsumer)
		s.h.slowCancels.Add(1)
		return false
	}
}

// SubscriptionCounts returns, for the subscriptions of this hub (one
// node), the number of subscriptions of each channel that has one, and
// the number of distinct patterns subscribed (Redis PUBSUB CHANNELS,
// NUMSUB and NUMPAT).
func (h *Hub) SubscriptionCounts() (channels map[string]int, patterns int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	channels = map[string]int{}
	pats := map[string]struct{}{}
	for s := range h.subs {
		for ch := range s.channels {
			channels[ch]++
		}
		for p := range s.patterns {
			pats[p] = struct{}{}
		}
	}
	return channels, len(pats)
}

// publishLocked delivers a published message to every subscription and
// returns the number of receivers. REQUIRES: h.mu.
func (h *Hub) publishLocked(m *Message) int {
	n := 0
	for s := range h.subs {
		n += s.deliverLocked(m.Channel, m.Payload)
	}
	return n
}

// Keyspace notification channel prefixes (database 0: Cairn has one
// keyspace).
const (
	KeyspacePrefix = "__keyspace@0__:"
	KeyeventPrefix = "__keyevent@0__:"
)

// notifyLocked publishes the keyspace notifications of events, as Redis
// does with notify-keyspace-events "KEA": on __keyspace@0__:<key> the
// event name, on __keyevent@0__:<event> the key; one pair per write (an
// event that merges several writes of its key has their names in Ops).
// REQUIRES: h.mu.
func (h *Hub) notifyLocked(events []Event) {
	for i := range events {
		ev := &events[i]
		if len(ev.Ops) == 0 {
			h.notifyOpLocked(ev.Key, ev.OpName())
			continue
		}
		for _, op := range ev.Ops {
			h.notifyOpLocked(ev.Key, op)
		}
	}
}

// notifyOpLocked publishes the keyspace notifications of one write of
// key named op. REQUIRES: h.mu.
func (h *Hub) notifyOpLocked(key []byte, op string) {
	space := make([]byte, 0, len(KeyspacePrefix)+len(key)+len(KeyeventPrefix)+len(op)+len(op))
	space = append(append(space, KeyspacePrefix...), key...)
	event := append(append(space[len(space):], KeyeventPrefix...), op...)
	name := append(event[len(event):], op...)
	for s := range h.subs {
		s.deliverLocked(space, name)
		s.deliverLocked(event, key)
	}
}
