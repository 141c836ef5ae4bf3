package statemachine

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/raftnode"
	"github.com/cairndb/cairn/internal/watch"
)

// Randomized apply: random sequences of every kind of request (txns mixing
// op kinds, edge values) must apply without a panic or an error on two
// state machines fed the same log in different Apply batchings (one of
// them reopened midway, one restored from a snapshot midway), with
// identical results and identical stored data.

type randGen struct {
	r   *rand.Rand
	rev int64 // an upper bound of the store's revision, for tokens
}

var (
	randKeys   = []string{"a", "b", "c", "d", "a\x00", ""}
	randValues = []string{"", "1", "-3", "1.5", "x", `{"a":[1,2,{"b":3}],"c":"s","d":{"b":[true,null]}}`, `[1,[2,[3]]]`, `"str"`, "null", "9223372036854775807", "1e308"}
	randPaths  = []string{"$", "$.a", "$..b", "$.a[*]", "$.a[-1]", ".c", "$[*]", "$..*", "$.d.b[0]", "$.x", "bad[", "", "$.a[0:2]", "$..[*]"}
	randJSON   = []string{"1", `"s"`, "[1,2]", `{"b":null}`, "null", "1e308", "-0", "true", `{"a":{"b":1}}`, "[]", "{}", "2.5", "not json"}
	randEnds   = []string{"", "b", "c", "z", "\x00", "a\x00"} // range ends of unchanged-since compares
	randInts   = []int64{0, 1, -1, 2, 3, 7, 100, math.MaxInt64, math.MinInt64, 1 << 40}
)

func (g *randGen) pick(s []string) []byte {
	v := s[g.r.IntN(len(s))]
	if v == "" && g.r.IntN(2) == 0 {
		return nil
	}
	return []byte(v)
}

func (g *randGen) key() []byte {
	if g.r.IntN(20) == 0 {
		return nil
	}
	return g.pick(randKeys[:len(randKeys)-1])
}

// rare reports true once in n calls: edge values that make a request
// invalid are kept rare so most requests do something.
func (g *randGen) rare() bool { return g.r.IntN(12) == 0 }
func (g *randGen) revision() int64 {
	if g.rare() {
		return int64(g.r.IntN(int(g.rev) + 2))
	}
	return int64(g.r.IntN(int(g.rev)/6 + 1))
}

func (g *randGen) int() int64 { return randInts[g.r.IntN(len(randInts))] }
func (g *randGen) lease() int64 {
	switch {
	case g.r.IntN(2) == 0:
		return 0
	case g.rare():
		return []int64{-1, 99, math.MaxInt64}[g.r.IntN(3)]
	}
	return int64(1 + g.r.IntN(3))
}

func (g *randGen) put() *command.PutRequest {
	p := &command.PutRequest{Key: g.key(), Value: g.pick(randValues), PrevKV: g.r.IntN(2) == 0, Lease: g.lease(), Type: command.ValueType(g.r.IntN(2))}
	if g.rare() {
		p.Type = command.ValueType(g.r.IntN(256))
	}
	return p
}

func (g *randGen) del() *command.DeleteRequest {
	d := &command.DeleteRequest{Key: g.key(), PrevKV: g.r.IntN(2) == 0}
	switch g.r.IntN(3) {
	case 0:
		d.End = g.key()
	case 1:
		d.End = []byte{0}
	}
	return d
}

func (g *randGen) rng() *command.RangeRequest {
	return &command.RangeRequest{Key: g.key(), End: []byte{0}, Limit: int64(g.r.IntN(3)), Revision: g.revision(), KeysOnly: g.r.IntN(2) == 0}
}

