package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchHTTP(t *testing.T) {
	c := newCluster(t)
	out, errOut, code := run(t, strings.TrimPrefix(c.url, "http://"), "",
		"bench", "--json", "--workload", "mixed", "--ops", "200", "--clients", "4", "--keys", "20",
		"--warmup", "0", "--progress", "--duration", "1h")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Workload, Target, Consistency string
		Clients                       int
		Ops, Errors, Misses           uint64
		DurationS                     float64            `json:"duration_s"`
		OpsPerSec                     float64            `json:"ops_per_sec"`
		LatencyUS                     map[string]float64 `json:"latency_us"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if rep.Workload != "mixed" || rep.Target != "http" || rep.Consistency != "linearizable" || rep.Clients != 4 ||
		rep.Ops != 200 || rep.Errors != 0 || rep.Misses != 0 || rep.OpsPerSec <= 0 {
		t.Errorf("report %+v", rep)
	}
	for _, k := range []string{"p50", "p90", "p99", "p999", "max"} {
		if rep.LatencyUS[k] <= 0 {
			t.Errorf("latency %s = %v", k, rep.LatencyUS[k])
		}
	}
	// The preload (default for mixed) wrote every key; --ops beat --duration.
	if c.svc.Revision() < 20 || !strings.Contains(errOut, "preloaded 20 keys") {
		t.Errorf("revision %d, stderr %q", c.svc.Revision(), errOut)
	}

	out, _, code = run(t, strings.TrimPrefix(c.url, "http://"), "",
		"bench", "--workload", "get", "--ops", "50", "--clients", "2", "--warmup", "0", "--preload=false",
		"--keys", "1000000", "--consistency", "stale")
	if code != exitOK || !strings.Contains(out, "get on http (stale)") || !strings.Contains(out, "misses") {
		t.Errorf("exit %d, text report:\n%s", code, out)
	}
}

// TestBenchDocQuery: the doc and query workloads preload by default (their
// reads all hit) and report like the others.
func TestBenchDocQuery(t *testing.T) {
	c := newCluster(t)
	for _, w := range []string{"doc", "query"} {
		out, errOut, code := run(t, strings.TrimPrefix(c.url, "http://"), "",
			"bench", "--json", "--workload", w, "--ops", "100", "--clients", "2", "--keys", "10",
			"--warmup", "0", "--read-ratio", "0.5", "--value-size", "16")
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", w, code, errOut)
		}
		var rep struct {
			Workload            string
			Ops, Errors, Misses uint64
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: %v: %s", w, err, out)
		}
		if rep.Workload != w || rep.Ops != 100 || rep.Errors != 0 || rep.Misses != 0 ||
			!strings.Contains(errOut, "preloaded 10 keys") {
			t.Errorf("%s: report %+v, stderr %q", w, rep, errOut)
		}
	}
}

func TestBenchUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--pipeline", "4"}, "HTTP/1.1 has no pipelining"},
		{[]string{"--target", "grpc"}, "unknown target"},
		{[]string{"--workload", "scan"}, "unknown workload"},
		{[]string{"--consistency", "weak"}, "unknown consistency"},
		{[]string{"--key-dist", "zipfian", "--zipf-s", "0.5"}, "zipf exponent"},
		{[]string{"--target", "resp", "--addr", " , "}, "no address"},
		{[]string{"extra"}, "unknown command"},
	} {
		_, errOut, code := run(t, "127.0.0.1:1", "", append([]string{"bench"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want usage error %q", tc.args, code, errOut, tc.want)
		}
	}
	_, errOut, code := run(t, "127.0.0.1:1", "", "bench", "--ops", "1")
	if code != exitError || !strings.Contains(errOut, "connect") {
		t.Errorf("dead endpoint: exit %d, %q", code, errOut)
	}
}
