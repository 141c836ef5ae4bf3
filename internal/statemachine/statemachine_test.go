package statemachine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/raftnode"
	pb "go.etcd.io/raft/v3/raftpb"
)

// randomRequest returns a request over a small keyspace so that keys
// collide, txns both succeed and fail, and reads hit old revisions.
func randomRequest(rng *rand.Rand, approxRev int64) *command.Request {
	k := func() []byte { return []byte{'a' + byte(rng.IntN(8))} }
	put := func() *command.PutRequest {
		return &command.PutRequest{Key: k(), Value: fmt.Appendf(nil, "v%d", rng.IntN(100)), PrevKV: rng.IntN(2) == 0}
	}
	del := func() *command.DeleteRequest {
		d := &command.DeleteRequest{Key: k(), PrevKV: rng.IntN(2) == 0}
		if rng.IntN(3) == 0 {
			d.End = []byte{d.Key[0] + byte(rng.IntN(3))}
		}
		return d
	}
	rangeReq := func() *command.RangeRequest {
		r := &command.RangeRequest{Key: k(), End: []byte("\x00"), Limit: int64(rng.IntN(3))}
		if rng.IntN(2) == 0 {
			r.Revision = rng.Int64N(approxRev + 2)
		}
		return r
	}
	switch n := rng.IntN(20); {
	case n < 8:
		return &command.Request{Put: put()}
	case n < 11:
		return &command.Request{Delete: del()}
	case n < 12:
		return &command.Request{Compact: &command.CompactRequest{Revision: rng.Int64N(approxRev + 2)}}
	default:
		t := &command.TxnRequest{}
		for range rng.IntN(3) {
			t.Compares = append(t.Compares, command.Compare{
				Key:    k(),
				Target: command.CompareTarget(1 + rng.IntN(4)),
				Result: command.CompareResult(1 + rng.IntN(4)),
				Value:  fmt.Appendf(nil, "v%d", rng.IntN(100)),
				Int:    rng.Int64N(approxRev + 2),
			})
		}
		ops := func() []command.TxnOp {
			var ops []command.TxnOp
			for range rng.IntN(4) {
				switch rng.IntN(3) {
				case 0:
					ops = append(ops, command.TxnOp{Put: put()})
				case 1:
					ops = append(ops, command.TxnOp{Delete: del()})
				default:
					ops = append(ops, command.TxnOp{Range: rangeReq()})
				}
			}
			return ops
		}
		t.Success, t.Failure = ops(), ops()
		return &command.Request{Txn: t}
	}
}

// randomEntries returns n entries of 0-3 proposals each, with an
// occasional conf change.
func randomEntries(seed uint64, n int) []raftnode.Entry {
	rng := rand.New(rand.NewPCG(seed, seed))
	var entries []raftnode.Entry
	var id uint64
	for i := range n {
		e := raftnode.Entry{Index: uint64(i + 1), Term: 1}
		if rng.IntN(25) == 0 {
			node := uint64(1 + rng.IntN(4))
			typ := pb.ConfChangeType(rng.IntN(4))
			e.ConfChange = &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{{Type: new(typ), NodeId: new(node)}}}
			e.ConfState = &pb.ConfState{Voters: []uint64{node}}
		} else {
			for range rng.IntN(4) {
				id++
				r := randomRequest(rng, int64(i))
				r.ID = id
				e.Proposals = append(e.Proposals, command.EncodeRequest(nil, r))
			}
		}
		entries = append(entries, e)
	}
	return entries
}

