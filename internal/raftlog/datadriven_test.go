package raftlog

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/storage"
	"github.com/cockroachdb/datadriven"
	"github.com/cockroachdb/pebble/v2/vfs"
	pb "go.etcd.io/raft/v3/raftpb"
)

// TestDataDriven runs testdata/*.txt. Commands:
//
//	open [cache=bytes]          fresh in-memory DB and Storage (cache<0 disables it)
//	reopen                      close the DB and open DB and Storage again
//	append lo-hi term=t [size=n] | compact i | apply-snapshot i t [voters=1,2]
//	hard-state term vote commit one write in its own batch, committed and marked durable
//	batch [commit=false] [mark=false] [read=lo-hi]
//	  <write command per line>  several writes in one batch; read prints
//	                            entries lo..hi as readers see them while staged
//	entries lo hi [max=bytes]   term i | term lo-hi
//	state | initial-state | snapshot | set-snapshot-point i t [voters=1,2]
//
// Write commands print the resulting state. Run with -rewrite to regenerate.
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		e := &ddEnv{}
		defer e.close()
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			return e.run(t, td)
		})
	})
}

const ddGroup = 7

type ddEnv struct {
	fs   vfs.FS
	opts Options
	db   *storage.DB
	s    *Storage
}

// ddOp is a command with positional and key=value arguments.
type ddOp struct {
	name string
	pos  []string
	kv   map[string]string
}

func parseOp(line string) ddOp {
	f := strings.Fields(line)
	op := ddOp{name: f[0], kv: map[string]string{}}
	for _, a := range f[1:] {
		if k, v, ok := strings.Cut(a, "="); ok {
			op.kv[k] = v
		} else {
			op.pos = append(op.pos, a)
		}
	}
	return op
}

func (o ddOp) uint(t *testing.T, i int) uint64 {
	t.Helper()
	if i >= len(o.pos) {
		t.Fatalf("%s: missing argument %d", o.name, i+1)
	}
	return mustUint(t, o.pos[i])
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (o ddOp) kvUint(t *testing.T, k string, def uint64) uint64 {
	if v, ok := o.kv[k]; ok {
		return mustUint(t, v)
	}
	return def
}

func parseRange(t *testing.T, s string) (lo, hi uint64) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	return mustUint(t, a), mustUint(t, b)
}

func (e *ddEnv) open(t *testing.T) {
	t.Helper()
	db, err := storage.Open("db", storage.Options{FS: e.fs})
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	if e.s, err = OpenWithOptions(db, ddGroup, e.opts); err != nil {
		t.Fatal(err)
	}
}

func (e *ddEnv) close() {
	if e.db != nil {
		_ = e.db.Close()
		e.db, e.s = nil, nil
	}
}

func (e *ddEnv) run(t *testing.T, td *datadriven.TestData) string {
	op := parseOp(td.FullCmd())
	switch op.name {
	case "open":
		e.close()
		e.fs = vfs.NewMem()
		e.opts = Options{CacheBytes: int64(mustInt(t, op.kv["cache"]))}
		e.open(t)
		return e.state()
	case "reopen":
		e.close()
		e.open(t)
		return e.state()
	case "append", "compact", "apply-snapshot", "hard-state":
		b := e.db.NewBatch()
		defer b.Close()
		if err := e.write(t, b, op); err != nil {
			return "error: " + err.Error()
		}
		if err := b.Commit(true); err != nil {
			t.Fatal(err)
		}
		e.s.MarkDurable()
		return e.state()
	case "batch":
		return e.batch(t, op, td.Input)
	case "entries":
		return e.entries(t, op)
	case "term":
		return e.terms(t, op)
	case "state":
		return e.state()
	case "initial-state":
		hs, cs, err := e.s.InitialState()
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("hs: %s\ncs: %s", fmtHardState(hs), fmtConfState(cs))
	case "snapshot":
		snap, err := e.s.Snapshot()
		if err != nil {
			return "error: " + err.Error()
		}
		md := snap.GetMetadata()
		return fmt.Sprintf("index=%d term=%d cs: %s data=%d", md.GetIndex(), md.GetTerm(), fmtConfState(md.GetConfState()), len(snap.GetData()))
	case "set-snapshot-point":
		e.s.SetSnapshotPoint(op.uint(t, 0), op.uint(t, 1), confState(t, op))
		return "ok"
	}
	t.Fatalf("unknown command %q", op.name)
	return ""
}

