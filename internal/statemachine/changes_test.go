package statemachine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/raftnode"
	"github.com/cairndb/cairn/internal/watch"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// recordingSink collects what the state machine hands a watch hub.
type recordingSink struct {
	collect bool
	rev     int64
	events  []watch.Event
	msgs    []watch.Message
	resets  []int64
	inApply bool
}

func (s *recordingSink) Begin() bool {
	if s.inApply {
		panic("Begin twice without Committed")
	}
	s.inApply = true
	return s.collect
}

func (s *recordingSink) Committed(rev int64, events []watch.Event, msgs []watch.Message) []int {
	if !s.inApply {
		panic("Committed without Begin")
	}
	s.inApply = false
	if rev < s.rev {
		panic(fmt.Sprintf("revision went back from %d to %d", s.rev, rev))
	}
	for _, ev := range events {
		if ev.Revision <= s.rev || ev.Revision > rev {
			panic(fmt.Sprintf("event at %d outside (%d, %d]", ev.Revision, s.rev, rev))
		}
	}
	s.rev = rev
	s.events = append(s.events, events...)
	s.msgs = append(s.msgs, msgs...)
	n := make([]int, len(msgs))
	for i := range n {
		n[i] = i + 1
	}
	return n
}

func (s *recordingSink) Reset(rev int64) { s.resets = append(s.resets, rev); s.rev = rev }

func newSinkEnv(t *testing.T, sink ChangeSink) *env {
	e := &env{t: t, fs: vfs.NewMem(), sink: sink}
	e.open()
	t.Cleanup(e.close)
	return e
}

// changeRequest is randomRequest without compactions, plus mutates.
func changeRequest(rng *rand.Rand, rev int64) *command.Request {
	k := func() []byte { return []byte{'a' + byte(rng.IntN(6))} }
	switch rng.IntN(8) {
	case 0:
		ops := []command.MutateOp{command.MutateSet, command.MutateDelete, command.MutateIncrBy, command.MutateAppend, command.MutateRename}
		m := &command.MutateRequest{Op: ops[rng.IntN(len(ops))], Key: k(), Value: []byte("x"), Int: 1}
		if m.Op == command.MutateRename {
			m.Dest, m.Value, m.Int = k(), nil, 0
		}
		if m.Op == command.MutateDelete || m.Op == command.MutateIncrBy {
			m.Value = nil
		}
		if m.Op != command.MutateIncrBy {
			m.Int = 0
		}
		return &command.Request{Mutate: m}
	case 1:
		// A txn that mutates one key twice in one revision.
		key := k()
		return &command.Request{Txn: &command.TxnRequest{Success: []command.TxnOp{
			{Mutate: &command.MutateRequest{Op: command.MutateAppend, Key: key, Value: []byte("p")}},
			{Mutate: &command.MutateRequest{Op: command.MutateDelete, Key: key}},
			{Mutate: &command.MutateRequest{Op: command.MutateAppend, Key: key, Value: []byte("q")}},
		}}}
	case 2:
		return &command.Request{Publish: &command.PublishRequest{Channel: []byte("ch"), Message: fmt.Appendf(nil, "m%d", rev)}}
	case 3:
		// Documents, and plain bytes over them: events carry the types.
		key := [][]byte{[]byte("x"), []byte("y"), k()}[rng.IntN(3)]
		if rng.IntN(4) == 0 {
			return &command.Request{Put: &command.PutRequest{Key: key, Value: []byte("plain")}}
		}
		return &command.Request{Doc: &command.DocRequest{Op: command.DocSet, Key: key, Path: []byte("$"), Values: [][]byte{fmt.Appendf(nil, `{"n":%d}`, rng.IntN(3))}}}
	}
	for {
		if r := randomRequest(rng, rev); r.Compact == nil {
			return r
		}
	}
}