// applyInChunks applies entries in Apply calls of random sizes and returns
// the encoded results.
func applyInChunks(t *testing.T, e *env, entries []raftnode.Entry, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out [][]byte
	for len(entries) > 0 {
		n := min(1+rng.IntN(10), len(entries))
		for _, r := range e.apply(entries[:n]...) {
			out = append(out, command.EncodeResult(nil, r))
		}
		entries = entries[n:]
	}
	if err := e.sm.comp.sync(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeterminism applies one random log on two state machines, split into
// different Apply calls, and requires identical results, data and reads.
func TestDeterminism(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			entries := randomEntries(seed, 300)
			a, b := newEnv(t), newEnv(t)
			ra := applyInChunks(t, a, entries, 100+seed)
			rb := applyInChunks(t, b, entries, 200+seed)
			if len(ra) != len(rb) {
				t.Fatalf("%d results vs %d", len(ra), len(rb))
			}
			for i := range ra {
				if !bytes.Equal(ra[i], rb[i]) {
					t.Fatalf("result %d differs", i)
				}
			}
			if da, db := dump(t, a.db), dump(t, b.db); da != db {
				t.Fatalf("data differs:\n%s\n---\n%s", da, db)
			}
			if a.status() != b.status() {
				t.Fatalf("status differs: %s vs %s", a.status(), b.status())
			}
			if a.sm.Revision() < 50 {
				t.Fatalf("revision %d: the random log writes too little", a.sm.Revision())
			}
			for rev := a.sm.CompactRevision(); rev <= a.sm.Revision(); rev++ {
				req := &command.RangeRequest{Key: []byte("a"), End: []byte("\x00"), Revision: rev}
				x, _, err1 := a.sm.Range(req)
				y, _, err2 := b.sm.Range(req)
				if err1 != nil || err2 != nil {
					t.Fatalf("range at %d: %v, %v", rev, err1, err2)
				}
				if fmtRange(x, "") != fmtRange(y, "") {
					t.Fatalf("range at %d differs", rev)
				}
			}
		})
	}
}

// TestCompactionStepsKeepReads runs a compaction pass one deletion per
// batch and checks after every batch that reads at or above the horizon
// are unchanged (no deleted key reappears, no kept version disappears).
func TestCompactionStepsKeepReads(t *testing.T) {
	e := newEnv(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		k := []byte{'a' + byte(rng.IntN(5))}
		if rng.IntN(3) == 0 {
			e.apply(e.entry(&command.Request{Delete: &command.DeleteRequest{Key: k}}))
		} else {
			e.apply(e.entry(&command.Request{Put: &command.PutRequest{Key: k, Value: []byte("x")}}))
		}
	}
	rev := e.sm.Revision()
	horizon := rev / 2
	readAll := func() string {
		var s string
		for r := horizon; r <= rev; r++ {
			c := collector{req: &command.RangeRequest{Key: []byte("a"), End: []byte("\x00"), Revision: r}, res: &command.RangeResult{}}
			if err := e.sm.rangeAt(e.db, &c, r); err != nil {
				t.Fatal(err)
			}
			s += fmt.Sprintf("@%d %s", r, fmtRange(c.res, ""))
		}
		return s
	}
	want := readAll()
	before := dump(t, e.db)
	// The goroutine is idle (MetaCompacted is 0); drive a pass by hand.
	e.sm.opts.CompactBatchSize = 1
	p := &compactPass{horizon: horizon}
	steps := 0
	for finished := false; !finished; steps++ {
		var err error
		if finished, err = e.sm.comp.step(p); err != nil {
			t.Fatal(err)
		}
		if got := readAll(); got != want {
			t.Fatalf("after step %d reads changed:\n%s\nwant\n%s", steps, got, want)
		}
	}
	after := dump(t, e.db)
	if steps < 20 || len(after) >= len(before) {
		t.Fatalf("compaction did little: %d steps, dump %d -> %d bytes", steps, len(before), len(after))
	}
	// Every remaining history version is either above the horizon or the
	// newest live version at or below it.
	e.sm.opts.CompactBatchSize = 1 << 10
	if _, err := e.sm.comp.step(&compactPass{horizon: horizon}); err != nil {
		t.Fatal(err)
	}
	if again := dump(t, e.db); again != after {
		t.Fatal("a second pass deleted more")
	}
}

