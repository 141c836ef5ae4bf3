package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Result is what a run measured. Only successful ops are in Ops and
// Latency; failed ones are in Errors, by kind in ErrorKinds.
type Result struct {
	Workload  Workload
	Target    string
	Clients   int
	Pipeline  int
	Keys      int
	KeyDist   KeyDist
	ValueSize int
	// Consistency is a label for reports; the runner leaves it empty and
	// the caller, which configured the driver, may set it.
	Consistency string

	Ops         uint64
	Errors      uint64
	Misses      uint64 // reads that found no value (they count as ops)
	Conflicts   uint64 // CAS ops that lost to a concurrent write (they count as ops)
	ErrorKinds  map[string]uint64
	FirstErrors []string // the first few error messages
	// Duration is the measured phase, from the end of the warmup to the
	// last reply.
	Duration    time.Duration
	Latency     *Histogram
	Interrupted bool // the run was canceled before its end
	// ClientCPU is the CPU time (user + system) of the whole process
	// during the measured phase; 0 where unknown.
	ClientCPU time.Duration
}

// OpsPerSec returns the throughput of successful ops.
func (r *Result) OpsPerSec() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Duration.Seconds()
}

// Report is the JSON form of a Result (cairn bench --json). Its field
// names are stable.
type Report struct {
	Workload    string            `json:"workload"`
	Target      string            `json:"target"`
	Consistency string            `json:"consistency,omitempty"`
	Clients     int               `json:"clients"`
	Pipeline    int               `json:"pipeline"`
	Keys        int               `json:"keys"`
	KeyDist     string            `json:"key_dist"`
	ValueSize   int               `json:"value_size"`
	Ops         uint64            `json:"ops"`
	Errors      uint64            `json:"errors"`
	Misses      uint64            `json:"misses"`
	Conflicts   uint64            `json:"cas_conflicts"`
	DurationS   float64           `json:"duration_s"`
	OpsPerSec   float64           `json:"ops_per_sec"`
	LatencyUS   LatencyReport     `json:"latency_us"`
	ErrorKinds  map[string]uint64 `json:"error_kinds"`
	FirstErrors []string          `json:"first_errors,omitempty"`
	Interrupted bool              `json:"interrupted"`
	ClientCores float64           `json:"client_cores"`
}

// LatencyReport holds latency percentiles in microseconds.
type LatencyReport struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Report returns the JSON form of r.
func (r *Result) Report() Report {
	us := func(d time.Duration) float64 { return round(float64(d)/1e3, 1) }
	h := r.Latency
	if h == nil {
		h = new(Histogram)
	}
	rep := Report{
		Workload: string(r.Workload), Target: r.Target, Consistency: r.Consistency,
		Clients: r.Clients, Pipeline: r.Pipeline, Keys: r.Keys, KeyDist: string(r.KeyDist), ValueSize: r.ValueSize,
		Ops: r.Ops, Errors: r.Errors, Misses: r.Misses, Conflicts: r.Conflicts,
		DurationS: round(r.Duration.Seconds(), 3), OpsPerSec: round(r.OpsPerSec(), 1),
		LatencyUS: LatencyReport{P50: us(h.Quantile(0.5)), P90: us(h.Quantile(0.9)), P99: us(h.Quantile(0.99)),
			P999: us(h.Quantile(0.999)), Max: us(h.Max()), Mean: us(h.Mean())},
		ErrorKinds: r.ErrorKinds, FirstErrors: r.FirstErrors, Interrupted: r.Interrupted,
	}
	if rep.ErrorKinds == nil {
		rep.ErrorKinds = map[string]uint64{}
	}
	if r.Duration > 0 {
		rep.ClientCores = round(r.ClientCPU.Seconds()/r.Duration.Seconds(), 2)
	}
	return rep
}

func round(x float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(x*p) / p
}

// WriteJSON writes r's Report as one line of JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r.Report())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// WriteText writes r for people.
func (r *Result) WriteText(w io.Writer) error {
	rep := r.Report()
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s on %s", rep.Workload, rep.Target)
	if rep.Consistency != "" {
		fmt.Fprintf(&sb, " (%s)", rep.Consistency)
	}
	fmt.Fprintf(&sb, ": %d clients, pipeline %d, %d keys %s, %d-byte values\n",
		rep.Clients, rep.Pipeline, rep.Keys, rep.KeyDist, rep.ValueSize)
	if rep.Interrupted {
		sb.WriteString("interrupted: the figures cover the part that ran\n")
	}
	fmt.Fprintf(&sb, "throughput  %.0f ops/s (%d ops in %.2fs; client used %.2f cores)\n",
		rep.OpsPerSec, rep.Ops, rep.DurationS, rep.ClientCores)
	ms := func(us float64) string { return fmt.Sprintf("%.3f", us/1e3) }
	l := rep.LatencyUS
	fmt.Fprintf(&sb, "latency ms  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s\n",
		ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max), ms(l.Mean))
	if rep.Misses > 0 {
		fmt.Fprintf(&sb, "misses      %d (reads of a missing key)\n", rep.Misses)
	}
	if rep.Workload == string(WorkloadCAS) {
		fmt.Fprintf(&sb, "conflicts   %d (CAS lost to a concurrent write)\n", rep.Conflicts)
	}
	fmt.Fprintf(&sb, "errors      %d", rep.Errors)
	for _, k := range slices.Sorted(maps.Keys(rep.ErrorKinds)) {
		fmt.Fprintf(&sb, "  %s=%d", k, rep.ErrorKinds[k])
	}
	sb.WriteString("\n")
	for _, m := range rep.FirstErrors {
		fmt.Fprintf(&sb, "  error: %s\n", m)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
