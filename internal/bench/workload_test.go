package bench

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestAppendKey(t *testing.T) {
	for _, tc := range []struct {
		i    int
		want string
	}{{0, "key:0000000000"}, {42, "key:0000000042"}, {9999999999, "key:9999999999"}} {
		if got := string(AppendKey(nil, tc.i)); got != tc.want || len(got) != KeyLen {
			t.Errorf("AppendKey(%d) = %q, want %q", tc.i, got, tc.want)
		}
	}
	buf := make([]byte, 0, KeyLen)
	if n := testing.AllocsPerRun(100, func() { buf = AppendKey(buf[:0], 123) }); n != 0 {
		t.Errorf("AppendKey allocates %v times", n)
	}
}

func testConfig(w Workload) Config {
	cfg := Default()
	cfg.Workload = w
	return cfg
}

// counts fills n ops from a fresh generator for client 0 and counts the
// uses of each key index.
func counts(t *testing.T, cfg Config, n int) []int {
	t.Helper()
	var perm []int32
	if cfg.KeyDist == DistZipfian {
		perm = zipfPerm(cfg.Seed, cfg.Keys)
	}
	g := newGenerator(&cfg, 0, perm)
	c := make([]int, cfg.Keys)
	ops := newOps(1, cfg.TxnKeys)
	for range n {
		g.fill(&ops[0])
		for _, k := range ops[0].keyIdx {
			c[k]++
		}
	}
	return c
}

func TestZipfian(t *testing.T) {
	cfg := testConfig(WorkloadGet)
	cfg.KeyDist, cfg.ZipfS, cfg.Keys = DistZipfian, 1.1, 1000
	const n = 400000
	c := counts(t, cfg, n)
	perm := zipfPerm(cfg.Seed, cfg.Keys)
	byRank := make([]int, len(c))
	for rank, key := range perm {
		byRank[rank] = c[key]
	}
	// P(rank k) is proportional to (k+1)^-s.
	var norm float64
	for k := range cfg.Keys {
		norm += math.Pow(float64(k+1), -cfg.ZipfS)
	}
	for _, k := range []int{0, 1, 2, 9, 99} {
		want := n * math.Pow(float64(k+1), -cfg.ZipfS) / norm
		if got := float64(byRank[k]); math.Abs(got-want) > 0.05*want+3*math.Sqrt(want) {
			t.Errorf("rank %d drawn %v times, want about %.0f", k, got, want)
		}
	}
	// The hot keys are spread over the key space, not bunched at key 0.
	if perm[0] == 0 && perm[1] == 1 {
		t.Error("ranks are not permuted")
	}
	// Skew: the top 10% of ranks get most draws.
	top := 0
	for _, x := range byRank[:cfg.Keys/10] {
		top += x
	}
	if float64(top)/n < 0.6 {
		t.Errorf("top 10%% of keys got %.2f of draws; zipf 1.1 should give > 0.6", float64(top)/n)
	}
}

func TestUniform(t *testing.T) {
	cfg := testConfig(WorkloadGet)
	cfg.Keys = 100
	const n = 100000
	for k, x := range counts(t, cfg, n) {
		if want := n / cfg.Keys; math.Abs(float64(x-want)) > 5*math.Sqrt(float64(want)) {
			t.Errorf("key %d drawn %d times, want about %d", k, x, want)
		}
	}
}

