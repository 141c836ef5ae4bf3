package service

import (
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/raftnode"
	"github.com/cairndb/cairn/internal/statemachine"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestSeedFromWindow: at start the ID counter moves idCounterSkip past the
// highest counter of this node the state machine applied, whatever the
// clock seeded it with, and never backwards.
func TestSeedFromWindow(t *testing.T) {
	db, err := storage.Open("data", storage.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sm, err := statemachine.Open(db, 0, statemachine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sm.Close()
	s := New(Config{ID: 0xabcdef12345, StateMachine: sm})

	s.SetIDCounterForTest(7)
	s.seedFromWindow() // no window yet: unchanged
	if c := s.ids.next() & command.IDCounterMask; c != 8 {
		t.Fatalf("counter without a window = %d, want 8", c)
	}

	const high = 1 << 30
	req := command.EncodeRequest(nil, &command.Request{ID: s.ids.prefix | high, Put: &command.PutRequest{Key: []byte("k")}})
	if err := sm.Apply([]raftnode.Entry{{Index: 1, Term: 1, Proposals: [][]byte{req}}}); err != nil {
		t.Fatal(err)
	}
	if h, ok, err := s.DedupHigh(); err != nil || !ok || h != high {
		t.Fatalf("DedupHigh = %d %v %v", h, ok, err)
	}
	s.SetIDCounterForTest(7) // a clock seed below the window
	s.seedFromWindow()
	if c := s.ids.next() & command.IDCounterMask; c != high+idCounterSkip+1 {
		t.Fatalf("counter = %d, want %d", c, high+idCounterSkip+1)
	}
	s.SetIDCounterForTest(high + 2*idCounterSkip) // already past it
	s.seedFromWindow()
	if c := s.ids.next() & command.IDCounterMask; c != high+2*idCounterSkip+1 {
		t.Fatalf("counter moved back to %d", c)
	}
}

func TestIDGeneratorAdvance(t *testing.T) {
	var g idGenerator
	g.init(3)
	for _, tc := range []struct{ cur, high, want uint64 }{
		{5, 100, 101},
		{200, 100, 201}, // already past: unchanged
		{100, 100, 101},
		{command.IDCounterMask - 1, 3, 4},         // wrapped: 3 comes after
		{3, command.IDCounterMask, 4},             // 3 comes after the largest (wrapped)
		{1<<(command.IDCounterBits-1) + 10, 5, 6}, // over half the space ahead is behind
	} {
		g.counter.Store(tc.cur)
		g.advance(tc.high)
		if c := g.next() & command.IDCounterMask; c != tc.want {
			t.Errorf("advance(%d) from %d: next counter %d, want %d", tc.high, tc.cur, c, tc.want)
		}
	}
}