func mustInt(t *testing.T, s string) int {
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func confState(t *testing.T, op ddOp) *pb.ConfState {
	v, ok := op.kv["voters"]
	if !ok {
		return nil
	}
	cs := &pb.ConfState{}
	for _, id := range strings.Split(v, ",") {
		cs.Voters = append(cs.Voters, mustUint(t, id))
	}
	return pb.EnsureConfState(cs)
}

// write stages one write command into b.
func (e *ddEnv) write(t *testing.T, b *storage.Batch, op ddOp) error {
	switch op.name {
	case "append":
		if len(op.pos) == 0 {
			t.Fatal("append: missing range")
		}
		lo, hi := parseRange(t, op.pos[0])
		term := op.kvUint(t, "term", 1)
		var ents []*pb.Entry
		for i := lo; i <= hi; i++ {
			ents = append(ents, testEntry(i, term, int(op.kvUint(t, "size", 0))))
		}
		return e.s.Append(b, ents)
	case "compact":
		return e.s.Compact(b, op.uint(t, 0))
	case "apply-snapshot":
		md := &pb.SnapshotMetadata{Index: new(op.uint(t, 0)), Term: new(op.uint(t, 1)), ConfState: confState(t, op)}
		return e.s.ApplySnapshot(b, &pb.Snapshot{Metadata: md})
	case "hard-state":
		hs := &pb.HardState{Term: new(op.uint(t, 0)), Vote: new(op.uint(t, 1)), Commit: new(op.uint(t, 2))}
		return e.s.SetHardState(b, hs)
	}
	t.Fatalf("unknown write command %q", op.name)
	return nil
}

// testEntry makes an entry whose data names it ("i.t"), padded to size bytes.
func testEntry(index, term uint64, size int) *pb.Entry {
	data := fmt.Appendf(nil, "%d.%d", index, term)
	for len(data) < size {
		data = append(data, '.')
	}
	return &pb.Entry{Index: new(index), Term: new(term), Type: new(pb.EntryType_EntryNormal), Data: data}
}

func (e *ddEnv) batch(t *testing.T, op ddOp, input string) string {
	var out strings.Builder
	b := e.db.NewBatch()
	defer b.Close()
	for line := range strings.Lines(input) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		w := parseOp(line)
		fmt.Fprintf(&out, "%s: ", strings.TrimSpace(line))
		if err := e.write(t, b, w); err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
			continue
		}
		out.WriteString("ok\n")
	}
	fmt.Fprintf(&out, "staged, readers see: %s\n", e.state())
	if r, ok := op.kv["read"]; ok {
		lo, hi := parseRange(t, r)
		fmt.Fprintf(&out, "staged, entries %d-%d: %s\n", lo, hi, e.entries(t, ddOp{pos: []string{fmt.Sprint(lo), fmt.Sprint(hi + 1)}}))
	}
	if op.kv["commit"] != "false" {
		if err := b.Commit(true); err != nil {
			t.Fatal(err)
		}
	}
	if op.kv["mark"] == "false" {
		out.WriteString("not marked durable")
		return out.String()
	}
	if op.kv["commit"] == "false" {
		e.s.DiscardPending()
		fmt.Fprintf(&out, "discarded: %s", e.state())
		return out.String()
	}
	e.s.MarkDurable()
	fmt.Fprintf(&out, "durable: %s", e.state())
	return out.String()
}

func (e *ddEnv) entries(t *testing.T, op ddOp) string {
	maxSize := op.kvUint(t, "max", ^uint64(0))
	ents, err := e.s.Entries(op.uint(t, 0), op.uint(t, 1), maxSize)
	if err != nil {
		return "error: " + err.Error()
	}
	return fmtEntries(ents)
}

func fmtEntries(ents []*pb.Entry) string {
	if len(ents) == 0 {
		return "(none)"
	}
	parts := make([]string, len(ents))
	for i, e := range ents {
		parts[i] = fmt.Sprintf("%d/%d", e.GetIndex(), e.GetTerm())
		if want := fmt.Sprintf("%d.%d", e.GetIndex(), e.GetTerm()); !strings.HasPrefix(string(e.GetData()), want) {
			parts[i] += "(bad data " + string(e.GetData()) + ")"
		}
	}
	return strings.Join(parts, " ")
}

func (e *ddEnv) terms(t *testing.T, op ddOp) string {
	lo, hi := parseRange(t, op.pos[0])
	var out strings.Builder
	for i := lo; i <= hi; i++ {
		term, err := e.s.Term(i)
		if err != nil {
			fmt.Fprintf(&out, "%d: error: %v\n", i, err)
			continue
		}
		fmt.Fprintf(&out, "%d: %d\n", i, term)
	}
	return strings.TrimSuffix(out.String(), "\n")
}

func (e *ddEnv) state() string {
	s := e.s
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	n, bytes := s.LogSize()
	s.mu.Lock()
	st := s.mu.durable
	s.mu.Unlock()
	cache := "[]"
	if len(st.cache.ents) > 0 {
		cache = fmt.Sprintf("[%d,%d]", st.cache.firstIndex(), st.cache.firstIndex()+uint64(len(st.cache.ents))-1)
	}
	return fmt.Sprintf("first=%d last=%d trunc=%d/%d size=%d/%dB cache=%s", first, last, st.truncIndex, st.truncTerm, n, bytes, cache)
}

func fmtHardState(hs *pb.HardState) string {
	if hs == nil {
		return "<nil>"
	}
	return fmt.Sprintf("term=%d vote=%d commit=%d", hs.GetTerm(), hs.GetVote(), hs.GetCommit())
}

func fmtConfState(cs *pb.ConfState) string {
	return fmt.Sprintf("voters=%v learners=%v", cs.GetVoters(), cs.GetLearners())
}
