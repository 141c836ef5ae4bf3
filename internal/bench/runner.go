package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes a run. Fill it from Default() and change what differs.
type Config struct {
	Workload Workload
	// ReadRatio is the fraction of reads in WorkloadMixed, WorkloadDoc
	// and WorkloadQuery.
	ReadRatio float64
	// TxnKeys is how many distinct keys each OpTxn writes.
	TxnKeys int
	// Keys is the size of the key space: key:0000000000 to key:<Keys-1>.
	Keys    int
	KeyDist KeyDist
	// ZipfS is the exponent of DistZipfian; it must be > 1.
	ZipfS     float64
	ValueSize int
	// Clients is the number of connections, each driven by one goroutine
	// with at most Pipeline ops in flight (a closed loop).
	Clients  int
	Pipeline int
	// Ops, when > 0, is the number of measured ops (errors included); the
	// run ends when they are all done. Otherwise the run measures for
	// Duration.
	Ops      int64
	Duration time.Duration
	// Warmup runs the load unmeasured before measuring starts.
	Warmup time.Duration
	// Preload writes every key once, before the warmup: a random value,
	// or for WorkloadDoc and WorkloadQuery a JSON document (DocJSON) that
	// replaces whatever the key held.
	Preload bool
	// Seed makes key choice and values deterministic (per client).
	Seed int64

	// Progress, if set, is called every ProgressInterval (default 1s)
	// from a goroutine of the runner, and not after Run returns.
	Progress         func(Progress)
	ProgressInterval time.Duration
	// Logf, if set, receives notes such as the preload's duration.
	Logf func(format string, args ...any)
}

// Default returns the defaults of cairn bench.
func Default() Config {
	return Config{
		Workload: WorkloadPut, ReadRatio: 0.9, TxnKeys: 4, Keys: 10000, KeyDist: DistUniform,
		ZipfS: 1.1, ValueSize: 256, Clients: 64, Pipeline: 1, Duration: 10 * time.Second,
		Warmup: time.Second, Seed: 1,
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	switch c.Workload {
	case WorkloadPut, WorkloadGet, WorkloadMixed, WorkloadTxn, WorkloadCAS, WorkloadDoc, WorkloadQuery:
	default:
		return fmt.Errorf("bench: unknown workload %q (want put, get, mixed, txn, cas, doc or query)", c.Workload)
	}
	switch c.KeyDist {
	case DistUniform:
	case DistZipfian:
		if !(c.ZipfS > 1) {
			return fmt.Errorf("bench: zipf exponent must be > 1, not %g", c.ZipfS)
		}
	default:
		return fmt.Errorf("bench: unknown key distribution %q (want uniform or zipfian)", c.KeyDist)
	}
	switch {
	case c.Keys < 1 || int64(c.Keys) > 1e10:
		return fmt.Errorf("bench: keys must be in [1, 1e10], not %d", c.Keys)
	case c.ReadRatio < 0 || c.ReadRatio > 1:
		return fmt.Errorf("bench: read ratio must be in [0, 1], not %g", c.ReadRatio)
	case c.Workload == WorkloadTxn && (c.TxnKeys < 1 || c.TxnKeys > c.Keys):
		return fmt.Errorf("bench: txn keys must be in [1, keys], not %d", c.TxnKeys)
	case c.ValueSize < 0:
		return errors.New("bench: value size must not be negative")
	case c.Clients < 1:
		return errors.New("bench: clients must be >= 1")
	case c.Pipeline < 1:
		return errors.New("bench: pipeline must be >= 1")
	case c.Workload == WorkloadCAS && c.Pipeline > 1:
		return errors.New("bench: cas reads before it writes, so it cannot be pipelined (use --pipeline 1)")
	case c.Ops < 0:
		return errors.New("bench: ops must not be negative")
	case c.Ops == 0 && c.Duration <= 0:
		return errors.New("bench: need a duration or a number of ops")
	case c.Warmup < 0:
		return errors.New("bench: warmup must not be negative")
	}
	return nil
}

// Progress is a snapshot of a running benchmark.
type Progress struct {
	// Elapsed is the time since measuring started; it is negative during
	// the warmup.
	Elapsed time.Duration
	Ops     uint64  // measured successful ops so far
	Errors  uint64  // measured failed ops so far
	Rate    float64 // successful ops per second since the previous snapshot
	P99     time.Duration
}

// Run runs the benchmark against drv and returns the result. It fails only
// if the configuration is invalid, a client cannot connect, or the preload
// fails; errors of measured ops are counted in the result. When ctx is
// canceled it stops early and returns what it measured, with Interrupted
// set.
func Run(ctx context.Context, cfg Config, drv Driver) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, drv: drv}
	if cfg.KeyDist == DistZipfian {
		r.perm = zipfPerm(cfg.Seed, cfg.Keys)
	}
	defer r.close()
	if err := r.dial(ctx); err != nil {
		return nil, err
	}
	if cfg.Preload {
		if err := r.preload(ctx); err != nil {
			return nil, err
		}
	}
	return r.measure(ctx), nil
}

