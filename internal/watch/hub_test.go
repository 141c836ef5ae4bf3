package watch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// memSource is the storage side: every committed event, and a
// compaction horizon.
type memSource struct {
	mu        sync.Mutex
	events    []Event
	compacted int64
}

func (s *memSource) Changes(from, to int64, match func([]byte) bool, withPrev bool, limit int) ([]Event, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if from <= s.compacted {
		return nil, 0, &CompactedError{Requested: from, Oldest: s.compacted + 1}
	}
	var out []Event
	for _, ev := range s.events {
		if ev.Revision < from || ev.Revision > to || !match(ev.Key) {
			continue
		}
		if len(out) >= limit && ev.Revision != out[len(out)-1].Revision {
			return out, ev.Revision, nil
		}
		out = append(out, ev)
	}
	return out, to + 1, nil
}

// fixture drives a hub as the state machine does: events are stored,
// then handed to Committed.
type fixture struct {
	t   *testing.T
	h   *Hub
	src *memSource
	rev int64
}

func newFixture(t *testing.T, cfg Config) *fixture {
	f := &fixture{t: t, h: NewHub(cfg), src: &memSource{}}
	f.h.SetSource(f.src)
	f.h.Reset(0)
	t.Cleanup(f.h.Close)
	return f
}

// commit applies one batch of revisions, each writing the given keys.
func (f *fixture) commit(revs ...[]string) {
	collect := f.h.Begin()
	var evs []Event
	for _, keys := range revs {
		f.rev++
		for _, k := range keys {
			evs = append(evs, Event{Revision: f.rev, Type: Put, Key: []byte(k), Value: fmt.Appendf(nil, "v%d", f.rev)})
		}
	}
	f.src.mu.Lock()
	f.src.events = append(f.src.events, evs...)
	f.src.mu.Unlock()
	if !collect {
		evs = nil
	}
	f.h.Committed(f.rev, evs, nil)
}

func next(t *testing.T, w *Watcher) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := w.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return ev
}

func fmtEv(ev Event) string { return fmt.Sprintf("%d:%s:%s", ev.Revision, ev.Type, ev.Key) }

func expectEvents(t *testing.T, w *Watcher, want ...string) {
	t.Helper()
	for _, s := range want {
		if got := fmtEv(next(t, w)); got != s {
			t.Fatalf("got %s, want %s", got, s)
		}
	}
}