// TestChangesLiveMatchReplay applies a random log and requires the events
// handed to the sink live to be exactly what a replay of the change index
// returns, in the same order, previous values included.
func TestChangesLiveMatchReplay(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			sink := &recordingSink{collect: true}
			e := newSinkEnv(t, sink)
			rng := rand.New(rand.NewPCG(seed, 7))
			published := 0
			for range 60 {
				var ents []raftnode.Entry
				for range 1 + rng.IntN(4) {
					var reqs []*command.Request
					for range rng.IntN(4) {
						r := changeRequest(rng, e.sm.Revision())
						if r.Publish != nil {
							published++
						}
						reqs = append(reqs, r)
					}
					ents = append(ents, e.entry(reqs...))
				}
				e.apply(ents...)
			}
			if sink.rev != e.sm.Revision() {
				t.Fatalf("sink at %d, state machine at %d", sink.rev, e.sm.Revision())
			}
			if len(sink.msgs) != published {
				t.Fatalf("%d messages handed over, %d published", len(sink.msgs), published)
			}
			// Replay in small chunks, as a watcher does.
			var replay []watch.Event
			all := func([]byte) bool { return true }
			for from := int64(1); from <= e.sm.Revision(); {
				evs, next, err := e.sm.Changes(from, e.sm.Revision(), all, true, 3)
				if err != nil {
					t.Fatal(err)
				}
				if next <= from {
					t.Fatalf("Changes(%d) did not advance: next %d", from, next)
				}
				replay, from = append(replay, evs...), next
			}
			if len(replay) != len(sink.events) {
				t.Fatalf("replay has %d events, live %d", len(replay), len(sink.events))
			}
			for i := range replay {
				if d := diffEvent(&sink.events[i], &replay[i]); d != "" {
					t.Fatalf("event %d: %s", i, d)
				}
			}
			if len(replay) < 50 {
				t.Fatalf("only %d events: the test exercises too little", len(replay))
			}
			docs := 0
			for _, ev := range replay {
				if ev.ValueType == command.TypeDocument {
					docs++
				}
			}
			if docs == 0 {
				t.Fatal("no document event: the test exercises too little")
			}
		})
	}
}

func diffEvent(live, replay *watch.Event) string {
	if live.Revision != replay.Revision || live.Type != replay.Type || !bytes.Equal(live.Key, replay.Key) ||
		!bytes.Equal(live.Value, replay.Value) || live.PrevExists != replay.PrevExists || !bytes.Equal(live.PrevValue, replay.PrevValue) ||
		live.ValueType != replay.ValueType || live.PrevExists && live.PrevType != replay.PrevType {
		return fmt.Sprintf("live %s, replay %s", fmtEvent(live), fmtEvent(replay))
	}
	return ""
}

func fmtEvent(ev *watch.Event) string {
	return fmt.Sprintf("%d %s %q=%q/%d prev(%v)=%q/%d op=%s", ev.Revision, ev.Type, ev.Key, ev.Value, ev.ValueType, ev.PrevExists, ev.PrevValue, ev.PrevType, ev.OpName())
}

func TestChangesCompacted(t *testing.T) {
	e := newEnv(t)
	for i := range 6 {
		e.apply(e.entry(&command.Request{Put: &command.PutRequest{Key: []byte("k"), Value: fmt.Appendf(nil, "%d", i)}}))
	}
	e.apply(e.entry(&command.Request{Compact: &command.CompactRequest{Revision: 4}}))
	if err := e.sm.comp.sync(); err != nil {
		t.Fatal(err)
	}
	all := func([]byte) bool { return true }
	_, _, err := e.sm.Changes(4, 6, all, false, 10)
	var ce *watch.CompactedError
	if !errors.As(err, &ce) || ce.Oldest != 5 || !errors.Is(err, watch.ErrCompacted) {
		t.Fatalf("Changes(4) = %v, want a CompactedError naming 5", err)
	}
	evs, next, err := e.sm.Changes(5, 6, all, true, 10)
	if err != nil || next != 7 || len(evs) != 2 {
		t.Fatalf("Changes(5) = %d events, next %d, %v", len(evs), next, err)
	}
	// The first change above the horizon still has its previous value:
	// compaction keeps the newest version at or below it.
	if !evs[0].PrevExists || string(evs[0].PrevValue) != "3" || string(evs[0].Value) != "4" {
		t.Fatalf("first event %s", fmtEvent(&evs[0]))
	}
}

// TestChangesKeyspaceNames checks the Redis event names of live changes.
func TestChangesKeyspaceNames(t *testing.T) {
	sink := &recordingSink{collect: true}
	e := newSinkEnv(t, sink)
	m := func(op command.MutateOp, k, dest string, i int64, v string) *command.Request {
		r := &command.MutateRequest{Op: op, Key: []byte(k), Int: i}
		if dest != "" {
			r.Dest = []byte(dest)
		}
		if v != "" {
			r.Value = []byte(v)
		}
		return &command.Request{Mutate: r}
	}
	e.apply(e.entry(
		&command.Request{Put: &command.PutRequest{Key: []byte("a"), Value: []byte("1")}},
		m(command.MutateIncrBy, "a", "", 2, ""),
		m(command.MutateAppend, "a", "", 0, "0"),
		m(command.MutateRename, "a", "b", 0, ""),
		m(command.MutateSet, "c", "", 0, "x"),
		&command.Request{Delete: &command.DeleteRequest{Key: []byte("b")}},
		m(command.MutateDelete, "c", "", 0, ""),
	))
	var got []string
	for _, ev := range sink.events {
		got = append(got, fmt.Sprintf("%d:%s:%s", ev.Revision, ev.Key, ev.OpName()))
	}
	want := "[1:a:set 2:a:incrby 3:a:append 4:a:rename_from 4:b:rename_to 5:c:set 6:b:del 7:c:del]"
	if fmt.Sprint(got) != want {
		t.Fatalf("events %v, want %s", got, want)
	}
}