// runner is the state of one Run.
type runner struct {
	cfg     Config
	drv     Driver
	perm    []int32 // zipfian rank -> key; read-only
	clients []*client

	// Fixed before the clients start.
	measureStart, measureEnd time.Time
	issued                   atomic.Int64 // measured ops claimed, when cfg.Ops > 0
}

// client is one connection and what it measured.
type client struct {
	conn Conn
	gen  *generator

	// mu guards the fields below: the client's goroutine takes it once per
	// batch to record, the progress reporter to read.
	mu          sync.Mutex
	hist        Histogram
	misses      uint64
	conflicts   uint64
	errors      map[string]uint64
	firstErrors []string
}

// maxFirstErrors is how many error messages a result keeps.
const maxFirstErrors = 5

func (r *runner) dial(ctx context.Context) error {
	for i := range r.cfg.Clients {
		conn, err := r.drv.Dial(ctx, i)
		if err != nil {
			return fmt.Errorf("bench: connect client %d: %w", i, err)
		}
		r.clients = append(r.clients, &client{conn: conn, gen: newGenerator(&r.cfg, i, r.perm),
			errors: make(map[string]uint64)})
	}
	return nil
}

func (r *runner) close() {
	for _, c := range r.clients {
		c.conn.Close()
	}
	r.drv.Close()
}

