package statemachine

import (
	"fmt"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/raftnode"
)

func putReq(k, v string) *command.Request {
	return &command.Request{Put: &command.PutRequest{Key: []byte(k), Value: []byte(v)}}
}

func delReq(k string) *command.Request {
	return &command.Request{Delete: &command.DeleteRequest{Key: []byte(k)}}
}

// unchangedTxn is a txn guarded by one unchanged-since compare over key,
// end that writes "done" on success.
func unchangedTxn(key, end string, since int64) *command.Request {
	c := command.Compare{Key: []byte(key), Target: command.CompareUnchangedSince, Result: command.CompareEqual, Int: since}
	if end != "" {
		c.Value = []byte(end)
	}
	return &command.Request{Txn: &command.TxnRequest{
		Compares: []command.Compare{c},
		Success:  []command.TxnOp{{Put: &command.PutRequest{Key: []byte("done"), Value: []byte("1")}}},
	}}
}

// TestUnchangedSince: the compare fails exactly when a key of its span was
// written after its revision (creations, deletions, create-then-delete),
// or when it cannot be vouched for (below the compaction horizon, above
// the store revision), and sees writes of the same Apply call.
func TestUnchangedSince(t *testing.T) {
	// Setup: a@1, b/x@2, c@3; R = 3 unless a case says otherwise.
	const R = 3
	for _, tc := range []struct {
		name     string
		between  []*command.Request // applied after the setup, each in its own entry
		sameCall []*command.Request // applied in the Apply call of the txn, before it
		key, end string
		since    int64
		holds    bool
	}{
		{name: "span, nothing changed", key: "b/", end: "b0", since: R, holds: true},
		{name: "key, nothing changed", key: "b/x", since: R, holds: true},
		{name: "absent key, nothing changed", key: "b/y", since: R, holds: true},
		{name: "span, creation", between: []*command.Request{putReq("b/y", "1")}, key: "b/", end: "b0", since: R},
		{name: "key, creation", between: []*command.Request{putReq("b/y", "1")}, key: "b/y", since: R},
		{name: "span, update", between: []*command.Request{putReq("b/x", "2")}, key: "b/", end: "b0", since: R},
		{name: "span, deletion", between: []*command.Request{delReq("b/x")}, key: "b/", end: "b0", since: R},
		{name: "key, deletion", between: []*command.Request{delReq("b/x")}, key: "b/x", since: R},
		{name: "span, create then delete (ABA)", between: []*command.Request{putReq("b/y", "1"), delReq("b/y")}, key: "b/", end: "b0", since: R},
		{name: "key, create then delete (ABA)", between: []*command.Request{putReq("b/y", "1"), delReq("b/y")}, key: "b/y", since: R},
		{name: "key, delete then recreate", between: []*command.Request{delReq("b/x"), putReq("b/x", "1")}, key: "b/x", since: R},
		{name: "span, change outside", between: []*command.Request{putReq("a", "2"), putReq("c", "2"), putReq("b0", "1")}, key: "b/", end: "b0", since: R, holds: true},
		{name: "key, change of another key", between: []*command.Request{putReq("b/xy", "1"), putReq("b/", "1")}, key: "b/x", since: R, holds: true},
		{name: "span, change at the revision", key: "b/", end: "b0", since: 2, holds: true},
		{name: "key, change at the revision", key: "b/x", since: 2, holds: true},
		{name: "span, change just after the revision", key: "b/", end: "b0", since: 1},
		{name: "key, change just after the revision", key: "b/x", since: 1},
		{name: "to the end, change above", between: []*command.Request{putReq("z", "1")}, key: "b/", end: "\x00", since: R},
		{name: "to the end, change below", between: []*command.Request{putReq("a", "2")}, key: "b/", end: "\x00", since: R, holds: true},
		{name: "everything, any change", between: []*command.Request{putReq("a", "2")}, key: "\x00", end: "\x00", since: R},
		{name: "span, same Apply call", sameCall: []*command.Request{putReq("b/y", "1")}, key: "b/", end: "b0", since: R},
		{name: "key, same Apply call", sameCall: []*command.Request{putReq("b/y", "1"), delReq("b/y")}, key: "b/y", since: R},
		{name: "span, outside in the same Apply call", sameCall: []*command.Request{putReq("c", "9")}, key: "b/", end: "b0", since: R, holds: true},
		{name: "key, below the horizon", between: []*command.Request{{Compact: &command.CompactRequest{Revision: R}}}, key: "a", since: R - 1},
		{name: "span, below the horizon", between: []*command.Request{{Compact: &command.CompactRequest{Revision: R}}}, key: "x", end: "y", since: R - 1},
		{name: "span, at the horizon", between: []*command.Request{{Compact: &command.CompactRequest{Revision: R}}}, key: "b/", end: "b0", since: R, holds: true},
		{name: "key, horizon raised in the same Apply call", sameCall: []*command.Request{{Compact: &command.CompactRequest{Revision: R}}}, key: "a", since: R - 1},
		{name: "key, future revision", key: "a", since: R + 1},
		{name: "span, future revision", key: "x", end: "y", since: R + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.apply(e.entry(putReq("a", "1")), e.entry(putReq("b/x", "1")), e.entry(putReq("c", "1")))
			for _, r := range tc.between {
				e.apply(e.entry(r))
			}
			var ents []raftnode.Entry
			for _, r := range tc.sameCall {
				ents = append(ents, e.entry(r))
			}
			ents = append(ents, e.entry(unchangedTxn(tc.key, tc.end, tc.since)))
			rs := e.apply(ents...)
			res := rs[len(rs)-1]
			if res.Err != "" || res.Txn == nil {
				t.Fatalf("result err %q txn %v", res.Err, res.Txn)
			}
			if res.Txn.Succeeded != tc.holds {
				t.Fatalf("compare held: %v, want %v", res.Txn.Succeeded, tc.holds)
			}
		})
	}
}