func (g *randGen) mutate() *command.MutateRequest {
	m := &command.MutateRequest{Op: command.MutateOp(1 + g.r.IntN(int(command.MutateRename))), Key: g.key()}
	switch m.Op {
	case command.MutateSet:
		m.Value, m.NX, m.XX, m.PrevValue, m.KeepTTL = g.pick(randValues), g.r.IntN(3) == 0, g.rare(), g.r.IntN(2) == 0, g.r.IntN(2) == 0
	case command.MutateDelete:
		m.PrevValue = g.r.IntN(2) == 0
	case command.MutateIncrBy:
		m.Int = g.int()
	case command.MutateIncrByFloat:
		m.Float = []float64{1.5, -2, 1e308, 0, math.NaN(), math.Inf(1)}[g.r.IntN(4)]
		if g.rare() {
			m.Float = math.NaN()
		}
	case command.MutateAppend:
		m.Value = g.pick(randValues)
	case command.MutateSetRange:
		m.Int, m.Value = []int64{0, 1, 5, command.MaxValueSize, math.MaxInt64, -1}[g.r.IntN(5)], g.pick(randValues)
	case command.MutateRename:
		m.Dest, m.NX = g.key(), g.r.IntN(2) == 0
	}
	return m
}

func (g *randGen) doc() *command.DocRequest {
	m := &command.DocRequest{Op: command.DocOp(1 + g.r.IntN(int(command.DocToggle))), Key: g.key(), Path: g.pick(randPaths), Index: g.int(), Stop: g.int()}
	if g.r.IntN(2) == 0 {
		m.Index, m.Stop = int64(g.r.IntN(5))-2, int64(g.r.IntN(5))-2
	}
	for n := g.r.IntN(3); n > 0; n-- {
		m.Values = append(m.Values, g.pick(randJSON))
	}
	if g.r.IntN(2) == 0 && m.Op == command.DocSet {
		m.Path = []byte("$")
	}
	m.NX, m.XX = g.rare(), g.rare()
	return m
}

func (g *randGen) expire() *command.ExpireRequest {
	at := []int64{1, 50, 100, 200, math.MaxInt64, 0, -5}
	e := &command.ExpireRequest{Op: command.ExpireOp(1 + g.r.IntN(3)), Key: g.key(), At: at[g.r.IntN(5)], Now: at[g.r.IntN(5)], Cond: command.ExpireCond(g.r.IntN(6))}
	if g.rare() {
		e.At, e.Cond = at[g.r.IntN(len(at))], command.ExpireIfWritten
	}
	return e
}

func (g *randGen) ops() []command.TxnOp {
	var ops []command.TxnOp
	for n := g.r.IntN(5); n > 0; n-- {
		var op command.TxnOp
		switch g.r.IntN(6) {
		case 0:
			op.Put = g.put()
		case 1:
			op.Delete = g.del()
		case 2:
			op.Range = g.rng()
		case 3:
			op.Mutate = g.mutate()
		case 4:
			op.Doc = g.doc()
		case 5:
			op.Expire = g.expire()
		}
		ops = append(ops, op)
	}
	return ops
}

func (g *randGen) request() *command.Request {
	req := &command.Request{}
	switch g.r.IntN(18) {
	case 17:
		req.LeaseGrant = &command.LeaseGrantRequest{ID: int64(g.r.IntN(4)), TTL: 1000}
	case 0, 1:
		req.Put = g.put()
	case 2:
		req.Delete = g.del()
	case 3, 4:
		t := &command.TxnRequest{Success: g.ops(), Failure: g.ops()}
		for n := g.r.IntN(3); n > 0; n-- {
			c := command.Compare{Key: g.key(), Target: command.CompareTarget(1 + g.r.IntN(6)),
				Result: command.CompareResult(1 + g.r.IntN(4)), Value: g.pick(randValues), Int: int64(g.r.IntN(3))}
			if c.Target == command.CompareUnchangedSince && g.r.IntN(4) > 0 {
				// A recent revision (so the change index is scanned) or any.
				c.Result, c.Value, c.Int = command.CompareEqual, g.pick(randEnds), max(0, g.rev-int64(g.r.IntN(8)))
				if g.rare() {
					c.Int = g.revision()
				}
			}
			t.Compares = append(t.Compares, c)
		}
		req.Txn = t
	case 5:
		req.Compact = &command.CompactRequest{Revision: g.revision()}
	case 6:
		req.Mutate = g.mutate()
	case 7, 8:
		req.Doc = g.doc()
	case 9:
		req.LeaseGrant = &command.LeaseGrantRequest{ID: int64(g.r.IntN(4)), TTL: []int64{1000, 0, -1}[g.r.IntN(3)]}
	case 10:
		req.LeaseRevoke = &command.LeaseRevokeRequest{ID: g.lease(), Expired: g.r.IntN(2) == 0}
	case 11:
		req.LeaseKeepAlive = &command.LeaseKeepAliveRequest{ID: g.lease()}
	case 12:
		req.Expire = g.expire()
	case 13:
		req.Lock = &command.LockRequest{Op: command.LockOp(1 + g.r.IntN(2)), Name: g.key(), Lease: g.lease(), Token: int64(g.r.IntN(int(g.rev) + 2))}
	case 14:
		req.Fence = &command.FenceRequest{Name: g.key(), Token: int64(g.r.IntN(int(g.rev) + 2)), Ops: g.ops()}
	case 15:
		req.Undo = &command.UndoRequest{Redo: g.r.IntN(2) == 0}
	case 16:
		req.Publish = &command.PublishRequest{Channel: g.key(), Message: g.pick(randValues)}
	}
	if g.r.IntN(2) == 0 {
		// The proposer's clock, around the expiry times expire() sets:
		// keys are lazily expired (lazyexpiry.go) and hidden from reads.
		req.Now = []int64{50, 100, 150, 250}[g.r.IntN(4)]
	}
	g.rev++
	return req
}