func TestReplayThenLive(t *testing.T) {
	f := newFixture(t, Config{Buffer: 8, ReplayChunk: 2})
	for i := range 10 {
		f.commit([]string{fmt.Sprint("a", i%3), "b"})
	}
	w, err := f.h.Watch(Request{Key: []byte("a"), Prefix: true, Start: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	expectEvents(t, w, "4:put:a0", "5:put:a1")
	// Changes committed while the watcher replays arrive once, in order.
	f.commit([]string{"a9"}, []string{"zz"})
	expectEvents(t, w, "6:put:a2", "7:put:a0", "8:put:a1", "9:put:a2", "10:put:a0", "11:put:a9")
	f.commit([]string{"a5", "a6"})
	expectEvents(t, w, "13:put:a5", "13:put:a6")
}

// A watch from now, made while an apply that collects nothing is in
// flight, starts after that apply: it neither misses nor repeats.
func TestWatchDuringUncollectedApply(t *testing.T) {
	f := newFixture(t, Config{})
	f.commit([]string{"k"})
	if f.h.Begin() {
		t.Fatal("Begin collects with no watcher")
	}
	w, err := f.h.Watch(Request{Key: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f.rev++
	f.h.Committed(f.rev, nil, nil) // the change at 2 was not collected
	if s := w.StartRevision(); s != 3 {
		t.Fatalf("start revision %d, want 3", s)
	}
	f.commit([]string{"k"})
	expectEvents(t, w, "3:put:k")
	// A watch from an old revision during an uncollected apply replays
	// what that apply committed.
	w.Close()
	f2 := newFixture(t, Config{})
	f2.commit([]string{"k"})
	w2, _ := f2.h.Watch(Request{Key: []byte("k"), Start: 1})
	defer w2.Close()
	f2.h.Begin()
	done := make(chan Event)
	go func() { // registers as pending: waits for the apply to commit
		for range 2 {
			ev, _ := w2.Next(context.Background())
			done <- ev
		}
	}()
	f2.src.mu.Lock()
	f2.src.events = append(f2.src.events, Event{Revision: 2, Type: Put, Key: []byte("k")})
	f2.src.mu.Unlock()
	f2.rev = 2
	f2.h.Committed(2, nil, nil)
	for _, want := range []string{"1:put:k", "2:put:k"} {
		if ev := <-done; fmtEv(ev) != want {
			t.Fatalf("got %s, want %s", fmtEv(ev), want)
		}
	}
}

func TestProgress(t *testing.T) {
	f := newFixture(t, Config{ProgressInterval: 10 * time.Millisecond})
	f.commit([]string{"x"})
	w, _ := f.h.Watch(Request{Key: []byte("k")})
	defer w.Close()
	f.commit([]string{"x"})
	ev := next(t, w)
	if ev.Type != Progress || ev.Revision != 2 {
		t.Fatalf("got %s, want progress at 2", fmtEv(ev))
	}
}

func TestSlowConsumer(t *testing.T) {
	f := newFixture(t, Config{Buffer: 3})
	w, _ := f.h.Watch(Request{Key: []byte("k"), Prefix: true})
	defer w.Close()
	f.commit([]string{"k1"}, []string{"k2"})
	f.commit([]string{"k3", "k4"}) // does not fit: cancelled, none of 3 queued
	f.commit([]string{"k5"})
	expectEvents(t, w, "1:put:k1", "2:put:k2")
	_, err := w.Next(context.Background())
	var re *ResumeError
	if !errors.As(err, &re) || !errors.Is(err, ErrSlowConsumer) || re.Revision != 3 {
		t.Fatalf("Next = %v, want a slow-consumer ResumeError at 3", err)
	}
	if f.h.SlowConsumerCancels() != 1 {
		t.Fatalf("cancels = %d", f.h.SlowConsumerCancels())
	}
	// Resuming from the revision named replays the rest.
	w2, _ := f.h.Watch(Request{Key: []byte("k"), Prefix: true, Start: re.Revision})
	defer w2.Close()
	expectEvents(t, w2, "3:put:k3", "3:put:k4", "4:put:k5")
}

func TestResetAndClose(t *testing.T) {
	f := newFixture(t, Config{})
	w, _ := f.h.Watch(Request{Key: []byte("k")})
	f.commit([]string{"k"})
	f.h.Reset(10) // a snapshot jumped the store
	expectEvents(t, w, "1:put:k")
	_, err := w.Next(context.Background())
	var re *ResumeError
	if !errors.As(err, &re) || !errors.Is(err, ErrReset) || re.Revision != 2 {
		t.Fatalf("after Reset: %v", err)
	}
	w2, _ := f.h.Watch(Request{Key: []byte("k")})
	f.h.Close()
	if _, err := w2.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := f.h.Watch(Request{Key: []byte("k")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Watch after Close: %v", err)
	}
}

func TestCompactedAndFilter(t *testing.T) {
	f := newFixture(t, Config{})
	f.commit([]string{"k"}, []string{"k"}, []string{"k"})
	f.src.compacted = 2
	w, _ := f.h.Watch(Request{Key: []byte("k"), Start: 2})
	_, err := w.Next(context.Background())
	var ce *CompactedError
	if !errors.As(err, &ce) || ce.Oldest != 3 || !errors.Is(err, ErrCompacted) {
		t.Fatalf("Next = %v", err)
	}
	w.Close()
	// A Filter (where a JSON path filter plugs in) selects among matches.
	w, _ = f.h.Watch(Request{Key: []byte("k"), Start: 3, Filter: func(ev *Event) bool { return !bytes.Equal(ev.Value, []byte("v4")) }})
	defer w.Close()
	f.commit([]string{"k"}, []string{"k"})
	expectEvents(t, w, "3:put:k", "5:put:k")
}

func TestInvalid(t *testing.T) {
	h := NewHub(Config{})
	if _, err := h.Watch(Request{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty key: %v", err)
	}
	if _, err := h.Watch(Request{Key: []byte("k"), Start: -1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative start: %v", err)
	}
}

func TestPubSub(t *testing.T) {
	f := newFixture(t, Config{Buffer: 4})
	match := func(p, c []byte) bool { return bytes.HasPrefix(c, bytes.TrimSuffix(p, []byte("*"))) }
	s1 := f.h.Subscribe(match, 0)
	defer s1.Close()
	s2 := f.h.Subscribe(match, 0)
	defer s2.Close()
	if n := s1.Subscribe([]byte("news")); n != 1 {
		t.Fatalf("count %d", n)
	}
	s1.PSubscribe([]byte("ne*"))
	s2.PSubscribe([]byte("__keyspace@0__:*"))
	f.h.Begin()
	n := f.h.Committed(0, nil, []Message{{Channel: []byte("news"), Payload: []byte("hi")}, {Channel: []byte("other"), Payload: []byte("x")}})
	if fmt.Sprint(n) != "[2 0]" {
		t.Fatalf("receivers %v", n)
	}
	got := func(s *Subscription) string {
		select {
		case m := <-s.C():
			return fmt.Sprintf("%s|%s|%s", m.Pattern, m.Channel, m.Payload)
		case <-time.After(5 * time.Second):
			return "timeout"
		}
	}
	if a, b := got(s1), got(s1); a != "|news|hi" || b != "ne*|news|hi" {
		t.Fatalf("s1 got %s, %s", a, b)
	}
	f.commit([]string{"key"})
	if m := got(s2); m != "__keyspace@0__:*|__keyspace@0__:key|set" {
		t.Fatalf("s2 got %s", m)
	}
	if s1.Unsubscribe([]byte("news")) != 1 || s1.Count() != 1 || len(s1.Patterns()) != 1 {
		t.Fatal("unsubscribe")
	}
	// Overflow cancels.
	for range 3 {
		f.commit([]string{"a", "b"})
	}
	select {
	case <-s2.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("s2 not cancelled")
	}
	if !errors.Is(s2.Err(), ErrSlowConsumer) {
		t.Fatalf("s2 err %v", s2.Err())
	}
}
