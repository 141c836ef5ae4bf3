package statemachine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/raftnode"
)

// rawEntry wraps requests into the next entry, keeping their IDs.
func (e *env) rawEntry(reqs ...*command.Request) raftnode.Entry {
	e.index++
	ent := raftnode.Entry{Index: e.index, Term: 1}
	for _, r := range reqs {
		ent.Proposals = append(ent.Proposals, command.EncodeRequest(nil, r))
	}
	return ent
}

func reqID(prefix, counter uint64) uint64 { return prefix<<command.IDCounterBits | counter }

func dedupPut(id uint64, k, v string) *command.Request {
	return &command.Request{ID: id, Now: 1, Put: &command.PutRequest{Key: []byte(k), Value: []byte(v)}}
}

func dedupIncr(id uint64, k string) *command.Request {
	return &command.Request{ID: id, Now: 1, Mutate: &command.MutateRequest{Op: command.MutateIncrBy, Key: []byte(k), Int: 1}}
}

// stateDump is dump without the applied index (which every Apply moves).
func stateDump(t testing.TB, e *env) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(dump(t, e.db), "\n") {
		if !strings.HasPrefix(l, "meta applied ") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// one applies reqs as one entry and returns their results.
func (e *env) raw(t *testing.T, reqs ...*command.Request) []*command.Result {
	t.Helper()
	res := e.apply(e.rawEntry(reqs...))
	if len(res) != len(reqs) {
		t.Fatalf("%d results for %d requests", len(res), len(reqs))
	}
	return res
}

func TestDedupDuplicateLeavesNoTrace(t *testing.T) {
	e := newEnv(t)
	id := reqID(5, 100)
	if r := e.raw(t, dedupPut(id, "k", "v1"))[0]; r.Err != "" || r.Revision != 1 {
		t.Fatalf("first: %+v", r)
	}
	// An undo mark and a change-index entry exist for revision 1; a
	// duplicate must add neither, nor a version, nor a revision.
	before, rev := stateDump(t, e), e.sm.Revision()
	res := e.raw(t, dedupPut(id, "k", "v2"), dedupIncr(id, "n"), &command.Request{ID: id, Now: 1, Delete: &command.DeleteRequest{Key: []byte("k")}})
	for _, r := range res {
		if r.Err != command.ErrCodeDuplicateRequest || r.ID != id || r.Revision != rev || r.Put != nil || r.Mutate != nil || r.Delete != nil {
			t.Fatalf("duplicate: %+v", r)
		}
	}
	if after := stateDump(t, e); after != before || e.sm.Revision() != rev {
		t.Fatalf("a duplicate changed the store:\n%s\nwant\n%s", after, before)
	}
	if kv := e.get("k"); kv == nil || string(kv.Value) != "v1" {
		t.Fatalf("k = %+v", kv)
	}
	// Another counter of the same proposer applies.
	if r := e.raw(t, dedupPut(reqID(5, 99), "k", "v3"))[0]; r.Err != "" || r.Revision != rev+1 {
		t.Fatalf("other counter: %+v", r)
	}
}

func TestDedupStaleReportsHigh(t *testing.T) {
	e := newEnv(t)
	const high = 5000
	e.raw(t, dedupPut(reqID(1, high), "a", "1"))
	before := stateDump(t, e)
	r := e.raw(t, dedupPut(reqID(1, high-command.DedupWindow), "a", "2"))[0]
	if r.Err != command.ErrCodeStaleRequest || r.Stale == nil || r.Stale.High != high || r.Revision != 1 {
		t.Fatalf("stale: %+v %+v", r, r.Stale)
	}
	if stateDump(t, e) != before {
		t.Fatal("a stale request changed the store")
	}
	// The oldest counter still in the window applies once.
	if r := e.raw(t, dedupPut(reqID(1, high-command.DedupWindow+1), "a", "3"))[0]; r.Err != "" {
		t.Fatalf("oldest in window: %+v", r)
	}
	if r := e.raw(t, dedupPut(reqID(1, high-command.DedupWindow+1), "a", "4"))[0]; r.Err != command.ErrCodeDuplicateRequest {
		t.Fatalf("oldest in window again: %+v", r)
	}
}

func TestDedupSlideAndProposers(t *testing.T) {
	e := newEnv(t)
	ok := func(id uint64) {
		t.Helper()
		if r := e.raw(t, dedupPut(id, "k", "v"))[0]; r.Err != "" {
			t.Fatalf("%x: %+v", id, r)
		}
	}
	refused := func(id uint64, code string) {
		t.Helper()
		if r := e.raw(t, dedupPut(id, "k", "v"))[0]; r.Err != code {
			t.Fatalf("%x: %q, want %q", id, r.Err, code)
		}
	}
	ok(reqID(1, 10))
	ok(reqID(1, 20))
	ok(reqID(2, 20)) // another proposer, the same counter
	ok(reqID(1, 190))
	refused(reqID(1, 20), command.ErrCodeDuplicateRequest)
	refused(reqID(2, 20), command.ErrCodeDuplicateRequest)
	ok(reqID(1, 21))
	ok(reqID(1, 10+command.DedupWindow)) // 10 is now the oldest... just out
	refused(reqID(1, 10), command.ErrCodeStaleRequest)
	refused(reqID(1, 20), command.ErrCodeDuplicateRequest)
	ok(reqID(1, 20+3*command.DedupWindow)) // a jump past the whole window
	refused(reqID(1, 21), command.ErrCodeStaleRequest)
	ok(reqID(1, 20+2*command.DedupWindow+1)) // in the window, not seen
	ok(reqID(2, 21))                         // proposer 2 was not moved
	// The counter wraps around: the counter after the largest is 0.
	ok(reqID(3, command.IDCounterMask))
	ok(reqID(3, 0))
	refused(reqID(3, command.IDCounterMask), command.ErrCodeDuplicateRequest)
	ok(reqID(3, command.IDCounterMask-1))
	// ID 0 is never deduplicated.
	ok(0)
	ok(0)
}

// TestDedupWindowModel checks dedupWindow against a set of applied
// counters, with random counters around the highest one.
func TestDedupWindowModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, start := range []uint64{0, 1 << 20, command.IDCounterMask - 3000} {
		applied := map[uint64]bool{start: true}
		w := &dedupWindow{high: start}
		w.bits[0] = 1
		high := start
		for i := range 20000 {
			var c uint64
			switch rng.IntN(4) {
			case 0: // ahead, sometimes far
				c = high + 1 + uint64(rng.IntN(200))
				if rng.IntN(50) == 0 {
					c += uint64(rng.IntN(3 * command.DedupWindow))
				}
			default: // behind, around the window's edge
				c = high - uint64(rng.IntN(command.DedupWindow+100))
			}
			c &= command.IDCounterMask
			var want string
			switch {
			case command.CounterAfter(c, high):
				high = c
			case (high-c)&command.IDCounterMask >= command.DedupWindow:
				want = command.ErrCodeStaleRequest
			case applied[c]:
				want = command.ErrCodeDuplicateRequest
			}
			if want == "" {
				applied[c] = true
			}
			if got := w.check(c); got != want {
				t.Fatalf("start %d op %d: check(%d) with high %d = %q, want %q", start, i, c, high, got, want)
			}
			if w.high != high {
				t.Fatalf("high = %d, want %d", w.high, high)
			}
			var dec dedupWindow
			if err := dec.decode(w.encode(nil)); err != nil || dec.high != w.high || dec.bits != w.bits {
				t.Fatalf("encoding round trip: %v", err)
			}
		}
	}
}

