package jepsen

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// scenario is one cluster shape, fault mix and set of workloads.
type scenario struct {
	nodes     int
	tuned     bool
	tunedArgs []string
	learner   bool // add a read-only learner before the workload starts
	faults    []Fault
}

// tunedSmall makes snapshots and MVCC compaction frequent.
var tunedSmall = []string{"--compact-entries", "300", "--catch-up-entries", "50",
	"--compact-interval", "500ms", "--retain-revisions", "2000"}

func (sc scenario) run(t *testing.T, seed uint64) {
	testStart(t)
	logf := func(format string, args ...any) {
		t.Logf("%6.2fs "+format, append([]any{time.Since(testStart(t)).Seconds()}, args...)...)
	}
	c := NewCluster(t, bins, ClusterOptions{Nodes: sc.nodes, Tuned: sc.tuned, TunedArgs: sc.tunedArgs}, logf)
	if sc.learner {
		n, err := c.Join(true)
		if err != nil {
			t.Fatal(err)
		}
		c.WaitReady(n, 30*time.Second)
	}
	rec := NewRecorder()
	// Clients 0 and 2 use HTTP, 1 and 3 RESP2 and RESP3, on the same keys.
	reg := RegisterWorkload{Clients: 4, Keys: 3, KeyPeriod: 2 * time.Second, Timeout: 1500 * time.Millisecond,
		NewClient: MixedRegisterClients}
	set := &SetWorkload{Clients: 2, Prefix: "set/", Timeout: 1500 * time.Millisecond}
	stale := &StaleReaders{Readers: 2, Key: "set/", Timeout: 1 * time.Second}
	nm := &Nemesis{C: c, Faults: sc.faults, Rec: rec, Logf: logf}

	// The nemesis stops starting faults after the duration; the clients go
	// on until it has healed the last one.
	nctx, ncancel := context.WithTimeout(context.Background(), duration())
	defer ncancel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var regStats, setStats Stats
	wg.Add(3)
	go func() { defer wg.Done(); regStats = reg.Run(ctx, c, rec, seed) }()
	go func() { defer wg.Done(); setStats = set.Run(ctx, c, seed) }()
	go func() { defer wg.Done(); stale.Run(ctx, c, seed) }()
	nm.Run(nctx, seed)
	cancel()
	wg.Wait()
	logf("workload done: register %v; set %v; faults %d (%s)", regStats, setStats, nm.Total(), nm.Counts())

	if crashes := c.Crashes(); len(crashes) > 0 {
		t.Errorf("seed %d: nodes crashed: %s", seed, strings.Join(crashes, "; "))
	}
	// Heal, converge, and take the final read of the set.
	kv := NewKV(10 * time.Second)
	rev, data, err := Converge(c, kv, 60*time.Second)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	logf("converged: %d members at revision %d, %d keys, identical checksums", len(c.Members()), rev, len(data))
	var final map[string]kvObj
	err = waitFor(20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		final, _, err = kv.Scan(ctx, c.Members()[0].HTTP, set.Prefix, false, 0)
		return err
	})
	if err != nil {
		t.Fatalf("seed %d: final read: %v", seed, err)
	}
	if err := set.Check(final); err != nil {
		t.Errorf("seed %d: %v", seed, err)
	}
	reads, err := stale.Check()
	if err != nil {
		t.Errorf("seed %d: %v", seed, err)
	}
	res, err := CheckRegister(rec, lazyOut(t), fmt.Sprintf("register-%s-%d", sanitize(t.Name()), seed), 2*time.Minute)
	switch {
	case err != nil:
		t.Errorf("seed %d: linearizability: %v", seed, err)
	case res == porcupine.Unknown:
		t.Logf("seed %d: linearizability check timed out (inconclusive)", seed)
	}
	logf("checked: %d register ops (%s) linearizable=%v; %d set elements acked, all present; %d stale reads monotonic",
		len(rec.Operations()), opsByProto(rec), res, set.Acked(), reads)
}

// opsByProto counts the recorded register operations by front end.
func opsByProto(rec *Recorder) string {
	n := map[string]int{}
	for _, op := range rec.Operations() {
		node := op.Output.(regOutput).Node
		n[node[strings.IndexByte(node, '/')+1:]]++
	}
	return fmt.Sprintf("http %d, resp2 %d, resp3 %d", n["http"], n["resp2"], n["resp3"])
}

// lazyOut is where artifacts go; CheckRegister asks for it only on failure.
func lazyOut(t *testing.T) string { return outDir(t) }

func sanitize(s string) string { return strings.NewReplacer("/", "_", " ", "_").Replace(s) }

var (
	startsMu sync.Mutex
	starts   = map[*testing.T]time.Time{}
)

func testStart(t *testing.T) time.Time {
	startsMu.Lock()
	defer startsMu.Unlock()
	s, ok := starts[t]
	if !ok {
		s = time.Now()
		starts[t] = s
	}
	return s
}

// TestJepsenProcessFaults: 3 nodes of the real binary; kill -9 and
// SIGSTOP of the leader or a random node.
func TestJepsenProcessFaults(t *testing.T) {
	forEachSeed(t, func(t *testing.T, seed uint64) {
		scenario{nodes: 3, faults: ProcessFaults}.run(t, seed)
	})
}

// TestJepsenPartitions: 5 nodes of the real binary behind the proxies;
// majority/minority, isolated leader, bridge, plus kill -9.
func TestJepsenPartitions(t *testing.T) {
	forEachSeed(t, func(t *testing.T, seed uint64) {
		scenario{nodes: 5, faults: append(append([]Fault{}, NetworkFaults...), KillRandom)}.run(t, seed)
	})
}

// TestJepsenMembership: 3 voters and a read-only learner with small
// compaction thresholds (snapshots to joiners and lagging nodes, MVCC
// compaction), membership changes mixed with partitions, kills and pauses.
func TestJepsenMembership(t *testing.T) {
	forEachSeed(t, func(t *testing.T, seed uint64) {
		faults := append(append([]Fault{}, MembershipFaults...), MembershipFaults...)
		faults = append(faults, PartitionHalf, IsolateLeader, KillRandom, PauseRandom)
		scenario{nodes: 3, tuned: true, tunedArgs: tunedSmall, learner: true, faults: faults}.run(t, seed)
	})
}
