package jepsen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// crashArgs make every node compact its raft log after 200 entries and
// its MVCC history every 200ms, so snapshots and compactions happen all the
// time under load.
var crashArgs = []string{"--compact-entries", "200", "--catch-up-entries", "20",
	"--compact-interval", "200ms", "--retain-revisions", "500"}

// TestCrashConsistency kills nodes with SIGKILL at chosen points during
// heavy writes: while a snapshot is being sent or installed (the node is
// killed right after the leader logs "sending snapshot"), right after a
// node logs an MVCC compaction, and at random times. After every restart
// the restarted node must hold every write acknowledged before the kill;
// at the end all nodes must converge and hold every acknowledged write.
func TestCrashConsistency(t *testing.T) {
	forEachSeed(t, runCrash)
}

func runCrash(t *testing.T, seed uint64) {
	testStart(t)
	logf := func(format string, args ...any) {
		t.Logf("%6.2fs "+format, append([]any{time.Since(testStart(t)).Seconds()}, args...)...)
	}
	c := NewCluster(t, bins, ClusterOptions{Nodes: 3, Tuned: true, TunedArgs: crashArgs}, logf)
	set := &SetWorkload{Clients: 6, Prefix: "crash/", Timeout: 2 * time.Second, ValueSize: 1024}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	setDone := make(chan Stats, 1)
	go func() { setDone <- set.Run(ctx, c, seed) }()

	rng := rand.New(rand.NewPCG(seed, 0xc7a5))
	kv := NewKV(5 * time.Second)
	counts := map[string]int{}
	deadline := time.Now().Add(duration())
	for time.Now().Before(deadline) {
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		mode := []string{"snapshot", "compaction", "random"}[rng.IntN(3)]
		acked := set.AckedKeys()
		var restarted []*Node
		switch mode {
		case "snapshot":
			restarted = crashMidSnapshot(t, c, rng, logf)
		case "compaction":
			ms := c.Members()
			n := ms[rng.IntN(len(ms))]
			off := n.LogSize()
			if !n.WaitLog("compacted history", off, 3*time.Second) {
				continue
			}
			time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
			n.Kill()
			logf("crash: killed %s right after an MVCC compaction", n.Name)
			restarted = []*Node{n}
		default:
			ms := c.Members()
			n := ms[rng.IntN(len(ms))]
			n.Kill()
			logf("crash: killed %s at a random point", n.Name)
			restarted = []*Node{n}
		}
		if len(restarted) == 0 {
			continue
		}
		counts[mode]++
		time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
		for _, n := range restarted {
			if !n.Running() {
				if err := n.Restart(); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, n := range restarted {
			if err := verifyHasAll(c, kv, n, set.Prefix, acked, set.value); err != nil {
				t.Fatalf("seed %d: after restart of %s (%s): %v; processes: %s", seed, n.Name, mode, err, c.Describe())
			}
		}
	}
	cancel()
	stats := <-setDone
	logf("writes: %v; crashes: %v", stats, counts)

	if crashes := c.Crashes(); len(crashes) > 0 {
		t.Errorf("seed %d: nodes crashed: %s", seed, strings.Join(crashes, "; "))
	}
	rev, _, err := Converge(c, kv, 60*time.Second)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	final, _, err := kv.Scan(context.Background(), c.Members()[0].HTTP, set.Prefix, false, -1)
	if err != nil {
		t.Fatalf("seed %d: final read: %v", seed, err)
	}
	if err := set.Check(final); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	var sent, installed, compactions int
	for _, n := range c.Nodes() {
		sent += n.CountLog("sending snapshot")
		installed += n.CountLog("installed snapshot")
		compactions += n.CountLog("compacted history")
	}
	logf("converged at revision %d; %d acked writes all present; snapshots sent %d, installed %d; MVCC compactions %d",
		rev, set.Acked(), sent, installed, compactions)
}

// crashMidSnapshot kills a follower, lets the leader's log move past it
// (so it needs a snapshot), restarts it, and as soon as the leader logs
// "sending snapshot" kills the receiver or the sender.
func crashMidSnapshot(t *testing.T, c *Cluster, rng *rand.Rand, logf func(string, ...any)) []*Node {
	lead := c.Leader()
	if lead == nil {
		return nil
	}
	var f *Node
	for _, n := range c.Members() {
		if n != lead {
			f = n
			break
		}
	}
	f.Kill()
	st0, err := NodeStatus(context.Background(), lead)
	if err != nil {
		f.Restart()
		return []*Node{f}
	}
	waitFor(5*time.Second, func() error {
		st, err := NodeStatus(context.Background(), lead)
		if err != nil || st.AppliedIndex < st0.AppliedIndex+600 {
			return fmt.Errorf("leader log not far enough ahead")
		}
		return nil
	})
	off := lead.LogSize()
	if err := f.Restart(); err != nil {
		t.Fatal(err)
	}
	if !lead.WaitLog("sending snapshot", off, 5*time.Second) {
		logf("crash: %s caught up without a snapshot", f.Name)
		return []*Node{f}
	}
	time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
	victim := f
	if rng.IntN(2) == 0 {
		victim = lead
	}
	victim.Kill()
	logf("crash: killed %s while %s sent a snapshot to %s", victim.Name, lead.Name, f.Name)
	return []*Node{f, victim}
}

// verifyHasAll waits until n is ready and has applied the cluster's
// current revision, then checks its local (stale) data holds every key in
// acked with its value.
func verifyHasAll(c *Cluster, kv *KV, n *Node, prefix string, acked []string, value func(string) string) error {
	var target int64
	err := waitFor(30*time.Second, func() error {
		for _, o := range c.Members() { // n itself may have become leader
			if !o.Running() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := NodeStatus(ctx, o)
			cancel()
			if err == nil && st.Role == "leader" {
				target = st.Revision
				return nil
			}
		}
		return fmt.Errorf("no leader")
	})
	if err != nil {
		return err
	}
	err = waitFor(30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := NodeStatus(ctx, n)
		if err != nil {
			return err
		}
		if st.Revision < target {
			return fmt.Errorf("%s at revision %d, want %d", n.Name, st.Revision, target)
		}
		return nil
	})
	if err != nil {
		return err
	}
	data, _, err := kv.Scan(context.Background(), n.HTTP, prefix, true, -1)
	if err != nil {
		return err
	}
	var missing []string
	for _, k := range acked {
		if kv, ok := data[k]; !ok || kv.Value != value(k) {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s is missing %d of %d acknowledged writes: %s", n.Name, len(missing), len(acked), sample(missing))
	}
	return nil
}