func TestDedupPersists(t *testing.T) {
	e := newEnv(t)
	// Several proposers and entries in one Apply call: one record each.
	e.apply(e.rawEntry(dedupPut(reqID(1, 7), "a", "1"), dedupPut(reqID(2, 7), "b", "1")),
		e.rawEntry(dedupPut(reqID(1, 8), "a", "2")))
	if high, ok, err := e.sm.DedupHigh(1); err != nil || !ok || high != 8 {
		t.Fatalf("DedupHigh(1) = %d %v %v", high, ok, err)
	}
	if _, ok, err := e.sm.DedupHigh(3); err != nil || ok {
		t.Fatalf("DedupHigh(3) = %v %v", ok, err)
	}
	e.close()
	e.open()
	rev := e.sm.Revision()
	for _, id := range []uint64{reqID(1, 7), reqID(1, 8), reqID(2, 7)} {
		if r := e.raw(t, dedupPut(id, "a", "x"))[0]; r.Err != command.ErrCodeDuplicateRequest {
			t.Fatalf("%x after reopen: %+v", id, r)
		}
	}
	if r := e.raw(t, dedupPut(reqID(2, 6), "c", "1"))[0]; r.Err != "" || r.Revision != rev+1 {
		t.Fatalf("new counter after reopen: %+v", r)
	}
}