// encodeResults encodes rs for comparison, without the local receiver
// counts of publishes (they depend on the node's subscribers).
func encodeResults(rs []*command.Result) [][]byte {
	var out [][]byte
	for _, r := range rs {
		out = append(out, encodeResult(r))
	}
	return out
}

func encodeResult(r *command.Result) []byte {
	if r.Publish != nil {
		r.Publish.Receivers = 0
	}
	return command.EncodeResult(nil, r)
}

func syncedDump(t testing.TB, e *env) string {
	t.Helper()
	if err := e.sm.comp.sync(); err != nil {
		t.Fatal(err)
	}
	return dump(t, e.db)
}

func TestRandomApply(t *testing.T) {
	seeds := 40
	if s, err := strconv.Atoi(os.Getenv("CAIRN_RANDOM_SEEDS")); err == nil {
		seeds = s
	}
	if testing.Short() {
		seeds = 10
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomApply(t, uint64(seed)) })
	}
}

func randomApply(t *testing.T, seed uint64) {
	g := &randGen{r: newRand(seed)}
	const n = 300
	var entries []raftnode.Entry
	var reqs []*command.Request
	for i := range n {
		req := g.request()
		req.ID = uint64(i + 1)
		reqs = append(reqs, req)
		// Mostly one proposal per entry, sometimes a few.
		if len(entries) == 0 || g.r.IntN(4) != 0 {
			entries = append(entries, raftnode.Entry{Index: uint64(len(entries) + 1), Term: 1})
		}
		last := &entries[len(entries)-1]
		last.Proposals = append(last.Proposals, command.EncodeRequest(nil, req))
	}
	describe := func(i int) string {
		return fmt.Sprintf("seed %d request %d: %+v", seed, i+1, *reqs[i])
	}
	describeEntry := func(i int) string {
		s := fmt.Sprintf("seed %d entry %d:", seed, i+1)
		for _, p := range entries[i].Proposals {
			r, err := command.DecodeRequest(p)
			s += fmt.Sprintf(" %+v (%v)", r, err)
		}
		return s
	}
	// a: one entry per Apply. b: batches of up to 7, reopened midway.
	sinkA, sinkB := &recordingSink{collect: true}, &recordingSink{collect: true}
	a, b := newSinkEnv(t, sinkA), newSinkEnv(t, sinkB)
	resA := make([][]byte, n)
	for i := range entries {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panic applying %s: %v", describeEntry(i), p)
				}
			}()
			a.results = nil
			if err := a.sm.Apply(entries[i : i+1]); err != nil {
				t.Fatalf("Apply %s: %v", describeEntry(i), err)
			}
			checkLatestCache(t, a.sm)
			for _, r := range a.results {
				resA[r.ID-1] = encodeResult(r)
			}
		}()
	}
	var resB [][]byte
	reopened := false
	for i := 0; i < len(entries); {
		j := min(len(entries), i+1+g.r.IntN(7))
		b.results = nil
		if err := b.sm.Apply(entries[i:j]); err != nil {
			t.Fatalf("seed %d: batch Apply [%d,%d): %v", seed, i, j, err)
		}
		checkLatestCache(t, b.sm)
		resB = append(resB, encodeResults(b.results)...)
		i = j
		if !reopened && i >= len(entries)/2 {
			reopened = true
			b.close()
			b.open()
		}
	}
	if len(resB) != len(slices.DeleteFunc(slices.Clone(resA), func(b []byte) bool { return b == nil })) {
		t.Fatalf("seed %d: %d results batched", seed, len(resB))
	}
	for _, rb := range resB {
		r, _ := command.DecodeResult(rb)
		i := int(r.ID - 1)
		if !bytes.Equal(resA[i], rb) {
			ra, _ := command.DecodeResult(resA[i])
			rb, _ := command.DecodeResult(rb)
			t.Fatalf("seed %d: results differ at %s:\n%+v\n%+v", seed, describe(i), ra, rb)
		}
	}
	// Events handed over live: the same whatever the batching, and what a
	// replay of the change index returns (above the compaction horizon).
	if len(sinkA.events) != len(sinkB.events) {
		t.Fatalf("seed %d: %d events one per Apply, %d batched", seed, len(sinkA.events), len(sinkB.events))
	}
	for i := range sinkA.events {
		if d := diffEvent(&sinkA.events[i], &sinkB.events[i]); d != "" {
			t.Fatalf("seed %d: event %d: %s", seed, i, d)
		}
	}
	live := slices.DeleteFunc(slices.Clone(sinkA.events), func(ev watch.Event) bool { return ev.Revision <= a.sm.CompactRevision() })
	replay, _, err := a.sm.Changes(a.sm.CompactRevision()+1, a.sm.Revision(), func([]byte) bool { return true }, true, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != len(replay) {
		t.Fatalf("seed %d: %d live events, %d replayed", seed, len(live), len(replay))
	}
	for i := range live {
		if d := diffEvent(&live[i], &replay[i]); d != "" {
			t.Fatalf("seed %d: event %d live vs replay: %s", seed, i, d)
		}
	}
	if da, db := syncedDump(t, a), syncedDump(t, b); da != db {
		t.Fatalf("seed %d: dumps differ:\n--- one per Apply\n%s--- batched, reopened\n%s", seed, da, db)
	}

	// c: restored from a snapshot of d taken midway, then the rest of the log.
	c, d := newEnv(t), newEnv(t)
	// c has state of its own before the restore: a key, an undone change
	// (a redo stack loaded in memory) and cached records, all to be
	// replaced.
	c.apply(c.entry(&command.Request{Put: &command.PutRequest{Key: []byte("a"), Value: []byte("stale")}}),
		c.entry(&command.Request{Put: &command.PutRequest{Key: []byte("b"), Value: []byte("stale")}}),
		c.entry(&command.Request{Undo: &command.UndoRequest{}}))
	d.apply(entries[:len(entries)/3]...)
	body, index, err := d.sm.OpenSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	batch := c.db.NewBatch()
	if err := c.sm.Restore(batch, body, index, nil); err != nil {
		t.Fatal(err)
	}
	body.Close()
	if err := batch.Commit(true); err != nil {
		t.Fatal(err)
	}
	batch.Close()
	if err := c.sm.Reload(); err != nil {
		t.Fatal(err)
	}
	c.results = nil
	c.apply(entries[len(entries)/3:]...)
	for _, r := range c.results {
		want := resA[r.ID-1]
		if got := encodeResult(r); !bytes.Equal(want, got) {
			ra, _ := command.DecodeResult(want)
			t.Fatalf("seed %d: results differ after restore at %s:\n%+v\n%+v", seed, describe(int(r.ID-1)), ra, r)
		}
	}
	if da, dc := syncedDump(t, a), syncedDump(t, c); da != dc {
		t.Fatalf("seed %d: dumps differ:\n--- one per Apply\n%s--- restored midway\n%s", seed, da, dc)
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }
