package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cairndb/cairn/internal/testcluster"
)

// TestCairnDocQuery runs the doc and query workloads over both drivers
// against a real one-node Cairn (HTTP and RESP front ends), and checks
// their effect on the documents.
func TestCairnDocQuery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Cairn node")
	}
	c := testcluster.New(t, 1, testcluster.Options{})
	nd := c.WaitLeader(10 * time.Second)
	svc := nd.Server.Service()
	targets := []struct {
		name   string
		driver func(stale bool) (Driver, error)
		pipe   int
	}{
		{"http", func(stale bool) (Driver, error) {
			return NewHTTP(HTTPConfig{Endpoints: []string{nd.Server.HTTPAddr()}, Stale: stale})
		}, 1},
		{"resp", func(stale bool) (Driver, error) {
			return NewRESP(RESPConfig{Addrs: []string{nd.Server.RESPAddr()}, ReadOnly: stale})
		}, 4},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			run := func(t *testing.T, cfg Config, stale bool) *Result {
				t.Helper()
				d, err := tg.driver(stale)
				if err != nil {
					t.Fatal(err)
				}
				res, err := Run(context.Background(), cfg, d)
				if err != nil {
					t.Fatal(err)
				}
				if res.Errors != 0 {
					t.Fatalf("%s: %d errors %v %v", cfg.Workload, res.Errors, res.ErrorKinds, res.FirstErrors)
				}
				return res
			}
			base := Default()
			base.Clients, base.Warmup, base.Keys, base.ValueSize, base.Ops = 4, 0, 40, 32, 200
			base.Pipeline = tg.pipe

			// Plain values first: the document preload must replace them.
			run(t, base, false)

			for _, w := range []Workload{WorkloadDoc, WorkloadQuery} {
				t.Run(string(w), func(t *testing.T) {
					cfg := base
					cfg.Workload, cfg.Preload, cfg.ReadRatio = w, true, 0 // writes only
					res := run(t, cfg, false)
					if n := sumCounters(t, svc, cfg.Keys, cfg.ValueSize); n != int64(res.Ops) || res.Ops != 200 {
						t.Fatalf("%d increments succeeded, the counters sum to %d", res.Ops, n)
					}

					cfg.Preload, cfg.ReadRatio = false, 1 // reads only, all hit
					if res := run(t, cfg, true); res.Misses != 0 || res.Ops != 200 {
						t.Fatalf("stale reads: ops %d misses %d", res.Ops, res.Misses)
					}
					if res := run(t, cfg, false); res.Misses != 0 || res.Ops != 200 {
						t.Fatalf("reads: ops %d misses %d", res.Ops, res.Misses)
					}
					if n := sumCounters(t, svc, cfg.Keys, cfg.ValueSize); n != 200 {
						t.Fatalf("reads changed the counters: sum %d", n)
					}

					cfg.ReadRatio = 0.5 // both, pipelined on RESP
					res = run(t, cfg, false)
					if n := sumCounters(t, svc, cfg.Keys, cfg.ValueSize) - 200; n < 50 || n > 150 || res.Misses != 0 {
						t.Fatalf("half of 200 ops wrote, but the counters moved by %d; misses %d", n, res.Misses)
					}

					cfg.Keys = 200 // keys 40 onwards do not exist: reads of them miss
					cfg.ReadRatio = 1
					res = run(t, cfg, false)
					if res.Misses < 100 || res.Misses == res.Ops {
						t.Fatalf("misses %d of %d", res.Misses, res.Ops)
					}
				})
			}
		})
	}
}

// sumCounters checks that keys 0..n-1 hold the preloaded documents and
// returns the sum of their counters.
func sumCounters(t *testing.T, svc *service.Service, n, padLen int) int64 {
	t.Helper()
	var sum int64
	for i := range n {
		key := AppendKey(nil, i)
		res, _, err := svc.Range(context.Background(), &command.RangeRequest{Key: key}, service.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.KVs) != 1 || res.KVs[0].Type != command.TypeDocument {
			t.Fatalf("%s: %+v, want a document", key, res.KVs)
		}
		var doc struct {
			N    int64    `json:"n"`
			Name string   `json:"name"`
			Tags []string `json:"tags"`
			Pad  string   `json:"pad"`
		}
		if err := json.Unmarshal(res.KVs[0].Value, &doc); err != nil {
			t.Fatalf("%s: %v: %s", key, err, res.KVs[0].Value)
		}
		if doc.Name != fmt.Sprintf("user-%d", i) || len(doc.Pad) != padLen || doc.Tags == nil {
			t.Fatalf("%s: %s", key, res.KVs[0].Value)
		}
		sum += doc.N
	}
	return sum
}