func TestDedupSnapshotRestore(t *testing.T) {
	src := newEnv(t)
	for c := uint64(1); c <= 40; c++ {
		src.raw(t, dedupIncr(reqID(9, c*3), "n"))
	}
	stream, index := snapshotBytes(t, src)
	dst := newEnv(t)
	dst.raw(t, dedupPut(reqID(9, 1<<30), "junk", "1")) // replaced by the snapshot
	dst.restoreStream(t, bytes.NewReader(stream), index)
	if d1, d2 := dump(t, src.db), dump(t, dst.db); d1 != d2 {
		t.Fatalf("restored data differs:\n%s\nwant\n%s", d2, d1)
	}
	dst.index = index
	for _, e := range []*env{src, dst} {
		if r := e.raw(t, dedupIncr(reqID(9, 60), "n"))[0]; r.Err != command.ErrCodeDuplicateRequest {
			t.Fatalf("duplicate after restore: %+v", r)
		}
		if r := e.raw(t, dedupIncr(reqID(9, 61), "n"))[0]; r.Err != "" || r.Mutate.Int != 41 {
			t.Fatalf("new after restore: %+v %+v", r, r.Mutate)
		}
	}
	if d1, d2 := dump(t, src.db), dump(t, dst.db); d1 != d2 {
		t.Fatal("diverged after the restore")
	}
	var w1, w2 dedupWindow
	for i, e := range []*env{src, dst} {
		w := []*dedupWindow{&w1, &w2}[i]
		if err := e.db.GetFunc(dedupKey(testGroup, 9), w.decode); err != nil {
			t.Fatal(err)
		}
	}
	if w1.high != w2.high || w1.bits != w2.bits || w1.high != 120 {
		t.Fatalf("windows differ: %+v vs %+v", w1, w2)
	}
}

// TestDedupReplay: replaying the log into a fresh store gives the same
// state and results, duplicates included.
func TestDedupReplay(t *testing.T) {
	e := newEnv(t)
	var all []*command.Result
	for i := range 30 {
		j := i / 2 // every request twice
		id := reqID(uint64(j%3), uint64(100+j))
		all = append(all, e.raw(t, dedupIncr(id, fmt.Sprintf("k%d", j%3)))...)
	}
	fresh := newEnv(t)
	var again []*command.Result
	for _, ent := range e.entries {
		again = append(again, fresh.apply(ent)...)
	}
	for i := range all {
		if a, b := command.EncodeResult(nil, all[i]), command.EncodeResult(nil, again[i]); !bytes.Equal(a, b) {
			t.Fatalf("result %d differs on replay", i)
		}
	}
	if dump(t, e.db) != dump(t, fresh.db) {
		t.Fatal("replay differs")
	}
	dups := 0
	for _, r := range all {
		if r.Err == command.ErrCodeDuplicateRequest {
			dups++
		}
	}
	if dups != 15 {
		t.Fatalf("%d duplicates, want 15", dups)
	}
}

// BenchmarkDedupCheck is the window check every request with an ID pays:
// three proposers, counters slightly out of order.
func BenchmarkDedupCheck(b *testing.B) {
	e := newEnv(b)
	e.apply(e.rawEntry(dedupPut(reqID(1, 1), "k", "v")))
	a := &e.sm.ap
	var c uint64 = 10
	for b.Loop() {
		c++
		for p := uint64(1); p <= 3; p++ {
			if code, _, err := a.dedup(reqID(p, c^1)); code != "" || err != nil {
				b.Fatal(code, err)
			}
		}
	}
	a.endDedup(true)
}