// TestChangesKeyspaceNamesMerged: a key written several times in one
// revision is one event for watchers, and its event keeps every write's
// keyspace name in order (Redis sends one notification per write): SET
// EX is "set" then "expire", MULTI SET SET and MSET k 1 k 2 are two
// "set"s, SET KEEPTTL is one "set", EXPIRE alone "expire", PERSIST
// "persist".
func TestChangesKeyspaceNamesMerged(t *testing.T) {
	sink := &recordingSink{collect: true}
	e := newSinkEnv(t, sink)
	set := func(k, v string, keepTTL bool) command.TxnOp {
		return command.TxnOp{Mutate: &command.MutateRequest{Op: command.MutateSet, Key: []byte(k), Value: []byte(v), KeepTTL: keepTTL}}
	}
	expire := func(k string, op command.ExpireOp, cond command.ExpireCond) command.TxnOp {
		return command.TxnOp{Expire: &command.ExpireRequest{Op: op, Key: []byte(k), At: 1e15, Now: 1, Cond: cond}}
	}
	txn := func(ops ...command.TxnOp) *command.Request {
		return &command.Request{Txn: &command.TxnRequest{Success: ops}}
	}
	e.apply(e.entry(
		txn(set("a", "1", false), expire("a", command.ExpireSet, command.ExpireIfWritten)), // SET a 1 EX
		txn(set("a", "2", true)),                                              // SET a 2 KEEPTTL
		txn(expire("a", command.ExpireSet, 0)),                                // EXPIRE a
		txn(expire("a", command.ExpirePersist, 0)),                            // PERSIST a
		txn(set("b", "1", false), set("c", "1", false), set("b", "2", false)), // MSET b 1 c 1 b 2
	))
	var got []string
	for _, ev := range sink.events {
		ops := ev.OpName()
		if ev.Ops != nil {
			ops = strings.Join(ev.Ops, ",")
		}
		got = append(got, fmt.Sprintf("%d:%s:%s:%s=%s", ev.Revision, ev.Type, ops, ev.Key, ev.Value))
	}
	want := "[1:put:set,expire:a=1 2:put:set:a=2 3:put:expire:a=2 4:put:persist:a=2 5:put:set,set:b=2 5:put:set:c=1]"
	if fmt.Sprint(got) != want {
		t.Fatalf("events %v, want %s", got, want)
	}
	if ev := sink.events[4]; ev.PrevExists {
		t.Fatalf("merged event of a new key has a previous value: %s", fmtEvent(&ev))
	}
}

// BenchmarkApply64PutsWatched is BenchmarkApply64Puts with a hub and one
// watcher of every key draining its events: the cost of live collection.
func BenchmarkApply64PutsWatched(b *testing.B) {
	for _, watched := range []bool{false, true} {
		b.Run(fmt.Sprint("watched=", watched), func(b *testing.B) {
			hub := watch.NewHub(watch.Config{Buffer: 1 << 16})
			e := &env{t: b, fs: vfs.NewMem(), sink: hub}
			e.open()
			b.Cleanup(e.close)
			hub.SetSource(e.sm)
			if watched {
				w, err := hub.Watch(watch.Request{Prefix: true})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				b.Cleanup(func() { cancel(); w.Close() })
				go func() {
					for {
						if _, err := w.Next(ctx); err != nil {
							return
						}
					}
				}()
			}
			val := make([]byte, 100)
			props := make([][]byte, 64)
			for i := range props {
				props[i] = command.EncodeRequest(nil, &command.Request{ID: benchID(uint64(i)), Put: &command.PutRequest{Key: fmt.Appendf(nil, "key%06d", i*7919%10000), Value: val}})
			}
			entries := []raftnode.Entry{{Term: 1, Proposals: props}}
			b.ReportAllocs()
			for b.Loop() {
				e.index++
				entries[0].Index = e.index
				renumber(props, e.index*64)
				if err := e.sm.Apply(entries); err != nil {
					b.Fatal(err)
				}
			}
			if hub.SlowConsumerCancels() > 0 {
				b.Log("the watcher fell behind")
			}
		})
	}
}
