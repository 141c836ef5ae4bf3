package bench

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeDriver answers ops in memory after a delay, failing those fail picks.
type fakeDriver struct {
	delay time.Duration
	fail  func(op *Op) error // nil: none fail

	mu        sync.Mutex
	batches   int
	ops       int
	maxBatch  int
	preloaded map[string]int // keys written by puts
	tooMany   bool           // a conn had two batches in flight
}

func (d *fakeDriver) Name() string { return "fake" }
func (d *fakeDriver) Close() error { return nil }

func (d *fakeDriver) Dial(ctx context.Context, client int) (Conn, error) {
	return &fakeConn{d: d}, nil
}

type fakeConn struct {
	d        *fakeDriver
	inFlight atomic.Int32
}

func (c *fakeConn) Close() error { return nil }

func (c *fakeConn) Do(ctx context.Context, ops []Op) {
	d := c.d
	if c.inFlight.Add(1) > 1 {
		d.mu.Lock()
		d.tooMany = true
		d.mu.Unlock()
	}
	defer c.inFlight.Add(-1)
	if d.delay > 0 {
		time.Sleep(d.delay)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.batches++
	d.ops += len(ops)
	d.maxBatch = max(d.maxBatch, len(ops))
	for i := range ops {
		op := &ops[i]
		op.Done = time.Now()
		if d.fail != nil {
			if op.Err = d.fail(op); op.Err != nil {
				continue
			}
		}
		if op.Kind == OpPut {
			if d.preloaded == nil {
				d.preloaded = map[string]int{}
			}
			d.preloaded[string(op.Key())]++
		}
	}
}

func fakeConfig() Config {
	cfg := Default()
	cfg.Clients, cfg.Warmup, cfg.Keys = 4, 0, 100
	return cfg
}

func TestRunOps(t *testing.T) {
	for _, pipeline := range []int{1, 7} {
		d := &fakeDriver{}
		cfg := fakeConfig()
		cfg.Ops, cfg.Pipeline = 1000, pipeline
		res, err := Run(context.Background(), cfg, d)
		if err != nil {
			t.Fatal(err)
		}
		if res.Ops != 1000 || d.ops != 1000 || res.Errors != 0 || res.Latency.Count() != 1000 {
			t.Errorf("pipeline %d: result ops %d, driver saw %d, errors %d", pipeline, res.Ops, d.ops, res.Errors)
		}
		if d.maxBatch != pipeline || d.tooMany {
			t.Errorf("pipeline %d: largest batch %d, overlapping batches %v", pipeline, d.maxBatch, d.tooMany)
		}
		if res.Target != "fake" || res.Clients != 4 || res.Pipeline != pipeline || res.Interrupted {
			t.Errorf("result %+v", res)
		}
	}
}

func TestRunDuration(t *testing.T) {
	d := &fakeDriver{delay: time.Millisecond}
	cfg := fakeConfig()
	cfg.Duration = 300 * time.Millisecond
	start := time.Now()
	res, err := Run(context.Background(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if res.Duration < cfg.Duration || res.Duration > cfg.Duration+200*time.Millisecond || took > 2*time.Second {
		t.Errorf("measured %v (took %v) for a %v run", res.Duration, took, cfg.Duration)
	}
	if res.Ops == 0 || uint64(d.ops) != res.Ops {
		t.Errorf("ops %d, driver saw %d", res.Ops, d.ops)
	}
	// Every op took at least the fake's delay.
	if p := res.Latency.Quantile(0); p < time.Millisecond {
		t.Errorf("min latency %v < delay", p)
	}
}

func TestRunWarmupNotMeasured(t *testing.T) {
	d := &fakeDriver{delay: time.Millisecond}
	cfg := fakeConfig()
	cfg.Ops, cfg.Warmup = 200, 100*time.Millisecond
	res, err := Run(context.Background(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != 200 || d.ops <= 200 {
		t.Errorf("measured %d ops of %d run; want 200 of more", res.Ops, d.ops)
	}
}

func TestRunErrors(t *testing.T) {
	var n atomic.Int64
	d := &fakeDriver{fail: func(op *Op) error {
		switch n.Add(1) % 4 {
		case 0:
			return &OpError{Kind: "fake:boom", Msg: "boom"}
		case 1:
			return context.DeadlineExceeded
		}
		return nil
	}}
	cfg := fakeConfig()
	cfg.Ops, cfg.Pipeline = 1000, 3
	res, err := Run(context.Background(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != 500 || res.Errors != 500 || res.ErrorKinds["fake:boom"] != 250 || res.ErrorKinds["timeout"] != 250 {
		t.Errorf("ops %d errors %d kinds %v", res.Ops, res.Errors, res.ErrorKinds)
	}
	if len(res.FirstErrors) != maxFirstErrors {
		t.Errorf("kept %d messages", len(res.FirstErrors))
	}
	if res.Latency.Count() != 500 {
		t.Errorf("timed %d ops; failed ones must not be timed", res.Latency.Count())
	}
}

func TestRunBacksOffWhenAllFail(t *testing.T) {
	d := &fakeDriver{fail: func(*Op) error { return &OpError{Kind: "net:refused", Msg: "refused"} }}
	cfg := fakeConfig()
	cfg.Duration = 300 * time.Millisecond
	res, err := Run(context.Background(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	// 10+20+40+80+160 ms: about 5 batches a client, not thousands.
	if res.Ops != 0 || res.Errors == 0 || d.batches > 10*cfg.Clients {
		t.Errorf("ops %d errors %d batches %d", res.Ops, res.Errors, d.batches)
	}
}

func TestRunPreload(t *testing.T) {
	d := &fakeDriver{}
	cfg := fakeConfig()
	cfg.Workload, cfg.Preload, cfg.Ops, cfg.Keys, cfg.Clients, cfg.Pipeline = WorkloadGet, true, 10, 1001, 3, 4
	var logged []string
	cfg.Logf = func(f string, a ...any) { logged = append(logged, f) }
	if _, err := Run(context.Background(), cfg, d); err != nil {
		t.Fatal(err)
	}
	if len(d.preloaded) != cfg.Keys {
		t.Fatalf("preloaded %d keys, want %d", len(d.preloaded), cfg.Keys)
	}
	for k, n := range d.preloaded {
		if n != 1 {
			t.Fatalf("%s written %d times", k, n)
		}
	}
	if len(logged) != 1 {
		t.Errorf("logged %q", logged)
	}

	d = &fakeDriver{fail: func(*Op) error { return errors.New("disk full") }}
	if _, err := Run(context.Background(), cfg, d); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("failed preload: %v", err)
	}
}

func TestRunCancelAndProgress(t *testing.T) {
	d := &fakeDriver{delay: time.Millisecond}
	cfg := fakeConfig()
	cfg.Duration = time.Hour
	var mu sync.Mutex
	var snaps []Progress
	ctx, cancel := context.WithCancel(context.Background())
	cfg.ProgressInterval = 20 * time.Millisecond
	cfg.Progress = func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		if snaps = append(snaps, p); len(snaps) == 5 {
			cancel()
		}
	}
	res, err := Run(ctx, cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Ops == 0 {
		t.Errorf("interrupted %v ops %d", res.Interrupted, res.Ops)
	}
	mu.Lock()
	defer mu.Unlock()
	last := snaps[len(snaps)-1]
	if last.Ops == 0 || last.Rate <= 0 || last.P99 < time.Millisecond || last.Ops > res.Ops {
		t.Errorf("last progress %+v, result ops %d", last, res.Ops)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"workload", func(c *Config) { c.Workload = "scan" }, "unknown workload"},
		{"dist", func(c *Config) { c.KeyDist = "normal" }, "unknown key distribution"},
		{"zipf", func(c *Config) { c.KeyDist, c.ZipfS = DistZipfian, 1 }, "zipf exponent"},
		{"keys", func(c *Config) { c.Keys = 0 }, "keys must be"},
		{"ratio", func(c *Config) { c.ReadRatio = 1.5 }, "read ratio"},
		{"txn", func(c *Config) { c.Workload, c.TxnKeys = WorkloadTxn, 20000 }, "txn keys"},
		{"clients", func(c *Config) { c.Clients = 0 }, "clients"},
		{"pipeline", func(c *Config) { c.Pipeline = 0 }, "pipeline"},
		{"cas pipeline", func(c *Config) { c.Workload, c.Pipeline = WorkloadCAS, 2 }, "cannot be pipelined"},
		{"no stop", func(c *Config) { c.Duration = 0 }, "duration"},
	} {
		cfg := Default()
		tc.mod(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	cfg := Default()
	if err := cfg.Validate(); err != nil {
		t.Errorf("default: %v", err)
	}
}

func TestReport(t *testing.T) {
	h := new(Histogram)
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	r := &Result{Workload: WorkloadCAS, Target: "resp", Consistency: "stale", Clients: 2, Pipeline: 1, Keys: 10,
		KeyDist: DistUniform, ValueSize: 8, Ops: 1000, Errors: 3, Conflicts: 7,
		ErrorKinds: map[string]uint64{"timeout": 3}, FirstErrors: []string{"cas: i/o timeout"},
		Duration: 2 * time.Second, Latency: h, ClientCPU: time.Second}
	rep := r.Report()
	if rep.OpsPerSec != 500 || rep.LatencyUS.Max != 1000 || rep.ClientCores != 0.5 ||
		rep.LatencyUS.P50 < 495 || rep.LatencyUS.P50 > 505 {
		t.Errorf("report %+v", rep)
	}
	var sb strings.Builder
	if err := r.WriteJSON(&sb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"workload":"cas"`, `"ops":1000`, `"errors":3`, `"duration_s":2`,
		`"ops_per_sec":500`, `"latency_us":{"p50":`, `"p999":`, `"max":1000`, `"error_kinds":{"timeout":3}`} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("JSON lacks %s: %s", want, sb.String())
		}
	}
	sb.Reset()
	if err := r.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cas on resp (stale)", "500 ops/s", "conflicts   7", "timeout=3", "error: cas: i/o timeout"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, sb.String())
		}
	}
}
