package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cairndb/cairn/internal/bench"
	"github.com/spf13/cobra"
)

// benchFlags are cairn bench's own flags; --endpoints, --json and
// --timeout come from the root.
type benchFlags struct {
	target      string
	addr        string
	workload    string
	keyDist     string
	consistency string
	progress    bool
	cfg         bench.Config
}

func (e *env) newBenchCmd() *cobra.Command {
	f := benchFlags{cfg: bench.Default()}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load a cluster and report throughput and latency",
		Long: `Run a closed-loop load generator against Cairn's HTTP API (--target http,
the nodes in --endpoints) or a RESP server (--target resp, the servers in
--addr: Cairn's RESP front end, or Redis for comparison).

Each of --clients connections has at most --pipeline requests in flight.
After --preload (default for get, mixed, cas, doc and query) and --warmup,
the load runs for --duration, or for --ops operations if set. A progress
line goes to stderr when it is a terminal (or with --progress); the result
goes to stdout: throughput, latency percentiles and errors by kind, or one
JSON object with --json. Per-request timeout: --timeout. See docs/BENCH.md.

Workloads: put (write a key), get (read one), mixed (get with probability
--read-ratio, else put), txn (write --txn-keys keys atomically), cas (read
a key's version, write if unchanged), doc (JSON documents: read the path
$.name with probability --read-ratio, else increment $.n by path; the
preload writes each key as {"n":0,"name":...,"pad":"<--value-size bytes>"},
replacing what it held), query (Starlark: a read-only query of one key with
probability --read-ratio, else a transaction incrementing its document's
"n"; same preload as doc).`,
		Example: `  cairn bench --workload put --clients 64 --duration 10s
  cairn bench --target resp --addr 127.0.0.1:6380 --workload get --pipeline 16
  cairn bench --target resp --addr 127.0.0.1:6379 --workload mixed --key-dist zipfian --json
  cairn bench --target resp --workload doc --read-ratio 0.5 --pipeline 8
  cairn bench --workload query --read-ratio 0.9 --value-size 64`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.runBench(cmd, &f)
		},
	}
	fl := cmd.Flags()
	c := &f.cfg
	fl.StringVar(&f.target, "target", "http", "protocol: http (the nodes in --endpoints) or resp (the servers in --addr)")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:6380", "comma-separated RESP servers for --target resp; clients are spread round robin")
	fl.StringVar(&f.workload, "workload", string(c.Workload), "put, get, mixed (see --read-ratio), txn (see --txn-keys), cas, doc or query (both see --read-ratio)")
	fl.Float64Var(&c.ReadRatio, "read-ratio", c.ReadRatio, "fraction of reads in the mixed, doc and query workloads")
	fl.IntVar(&c.TxnKeys, "txn-keys", c.TxnKeys, "keys written by each txn (HTTP txn or MULTI/EXEC)")
	fl.IntVar(&c.Keys, "keys", c.Keys, "size of the key space, key:0000000000 onwards")
	fl.StringVar(&f.keyDist, "key-dist", string(c.KeyDist), "key distribution: uniform or zipfian")
	fl.Float64Var(&c.ZipfS, "zipf-s", c.ZipfS, "exponent of the zipfian distribution (> 1; larger is more skewed)")
	fl.IntVar(&c.ValueSize, "value-size", c.ValueSize, "bytes per value (doc and query: of each document's padding)")
	fl.IntVar(&c.Clients, "clients", c.Clients, "concurrent clients, one connection each")
	fl.IntVar(&c.Pipeline, "pipeline", c.Pipeline, "requests in flight per client (resp only, like redis-benchmark -P)")
	fl.DurationVar(&c.Duration, "duration", c.Duration, "measured time (ignored when --ops is set)")
	fl.Int64Var(&c.Ops, "ops", 0, "measured operations, errors included (wins over --duration)")
	fl.StringVar(&f.consistency, "consistency", "linearizable", "reads: linearizable, or stale (HTTP consistency=stale; RESP sends READONLY)")
	fl.BoolVar(&c.Preload, "preload", false, "write every key once before the run (default true for get, mixed, cas, doc and query)")
	fl.DurationVar(&c.Warmup, "warmup", c.Warmup, "unmeasured load before measuring")
	fl.Int64Var(&c.Seed, "seed", c.Seed, "random seed for keys and values")
	fl.BoolVar(&f.progress, "progress", false, "print the progress line even when stderr is not a terminal")
	return cmd
}

func (e *env) runBench(cmd *cobra.Command, f *benchFlags) error {
	cfg := f.cfg
	cfg.Workload = bench.Workload(f.workload)
	cfg.KeyDist = bench.KeyDist(f.keyDist)
	if !cmd.Flags().Changed("preload") {
		switch cfg.Workload {
		case bench.WorkloadGet, bench.WorkloadMixed, bench.WorkloadCAS, bench.WorkloadDoc, bench.WorkloadQuery:
			cfg.Preload = true
		}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	drv, err := e.benchDriver(f)
	if err != nil {
		return err
	}
	tty := isTerminal(e.stderr)
	var p *progressLine
	if tty || f.progress {
		p = &progressLine{w: e.stderr, tty: tty}
		cfg.Progress = p.print
	}
	cfg.Logf = func(format string, a ...any) { fmt.Fprintf(e.stderr, format+"\n", a...) }
	res, err := bench.Run(cmd.Context(), cfg, drv)
	p.clear()
	if err != nil {
		return err
	}
	res.Consistency = f.consistency
	if e.json {
		err = res.WriteJSON(e.stdout)
	} else {
		err = res.WriteText(e.stdout)
	}
	if err == nil && res.Interrupted {
		err = errors.New("interrupted")
	}
	return err
}

func (e *env) benchDriver(f *benchFlags) (bench.Driver, error) {
	var stale bool
	switch f.consistency {
	case "linearizable":
	case "stale":
		stale = true
	default:
		return nil, usageError{fmt.Errorf("unknown consistency %q (want linearizable or stale)", f.consistency)}
	}
	switch f.target {
	case "http":
		if f.cfg.Pipeline > 1 {
			return nil, usageError{errors.New("--pipeline is for --target resp: HTTP/1.1 has no pipelining (raise --clients instead)")}
		}
		d, err := bench.NewHTTP(bench.HTTPConfig{Endpoints: e.endpointList(), Stale: stale, Timeout: e.timeout})
		if err != nil {
			return nil, usageError{err}
		}
		return d, nil
	case "resp":
		var addrs []string
		for _, a := range strings.Split(f.addr, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
		d, err := bench.NewRESP(bench.RESPConfig{Addrs: addrs, ReadOnly: stale, Timeout: e.timeout})
		if err != nil {
			return nil, usageError{err}
		}
		return d, nil
	}
	return nil, usageError{fmt.Errorf("unknown target %q (want http or resp)", f.target)}
}

// progressLine prints bench.Progress on stderr: rewritten in place on a
// terminal, one line per report otherwise.
type progressLine struct {
	w   io.Writer
	tty bool
}

func (p *progressLine) print(pr bench.Progress) {
	phase := fmt.Sprintf("%6.1fs", pr.Elapsed.Seconds())
	if pr.Elapsed < 0 {
		phase = "warmup "
	}
	line := fmt.Sprintf("%s  ops %d  %.0f ops/s  errors %d  p99 %s", phase, pr.Ops, pr.Rate, pr.Errors,
		pr.P99.Round(time.Microsecond))
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// clear erases the in-place line, if any, before the report.
func (p *progressLine) clear() {
	if p != nil && p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
