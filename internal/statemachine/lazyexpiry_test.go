package statemachine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/watch"
)

// expiredEnv returns a state machine holding k="5" expiring at Unix ms
// 1000 and a="1" without expiry, and the sink recording its changes.
func expiredEnv(t *testing.T) (*env, *recordingSink) {
	sink := &recordingSink{collect: true}
	e := newSinkEnv(t, sink)
	e.oneT(t, put("a", "1", 0))
	e.oneT(t, put("k", "5", 0))
	r := e.oneT(t, &command.Request{Expire: &command.ExpireRequest{Op: command.ExpireSet, Key: []byte("k"), At: 1000, Now: 500}})
	if !r.Expire.Done {
		t.Fatalf("expire: %+v", r.Expire)
	}
	return e, sink
}

// eventsSince formats the events recorded after the first n.
func eventsSince(s *recordingSink, n int) string {
	var b strings.Builder
	for i := n; i < len(s.events); i++ {
		ev := &s.events[i]
		fmt.Fprintf(&b, "%d %s %s=%q prev=%q;", ev.Revision, ev.Type, ev.Key, ev.Value, ev.PrevValue)
	}
	return b.String()
}

func mutateReq(m command.MutateRequest) *command.Request { return &command.Request{Mutate: &m} }

// TestLazyExpiryWrites applies, at a clock past k's expiry, each write that
// reads k first: it must see k absent, after an expiry of k at a revision
// of its own, as if the reaper had run just before.
func TestLazyExpiryWrites(t *testing.T) {
	k := []byte("k")
	for _, tc := range []struct {
		name   string
		req    *command.Request
		check  func(r *command.Result) string // "" if the result is right
		writes bool                           // the request writes after the expiry
		events string                         // events at the write's revision (5)
	}{
		{"incr", mutateReq(command.MutateRequest{Op: command.MutateIncrBy, Key: k, Int: 1}),
			func(r *command.Result) string { return want(r.Mutate.Int == 1 && !r.Mutate.Existed, r.Mutate) }, true,
			`5 put k="1" prev="";`},
		{"incrbyfloat", mutateReq(command.MutateRequest{Op: command.MutateIncrByFloat, Key: k, Float: 1.5}),
			func(r *command.Result) string { return want(string(r.Mutate.Value) == "1.5", r.Mutate) }, true,
			`5 put k="1.5" prev="";`},
		{"set nx", mutateReq(command.MutateRequest{Op: command.MutateSet, Key: k, Value: []byte("v"), NX: true}),
			func(r *command.Result) string { return want(r.Mutate.Written, r.Mutate) }, true,
			`5 put k="v" prev="";`},
		{"set xx", mutateReq(command.MutateRequest{Op: command.MutateSet, Key: k, Value: []byte("v"), XX: true}),
			func(r *command.Result) string { return want(!r.Mutate.Written && !r.Mutate.Existed, r.Mutate) }, false, ""},
		{"set get keepttl", mutateReq(command.MutateRequest{Op: command.MutateSet, Key: k, Value: []byte("v"), PrevValue: true, KeepTTL: true}),
			func(r *command.Result) string { return want(r.Mutate.Written && r.Mutate.Prev == nil, r.Mutate) }, true,
			`5 put k="v" prev="";`},
		{"append", mutateReq(command.MutateRequest{Op: command.MutateAppend, Key: k, Value: []byte("x")}),
			func(r *command.Result) string { return want(r.Mutate.Int == 1, r.Mutate) }, true,
			`5 put k="x" prev="";`},
		{"getdel", mutateReq(command.MutateRequest{Op: command.MutateDelete, Key: k, PrevValue: true}),
			func(r *command.Result) string { return want(!r.Mutate.Written && r.Mutate.Prev == nil, r.Mutate) }, false, ""},
		{"rename from", mutateReq(command.MutateRequest{Op: command.MutateRename, Key: k, Dest: []byte("d")}),
			func(r *command.Result) string { return want(r.Err == command.ErrCodeNoSuchKey, r) }, false, ""},
		{"rename nx onto", mutateReq(command.MutateRequest{Op: command.MutateRename, Key: []byte("a"), Dest: k, NX: true}),
			func(r *command.Result) string { return want(r.Mutate.Written, r.Mutate) }, true,
			`5 delete a="" prev="1";5 put k="1" prev="";`},
		{"put prev", &command.Request{Put: &command.PutRequest{Key: k, Value: []byte("v"), PrevKV: true}},
			func(r *command.Result) string { return want(r.Put.PrevKV == nil, r.Put) }, true,
			`5 put k="v" prev="";`},
		{"delete", &command.Request{Delete: &command.DeleteRequest{Key: k, PrevKV: true}},
			func(r *command.Result) string { return want(r.Delete.Deleted == 0, r.Delete) }, false, ""},
		{"delete range", &command.Request{Delete: &command.DeleteRequest{Key: []byte("a"), End: []byte{0}}},
			func(r *command.Result) string { return want(r.Delete.Deleted == 1, r.Delete) }, true,
			`5 delete a="" prev="1";`},
		{"doc set nx", &command.Request{Doc: &command.DocRequest{Op: command.DocSet, Key: k, Path: []byte("$"), Values: [][]byte{[]byte("[1]")}, NX: true}},
			func(r *command.Result) string { return want(r.Doc.Written, r.Doc) }, true,
			`5 put k="[1]" prev="";`},
		{"expire", &command.Request{Expire: &command.ExpireRequest{Op: command.ExpireSet, Key: k, At: 5000, Now: 1000}},
			func(r *command.Result) string { return want(!r.Expire.Existed && !r.Expire.Done, r.Expire) }, false, ""},
		{"persist", &command.Request{Expire: &command.ExpireRequest{Op: command.ExpirePersist, Key: k}},
			func(r *command.Result) string { return want(!r.Expire.Existed, r.Expire) }, false, ""},
		{"txn cas", &command.Request{Txn: &command.TxnRequest{
			Compares: []command.Compare{{Key: k, Target: command.CompareExists, Result: command.CompareEqual, Int: 0}},
			Success: []command.TxnOp{
				{Mutate: &command.MutateRequest{Op: command.MutateSet, Key: k, Value: []byte("new"), NX: true}},
				{Expire: &command.ExpireRequest{Op: command.ExpireSet, Key: k, At: 9000, Now: 1000, Cond: command.ExpireIfWritten}},
			}}},
			func(r *command.Result) string {
				return want(r.Txn.Succeeded && r.Txn.Results[0].Mutate.Written && r.Txn.Results[1].Expire.Done, r.Txn)
			}, true, `5 put k="new" prev="";`},
		{"fence", &command.Request{Fence: &command.FenceRequest{Name: []byte("l"), Token: 1,
			Ops: []command.TxnOp{{Put: &command.PutRequest{Key: k, Value: []byte("v")}}}}},
			func(r *command.Result) string { return want(r.Err == command.ErrCodeFenced, r) }, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, sink := expiredEnv(t)
			seen := len(sink.events)
			tc.req.Now = 1000
			r := e.oneT(t, tc.req)
			if bad := tc.check(r); bad != "" {
				t.Fatalf("result: %s", bad)
			}
			events := `4 expire k="" prev="5";` + tc.events
			if got := eventsSince(sink, seen); got != events {
				t.Fatalf("events\n got %s\nwant %s", got, events)
			}
			wantRev := int64(4)
			if tc.writes {
				wantRev = 5
			}
			if r.Revision != wantRev || e.sm.Revision() != wantRev {
				t.Fatalf("revision %d (result %d), want %d", e.sm.Revision(), r.Revision, wantRev)
			}
			if d := e.leaseDump(t); strings.Contains(d, "expiry 1000") {
				t.Fatalf("expiry index still has k:\n%s", d)
			}
			replayMatches(t, e, sink)
			// The reaper's late reap of k at 1000 is a no-op, also when k
			// was written again.
			before, _, _ := e.sm.Get(k, 0)
			reap := e.oneT(t, &command.Request{Now: 1050, Txn: &command.TxnRequest{Success: []command.TxnOp{
				{Expire: &command.ExpireRequest{Op: command.ExpireReap, Key: k, At: 1000}}}}})
			if reap.Txn.Results[0].Expire.Done || reap.Revision != wantRev {
				t.Fatalf("late reap: %+v at %d", reap.Txn.Results[0].Expire, reap.Revision)
			}
			if after, _, _ := e.sm.Get(k, 0); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("k changed by the late reap: %v, was %v", after, before)
			}
		})
	}
}