// preload writes every key once, the key space split evenly over the
// clients, each with Pipeline writes in flight.
func (r *runner) preload(ctx context.Context) error {
	start := time.Now()
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	n := len(r.clients)
	for i, c := range r.clients {
		lo, hi := r.cfg.Keys*i/n, r.cfg.Keys*(i+1)/n
		wg.Go(func() {
			ops := newOps(r.cfg.Pipeline, 1)
			for k := lo; k < hi && ctx.Err() == nil; {
				b := ops[:min(len(ops), hi-k)]
				for j := range b {
					c.gen.fillPreload(&b[j], k+j)
				}
				c.conn.Do(ctx, b)
				for j := range b {
					if err := b[j].Err; err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
				}
				k += len(b)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bench: preload: %w", err)
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("bench: preload: %d of %d writes failed, the first: %w", n, r.cfg.Keys, firstErr.Load().(error))
	}
	r.logf("preloaded %d keys in %.2fs", r.cfg.Keys, time.Since(start).Seconds())
	return nil
}

func (r *runner) logf(format string, args ...any) {
	if r.cfg.Logf != nil {
		r.cfg.Logf(format, args...)
	}
}

// measure runs the warmup and the measured phase.
func (r *runner) measure(ctx context.Context) *Result {
	r.measureStart = time.Now().Add(r.cfg.Warmup)
	r.measureEnd = r.measureStart.Add(r.cfg.Duration)
	cpu0 := make(chan time.Duration, 1) // the process's CPU time when measuring starts
	timer := time.AfterFunc(time.Until(r.measureStart), func() { cpu0 <- processCPU() })
	defer timer.Stop()
	var wg sync.WaitGroup
	for _, c := range r.clients {
		wg.Go(func() { r.loop(ctx, c) })
	}
	stop := make(chan struct{})
	var reporter sync.WaitGroup
	if r.cfg.Progress != nil {
		reporter.Go(func() { r.report(stop) })
	}
	wg.Wait()
	end := time.Now()
	close(stop)
	reporter.Wait()
	res := r.result(max(end.Sub(r.measureStart), 0))
	select {
	case c := <-cpu0:
		res.ClientCPU = processCPU() - c
	default: // canceled during the warmup
	}
	res.Interrupted = ctx.Err() != nil
	return res
}

// claim takes up to want of the measured ops left, when the run is
// bounded by a number of ops.
func (r *runner) claim(want int) int {
	end := r.issued.Add(int64(want))
	left := r.cfg.Ops - (end - int64(want))
	return int(max(0, min(int64(want), left)))
}

// loop is one client's closed loop: fill a batch, run it, record it.
func (r *runner) loop(ctx context.Context, c *client) {
	keysPerOp := 1
	if r.cfg.Workload == WorkloadTxn {
		keysPerOp = r.cfg.TxnKeys
	}
	ops := newOps(r.cfg.Pipeline, keysPerOp)
	var backoff time.Duration
	for ctx.Err() == nil {
		n := len(ops)
		now := time.Now()
		measured := !now.Before(r.measureStart)
		switch {
		case !measured: // warming up
		case r.cfg.Ops > 0:
			if n = r.claim(n); n == 0 {
				return
			}
		case !now.Before(r.measureEnd):
			return
		}
		b := ops[:n]
		for i := range b {
			c.gen.fill(&b[i])
		}
		start := time.Now()
		c.conn.Do(ctx, b)
		if ctx.Err() != nil {
			return // the batch was cut short: not a measurement
		}
		if failed := c.record(b, start, measured); failed < n {
			backoff = 0
			continue
		}
		// Everything failed: the target is likely down. Back off rather
		// than spin counting errors.
		backoff = min(max(2*backoff, 10*time.Millisecond), 500*time.Millisecond)
		sleep(ctx, backoff)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// record accounts for a finished batch that started at start (into the
// counters only if measured) and returns how many of its ops failed.
func (c *client) record(b []Op, start time.Time, measured bool) (failed int) {
	if !measured {
		for i := range b {
			if b[i].Err != nil {
				failed++
			}
		}
		return failed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range b {
		op := &b[i]
		if op.Err != nil {
			failed++
			c.errors[ErrorKind(op.Err)]++
			if len(c.firstErrors) < maxFirstErrors {
				c.firstErrors = append(c.firstErrors, op.Kind.String()+": "+op.Err.Error())
			}
			continue
		}
		c.hist.Record(op.Done.Sub(start))
		switch op.Outcome {
		case OutcomeMiss:
			c.misses++
		case OutcomeConflict:
			c.conflicts++
		}
	}
	return failed
}

// report calls cfg.Progress every interval until stop is closed.
func (r *runner) report(stop <-chan struct{}) {
	every := r.cfg.ProgressInterval
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var h Histogram
	var lastOps uint64
	last := time.Now()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			h.Reset()
			var errs uint64
			for _, c := range r.clients {
				c.mu.Lock()
				h.Merge(&c.hist)
				for _, n := range c.errors {
					errs += n
				}
				c.mu.Unlock()
			}
			p := Progress{Elapsed: now.Sub(r.measureStart), Ops: h.Count(), Errors: errs, P99: h.Quantile(0.99)}
			p.Rate = float64(p.Ops-lastOps) / now.Sub(last).Seconds()
			lastOps, last = p.Ops, now
			r.cfg.Progress(p)
		}
	}
}

// result merges what the clients measured over elapsed.
func (r *runner) result(elapsed time.Duration) *Result {
	res := &Result{
		Workload: r.cfg.Workload, Target: r.drv.Name(), Clients: r.cfg.Clients, Pipeline: r.cfg.Pipeline,
		Keys: r.cfg.Keys, KeyDist: r.cfg.KeyDist, ValueSize: r.cfg.ValueSize,
		Duration: elapsed, ErrorKinds: make(map[string]uint64), Latency: new(Histogram),
	}
	for _, c := range r.clients {
		c.mu.Lock()
		res.Latency.Merge(&c.hist)
		res.Misses += c.misses
		res.Conflicts += c.conflicts
		for k, n := range c.errors {
			res.ErrorKinds[k] += n
			res.Errors += n
		}
		for _, m := range c.firstErrors {
			if len(res.FirstErrors) < maxFirstErrors {
				res.FirstErrors = append(res.FirstErrors, m)
			}
		}
		c.mu.Unlock()
	}
	res.Ops = res.Latency.Count()
	return res
}