// TestUnchangedSinceVsModRevision: a key absent at R, created and deleted
// again, still has mod revision 0, so a mod revision compare misses the
// change; the unchanged-since compare catches it.
func TestUnchangedSinceVsModRevision(t *testing.T) {
	e := newEnv(t)
	e.apply(e.entry(putReq("a", "1")))
	e.apply(e.entry(putReq("k", "1")), e.entry(delReq("k")))
	mod := &command.Request{Txn: &command.TxnRequest{Compares: []command.Compare{
		{Key: []byte("k"), Target: command.CompareModRevision, Result: command.CompareEqual, Int: 0}}}}
	rs := e.apply(e.entry(mod), e.entry(unchangedTxn("k", "", 1)))
	if !rs[0].Txn.Succeeded || rs[1].Txn.Succeeded {
		t.Fatalf("mod revision compare held %v, unchanged-since held %v", rs[0].Txn.Succeeded, rs[1].Txn.Succeeded)
	}
}

// TestUnchangedSinceScanLimit: a span compare that would read more change
// index entries than the limit fails, deterministically.
func TestUnchangedSinceScanLimit(t *testing.T) {
	defer func(n int) { maxUnchangedScan = n }(maxUnchangedScan)
	maxUnchangedScan = 3
	e := newEnv(t)
	for _, k := range []string{"a", "b", "c"} {
		e.apply(e.entry(putReq(k, "1")))
	}
	// Three changes since 0, none in [x, y): within the limit.
	if rs := e.apply(e.entry(unchangedTxn("x", "y", 0))); !rs[0].Txn.Succeeded {
		t.Fatal("compare over 3 changes failed")
	}
	// The txn wrote "done": four changes since 0, over the limit.
	if rs := e.apply(e.entry(unchangedTxn("x", "y", 0))); rs[0].Txn.Succeeded {
		t.Fatal("compare over 4 changes held")
	}
	// A single key needs no scan.
	if rs := e.apply(e.entry(unchangedTxn("x", "", 0))); !rs[0].Txn.Succeeded {
		t.Fatal("key compare failed")
	}
	// The limit is per txn: two span compares over 2 changes each exceed it.
	maxUnchangedScan = 4
	rev := e.sm.Revision()
	e.apply(e.entry(putReq("a", "2")), e.entry(putReq("b", "2")))
	two := unchangedTxn("x", "y", rev)
	if rs := e.apply(e.entry(two)); !rs[0].Txn.Succeeded {
		t.Fatal("one compare over 2 changes failed")
	}
	rev = e.sm.Revision()
	e.apply(e.entry(putReq("a", "3")), e.entry(putReq("b", "3")))
	two = unchangedTxn("x", "y", rev)
	two.Txn.Compares = append(two.Txn.Compares, two.Txn.Compares[0], two.Txn.Compares[0])
	if rs := e.apply(e.entry(two)); rs[0].Txn.Succeeded {
		t.Fatal("three compares over 2 changes each held")
	}
}

// TestUnchangedSinceInvalid: malformed unchanged-since compares make the
// txn invalid, whatever the data.
func TestUnchangedSinceInvalid(t *testing.T) {
	e := newEnv(t)
	e.apply(e.entry(putReq("a", "1")))
	for name, c := range map[string]command.Compare{
		"not equal":        {Key: []byte("a"), Target: command.CompareUnchangedSince, Result: command.CompareNotEqual, Int: 1},
		"negative":         {Key: []byte("a"), Target: command.CompareUnchangedSince, Result: command.CompareEqual, Int: -1},
		"empty span":       {Key: []byte("b"), Value: []byte("a"), Target: command.CompareUnchangedSince, Result: command.CompareEqual, Int: 1},
		"empty key":        {Target: command.CompareUnchangedSince, Result: command.CompareEqual, Int: 1},
		"target too large": {Key: []byte("a"), Target: command.CompareUnchangedSince + 1, Result: command.CompareEqual},
	} {
		rs := e.apply(e.entry(&command.Request{Txn: &command.TxnRequest{Compares: []command.Compare{c}}}))
		if rs[0].Err != command.ErrCodeInvalid {
			t.Errorf("%s: err %q, want %q", name, rs[0].Err, command.ErrCodeInvalid)
		}
	}
}

// BenchmarkUnchangedSince measures one unchanged-since compare with 1000
// writes (to other keys) since its revision: a span compare scans them, a
// key compare seeks once.
func BenchmarkUnchangedSince(b *testing.B) {
	for _, bc := range []struct{ name, key, end string }{{"key", "x", ""}, {"span", "x", "y"}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b)
			var ents []raftnode.Entry
			for i := range 1000 {
				ents = append(ents, e.entry(putReq(fmt.Sprintf("k%04d", i), "v")))
			}
			e.apply(ents...)
			a := &e.sm.ap
			a.rev, a.compacted = e.sm.revision.Load(), e.sm.compacted.Load()
			b.ResetTimer()
			for range b.N {
				a.scanBudget = maxUnchangedScan
				if ok, err := a.unchangedSince([]byte(bc.key), []byte(bc.end), 0); err != nil || !ok {
					b.Fatal("compare failed", err)
				}
			}
		})
	}
}