func want(ok bool, v any) string {
	if ok {
		return ""
	}
	return fmt.Sprintf("%+v", v)
}

// replayMatches checks that the change index replays the live events.
func replayMatches(t *testing.T, e *env, sink *recordingSink) {
	t.Helper()
	replay, _, err := e.sm.Changes(1, e.sm.Revision(), func([]byte) bool { return true }, true, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(replay) != len(sink.events) {
		t.Fatalf("%d events replayed, %d live", len(replay), len(sink.events))
	}
	for i := range replay {
		if d := diffEvent(&sink.events[i], &replay[i]); d != "" {
			t.Fatalf("event %d: %s", i, d)
		}
	}
}

// TestLazyExpiryBeforeDue: a clock before the expiry, or none (Now = 0,
// as in entries written before the field existed), sees the stored key.
func TestLazyExpiryBeforeDue(t *testing.T) {
	for _, now := range []int64{0, 999} {
		e, _ := expiredEnv(t)
		r := e.oneT(t, &command.Request{Now: now, Mutate: &command.MutateRequest{Op: command.MutateIncrBy, Key: []byte("k"), Int: 1}})
		if r.Mutate.Int != 6 || r.Revision != 4 {
			t.Fatalf("now %d: incr %+v at %d", now, r.Mutate, r.Revision)
		}
		kv, _, err := e.sm.Get([]byte("k"), 0)
		if err != nil || kv == nil || kv.ExpireAt != 1000 {
			t.Fatalf("now %d: k %+v %v (INCR keeps the TTL)", now, kv, err)
		}
	}
}

// TestLazyExpiryReads: compares and range ops of a txn see an expired key
// as absent, without deleting it or taking a revision; reads at an
// explicit revision and Now = 0 see it as stored.
func TestLazyExpiryReads(t *testing.T) {
	e, sink := expiredEnv(t)
	seen := len(sink.events)
	k := []byte("k")
	txn := func(now int64, exists int64) *command.Result {
		return e.oneT(t, &command.Request{Now: now, Txn: &command.TxnRequest{
			Compares: []command.Compare{{Key: k, Target: command.CompareExists, Result: command.CompareEqual, Int: exists}},
			Success: []command.TxnOp{
				{Range: &command.RangeRequest{Key: k}},
				{Range: &command.RangeRequest{Key: []byte("a"), End: []byte{0}}},
				{Range: &command.RangeRequest{Key: []byte("a"), End: []byte{0}, CountOnly: true}},
				{Range: &command.RangeRequest{Key: []byte("a"), End: []byte{0}, Revision: 3}},
			}}})
	}
	r := txn(1000, 0)
	if !r.Txn.Succeeded {
		t.Fatal("exists = 0 does not hold for an expired key")
	}
	res := r.Txn.Results
	if len(res[0].Range.KVs) != 0 || res[0].Range.Count != 0 {
		t.Fatalf("get of an expired key: %+v", res[0].Range)
	}
	if rg := res[1].Range; rg.Count != 1 || len(rg.KVs) != 1 || string(rg.KVs[0].Key) != "a" {
		t.Fatalf("scan: %+v", rg)
	}
	if res[2].Range.Count != 1 {
		t.Fatalf("count: %+v", res[2].Range)
	}
	if res[3].Range.Count != 2 {
		t.Fatalf("scan at revision 3 shows what was stored: %+v", res[3].Range)
	}
	if r.Revision != 3 || len(sink.events) != seen {
		t.Fatalf("a read-only txn wrote: revision %d, events %s", r.Revision, eventsSince(sink, seen))
	}
	if kv, _, err := e.sm.Get(k, 0); err != nil || kv == nil {
		t.Fatalf("k no longer stored: %v %v", kv, err)
	}
	if r := txn(0, 1); !r.Txn.Succeeded || len(r.Txn.Results[0].Range.KVs) != 1 || r.Txn.Results[2].Range.Count != 2 {
		t.Fatalf("Now = 0: %+v", r.Txn)
	}
}

// TestLazyExpiryUndo: undoing a write made after a lazy expiry restores
// the absent key; the expiry itself is not undone (as a reap's is not).
func TestLazyExpiryUndo(t *testing.T) {
	e, _ := expiredEnv(t)
	e.oneT(t, &command.Request{Now: 1000, Mutate: &command.MutateRequest{Op: command.MutateIncrBy, Key: []byte("k"), Int: 1}})
	r := e.oneT(t, &command.Request{Now: 1001, Undo: &command.UndoRequest{}})
	if r.Err != "" || r.Undo.Target != 5 {
		t.Fatalf("undo: %q %+v", r.Err, r.Undo)
	}
	if kv, _, _ := e.sm.Get([]byte("k"), 0); kv != nil {
		t.Fatalf("after undo: %+v", kv)
	}
	// The next change is the EXPIRE (revision 3): k was deleted since.
	if r := e.oneT(t, &command.Request{Undo: &command.UndoRequest{}}); r.Err != command.ErrCodeUndoConflict {
		t.Fatalf("second undo: %q %+v", r.Err, r.Undo)
	}
}

// TestLazyExpiryBatch: requests in one Apply call see each other's lazy
// expiries (through the batch and the pending records), and a key re-set
// with a new expiry is not expired by a later request before that time.
func TestLazyExpiryBatch(t *testing.T) {
	e, sink := expiredEnv(t)
	seen := len(sink.events)
	k := []byte("k")
	incr := &command.Request{Now: 1000, Mutate: &command.MutateRequest{Op: command.MutateIncrBy, Key: k, Int: 1}}
	setex := &command.Request{Now: 1000, Txn: &command.TxnRequest{Success: []command.TxnOp{
		{Mutate: &command.MutateRequest{Op: command.MutateSet, Key: k, Value: []byte("7")}},
		{Expire: &command.ExpireRequest{Op: command.ExpireSet, Key: k, At: 2000, Now: 1000, Cond: command.ExpireIfWritten}},
	}}}
	incr2 := &command.Request{Now: 1999, Mutate: &command.MutateRequest{Op: command.MutateIncrBy, Key: k, Int: 1}}
	incr3 := &command.Request{Now: 2000, Mutate: &command.MutateRequest{Op: command.MutateIncrBy, Key: k, Int: 1}}
	rs := e.apply(e.entry(incr, setex), e.entry(incr2, incr3))
	var got []int64
	for _, r := range rs {
		if r.Mutate != nil {
			got = append(got, r.Mutate.Int)
		}
	}
	if fmt.Sprint(got) != "[1 8 1]" {
		t.Fatalf("incr results %v, want [1 8 1]", got)
	}
	events := `4 expire k="" prev="5";5 put k="1" prev="";6 put k="7" prev="1";7 put k="8" prev="7";` +
		`8 expire k="" prev="8";9 put k="1" prev="";`
	if got := eventsSince(sink, seen); got != events {
		t.Fatalf("events\n got %s\nwant %s", got, events)
	}
	replayMatches(t, e, sink)
	if ev := sink.events[len(sink.events)-2]; ev.Type != watch.Expire {
		t.Fatalf("event type %v", ev.Type)
	}
}

// TestRangeNowHidesExpired: a latest-revision range with a clock leaves
// expired keys out before its limit, so a limited range still fills up
// with live keys and Count counts only live ones.
func TestRangeNowHidesExpired(t *testing.T) {
	e := newEnv(t)
	for _, k := range []string{"a", "b", "c", "d"} {
		e.oneT(t, put(k, "v", 0))
	}
	for _, k := range []string{"a", "b"} {
		e.oneT(t, &command.Request{Expire: &command.ExpireRequest{Op: command.ExpireSet, Key: []byte(k), At: 1000, Now: 500}})
	}
	req := &command.RangeRequest{Key: []byte("a"), End: []byte("z"), Limit: 2}
	res, _, err := e.sm.RangeNow(req, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range res.KVs {
		keys = append(keys, string(kv.Key))
	}
	if got := strings.Join(keys, ","); got != "c,d" || res.Count != 2 || res.More {
		t.Fatalf("range at 1000 = %s count %d more %v, want c,d count 2", got, res.Count, res.More)
	}
	// Before the expiry, and without a clock, all four are there.
	for _, now := range []int64{999, 0} {
		res, _, err := e.sm.RangeNow(req, now)
		if err != nil || res.Count != 4 || len(res.KVs) != 2 || !res.More {
			t.Fatalf("range at %d = %+v, %v; want 2 of 4 keys and more", now, res, err)
		}
	}
}