// TestResultsAfterCommit checks that when OnResult runs, the write is
// visible to reads and the published revision covers it.
func TestResultsAfterCommit(t *testing.T) {
	e := newEnv(t)
	var failures []string
	e.sm.opts.OnResult = func(r *command.Result) {
		kv, rev, err := e.sm.Get([]byte("k"), 0)
		if err != nil || kv == nil || kv.ModRevision < r.Revision || rev < r.Revision || e.sm.Revision() < r.Revision {
			failures = append(failures, fmt.Sprintf("result rev %d: kv %v rev %d err %v", r.Revision, kv, rev, err))
		}
	}
	for i := range 10 {
		var reqs []*command.Request
		for range i {
			reqs = append(reqs, &command.Request{Put: &command.PutRequest{Key: []byte("k"), Value: []byte("v")}})
		}
		if err := e.sm.Apply([]raftnode.Entry{e.entry(reqs...)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(failures) > 0 {
		t.Fatal(failures)
	}
}

func TestApplyGap(t *testing.T) {
	e := newEnv(t)
	e.apply(e.entry())
	err := e.sm.Apply([]raftnode.Entry{{Index: 3}})
	if err == nil {
		t.Fatal("applying entry 3 after 1 succeeded")
	}
	if e.sm.AppliedIndex() != 1 {
		t.Fatalf("applied index %d after a failed apply", e.sm.AppliedIndex())
	}
}

// TestConcurrentReads runs readers against a writer whose every txn writes
// the same value to three keys: a consistent read never sees them differ.
func TestConcurrentReads(t *testing.T) {
	e := newEnv(t)
	keys := [][]byte{[]byte("x1"), []byte("x2"), []byte("x3")}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for range 3 {
		wg.Go(func() {
			for !stop.Load() {
				res, rev, err := e.sm.Range(&command.RangeRequest{Key: []byte("x"), End: []byte("y")})
				if err == nil && len(res.KVs) == 3 {
					for _, kv := range res.KVs {
						if !bytes.Equal(kv.Value, res.KVs[0].Value) || kv.ModRevision != rev {
							err = fmt.Errorf("inconsistent read at %d: %v", rev, res.KVs)
						}
					}
				}
				if err == nil && rev > 1 {
					// An old revision reads the same way.
					res, _, err = e.sm.Range(&command.RangeRequest{Key: []byte("x"), End: []byte("y"), Revision: rev - 1})
					if err == nil && len(res.KVs) != 3 {
						err = fmt.Errorf("read at %d: %d keys", rev-1, len(res.KVs))
					}
					if errors.Is(err, ErrCompacted) {
						err = nil // this reader fell behind the compaction horizon
					}
				}
				if err == nil {
					var kv *command.KeyValue
					kv, rev, err = e.sm.Get(keys[0], 0)
					if err == nil && kv != nil && kv.ModRevision > rev {
						err = fmt.Errorf("get: mod revision %d above served revision %d", kv.ModRevision, rev)
					}
				}
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	for i := range 300 {
		txn := &command.TxnRequest{}
		for _, k := range keys {
			txn.Success = append(txn.Success, command.TxnOp{Put: &command.PutRequest{Key: k, Value: fmt.Appendf(nil, "%d", i)}})
		}
		e.apply(e.entry(&command.Request{Txn: txn}))
		if i%50 == 49 {
			e.apply(e.entry(&command.Request{Compact: &command.CompactRequest{Revision: e.sm.Revision() - 10}}))
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

// snapshotBytes returns the whole snapshot stream of e.
func snapshotBytes(t *testing.T, e *env) ([]byte, uint64) {
	body, index, err := e.sm.OpenSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	b, err := io.ReadAll(iotest.OneByteReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return b, index
}

// restoreStream installs a snapshot stream into e as the raft loop does:
// Restore into a batch, commit it, Reload.
func (e *env) restoreStream(t *testing.T, r io.Reader, index uint64) {
	t.Helper()
	b := e.db.NewBatch()
	defer b.Close()
	if err := e.sm.Restore(b, r, index, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	if err := e.sm.Reload(); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotLarge(t *testing.T) {
	src := newEnv(t)
	val := bytes.Repeat([]byte("v"), 1000)
	for i := range 300 { // > several 64 KiB chunks
		src.apply(src.entry(&command.Request{Put: &command.PutRequest{Key: fmt.Appendf(nil, "key%04d", i), Value: val}}))
	}
	stream, index := snapshotBytes(t, src)
	if len(stream) < 4*snapshotChunk {
		t.Fatalf("stream is only %d bytes", len(stream))
	}
	dst := newEnv(t)
	dst.restoreStream(t, iotest.HalfReader(bytes.NewReader(stream)), index)
	if dump(t, src.db) != dump(t, dst.db) {
		t.Fatal("restored data differs")
	}
	// The restored node carries on from the snapshot's index (and the
	// proposer's request IDs, which the restored dedup window knows).
	dst.index, dst.nextID = index, src.nextID
	if res := dst.apply(dst.entry(&command.Request{Put: &command.PutRequest{Key: []byte("new"), Value: []byte("1")}})); res[0].Revision != 301 {
		t.Fatalf("revision after restore: %d", res[0].Revision)
	}
}

func TestRestoreCorrupt(t *testing.T) {
	src := newEnv(t)
	src.apply(src.entry(&command.Request{Put: &command.PutRequest{Key: []byte("a"), Value: []byte("1")}}))
	src.apply(src.entry(&command.Request{Put: &command.PutRequest{Key: []byte("b"), Value: []byte("2")}}))
	stream, index := snapshotBytes(t, src)

	dst := newEnv(t)
	restore := func(body []byte, index uint64) error {
		b := dst.db.NewBatch()
		defer b.Close()
		return dst.sm.Restore(b, bytes.NewReader(body), index, nil)
	}
	if err := restore(stream, index); err != nil {
		t.Fatalf("intact stream: %v", err)
	}
	for i := range len(stream) {
		if err := restore(stream[:i], index); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("stream truncated to %d: %v", i, err)
		}
		flipped := bytes.Clone(stream)
		flipped[i] ^= 0x10
		if err := restore(flipped, index); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	if err := restore(append(bytes.Clone(stream), 0), index); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte: %v", err)
	}
	if err := restore(stream, index+1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("wrong index: %v", err)
	}
	// A failed restore resumes the compactor.
	dst.apply(dst.entry(&command.Request{Put: &command.PutRequest{Key: []byte("a"), Value: []byte("1")}}))
	dst.apply(dst.entry(&command.Request{Compact: &command.CompactRequest{Revision: 1}}))
	if err := dst.sm.comp.sync(); err != nil {
		t.Fatal(err)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []record{
		{create: 1, mod: 2, version: 3, lease: 4, value: []byte("v")},
		{tombstone: true, mod: 9},
		{create: 1 << 60, mod: 1 << 61, version: 1, value: nil},
	} {
		var got record
		if err := decodeRecord(appendRecord(nil, &r), &got); err != nil {
			t.Fatal(err)
		}
		if fmtRecord(&got) != fmtRecord(&r) || got.tombstone != r.tombstone {
			t.Fatalf("got %s want %s", fmtRecord(&got), fmtRecord(&r))
		}
	}
	for _, b := range [][]byte{nil, {0}, {3}, {1}, {1, 2, 2}} {
		if err := decodeRecord(b, new(record)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%x: %v", b, err)
		}
	}
}

func BenchmarkApply64Puts(b *testing.B) {
	e := newEnv(b)
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
}

func BenchmarkGetLatest(b *testing.B) {
	e := newEnv(b)
	for i := range 1000 {
		e.apply(e.entry(&command.Request{Put: &command.PutRequest{Key: fmt.Appendf(nil, "key%06d", i), Value: make([]byte, 100)}}))
	}
	key := []byte("key000500")
	b.ReportAllocs()
	for b.Loop() {
		if kv, _, err := e.sm.Get(key, 0); err != nil || kv == nil {
			b.Fatal(kv, err)
		}
	}
}