func TestGeneratorOps(t *testing.T) {
	cfg := testConfig(WorkloadMixed)
	cfg.ValueSize = 100
	g := newGenerator(&cfg, 3, nil)
	ops := newOps(1, 1)
	op := &ops[0]
	reads := 0
	const n = 20000
	for range n {
		g.fill(op)
		switch op.Kind {
		case OpGet:
			reads++
			if op.Value != nil {
				t.Fatal("get with a value")
			}
		case OpPut:
			if len(op.Value) != 100 || strings.Trim(string(op.Value), valueAlphabet) != "" {
				t.Fatalf("value %q", op.Value)
			}
		default:
			t.Fatalf("mixed made a %v", op.Kind)
		}
		if len(op.Keys) != 1 || !strings.HasPrefix(string(op.Key()), "key:") {
			t.Fatalf("keys %q", op.Keys)
		}
	}
	if r := float64(reads) / n; math.Abs(r-0.9) > 0.01 {
		t.Errorf("read ratio %.3f, want 0.9", r)
	}
	if a := testing.AllocsPerRun(100, func() { g.fill(op) }); a != 0 {
		t.Errorf("fill allocates %v times", a)
	}

	cfg = testConfig(WorkloadTxn)
	cfg.Keys, cfg.TxnKeys, cfg.KeyDist, cfg.ZipfS = 5, 5, DistZipfian, 3 // forces redraws
	g = newGenerator(&cfg, 0, zipfPerm(1, 5))
	ops = newOps(1, 5)
	for range 100 {
		g.fill(&ops[0])
		seen := map[string]bool{}
		for _, k := range ops[0].Keys {
			if seen[string(k)] {
				t.Fatalf("txn repeats a key: %q", ops[0].Keys)
			}
			seen[string(k)] = true
		}
		if len(seen) != 5 {
			t.Fatalf("txn has %d keys", len(seen))
		}
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	cfg := testConfig(WorkloadMixed)
	seq := func(seed int64, client int) string {
		cfg.Seed = seed
		g := newGenerator(&cfg, client, nil)
		ops := newOps(1, 1)
		var sb strings.Builder
		for range 50 {
			g.fill(&ops[0])
			sb.WriteString(ops[0].Kind.String())
			sb.Write(ops[0].Key())
			sb.Write(ops[0].Value)
		}
		return sb.String()
	}
	if seq(7, 0) != seq(7, 0) {
		t.Error("same seed, different ops")
	}
	if seq(7, 0) == seq(8, 0) || seq(7, 0) == seq(7, 1) {
		t.Error("different seeds or clients give the same ops")
	}
}

func TestGeneratorDocQuery(t *testing.T) {
	for _, tc := range []struct {
		w           Workload
		read, write OpKind
	}{{WorkloadDoc, OpDocGet, OpDocIncr}, {WorkloadQuery, OpQuery, OpQueryTxn}} {
		cfg := testConfig(tc.w)
		cfg.ReadRatio, cfg.ValueSize = 0.3, 10
		g := newGenerator(&cfg, 0, nil)
		ops := newOps(1, 1)
		op := &ops[0]
		reads := 0
		const n = 20000
		for range n {
			g.fill(op)
			switch op.Kind {
			case tc.read:
				reads++
			case tc.write:
			default:
				t.Fatalf("%s made a %v", tc.w, op.Kind)
			}
			if op.Value != nil || len(op.Keys) != 1 {
				t.Fatalf("%v: value %q keys %q", op.Kind, op.Value, op.Keys)
			}
		}
		if r := float64(reads) / n; math.Abs(r-0.3) > 0.015 {
			t.Errorf("%s: read ratio %.3f, want 0.3", tc.w, r)
		}
		if a := testing.AllocsPerRun(100, func() { g.fill(op) }); a != 0 {
			t.Errorf("%s: fill allocates %v times", tc.w, a)
		}

		g.fillPreload(op, 42)
		var doc map[string]any
		if err := json.Unmarshal(op.Value, &doc); err != nil || op.Kind != OpDocSet || string(op.Key()) != "key:0000000042" {
			t.Fatalf("%s preload: %v %q %q: %v", tc.w, op.Kind, op.Key(), op.Value, err)
		}
		if doc["n"] != 0.0 || doc["name"] != "user-42" || len(doc["pad"].(string)) != 10 || len(doc["tags"].([]any)) != 0 {
			t.Errorf("%s preload: %s", tc.w, op.Value)
		}
	}
	cfg := testConfig(WorkloadGet)
	g := newGenerator(&cfg, 0, nil)
	ops := newOps(1, 1)
	g.fillPreload(&ops[0], 7)
	if ops[0].Kind != OpPut || len(ops[0].Value) != cfg.ValueSize {
		t.Errorf("get preload: %v %q", ops[0].Kind, ops[0].Value)
	}
}

func TestAppendScript(t *testing.T) {
	ops := newOps(1, 1)
	op := &ops[0]
	op.addKey(5)
	op.Kind = OpQuery
	if s := string(appendScript(nil, op)); s != "db.get('key:0000000005')" {
		t.Errorf("read script %q", s)
	}
	op.Kind = OpQueryTxn
	if s := string(appendScript(nil, op)); s != "db['key:0000000005']['n'] += 1" {
		t.Errorf("write script %q", s)
	}
}
