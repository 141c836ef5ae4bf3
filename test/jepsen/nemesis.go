package jepsen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
)

// Fault names a nemesis action.
type Fault string

// The faults. Each is applied, held for a while, then healed.
const (
	KillLeader    Fault = "kill-leader"    // SIGKILL the leader, restart it from its data dir
	KillRandom    Fault = "kill-random"    // SIGKILL any member, restart it
	PauseLeader   Fault = "pause-leader"   // SIGSTOP the leader past the election timeout, SIGCONT
	PauseRandom   Fault = "pause-random"   // SIGSTOP any member, SIGCONT
	PartitionHalf Fault = "partition-half" // random majority | minority
	IsolateLeader Fault = "isolate-leader" // the leader alone | everyone else
	Bridge        Fault = "bridge"         // two halves that only one node connects
	Join          Fault = "join"           // add a fresh voter with --join (up to MaxMembers)
	JoinLearner   Fault = "join-learner"   // add a --learner, promote it after the hold
	Remove        Fault = "remove"         // remove a random member (down to MinMembers)
)

// ProcessFaults, NetworkFaults and MembershipFaults group the faults.
var (
	ProcessFaults    = []Fault{KillLeader, KillRandom, PauseLeader, PauseRandom}
	NetworkFaults    = []Fault{PartitionHalf, IsolateLeader, Bridge}
	MembershipFaults = []Fault{Join, JoinLearner, Remove}
)

// Nemesis injects faults on a schedule drawn from a seed: which fault, on
// which node, the partition's shape, how long it is held, and the quiet
// time between faults. The cluster's timing is not deterministic, so a seed
// reproduces the schedule, not the exact interleaving.
type Nemesis struct {
	C          *Cluster
	Faults     []Fault
	Rec        *Recorder
	Logf       func(string, ...any)
	Hold       [2]time.Duration // how long a fault lasts (min, max); default 1.5-3s
	Quiet      [2]time.Duration // time between faults; default 0.3-1.2s
	MinMembers int              // default 3
	MaxMembers int              // default 5

	mu     sync.Mutex // guards counts
	counts map[Fault]int
}

// Run injects faults until ctx ends, then heals.
func (nm *Nemesis) Run(ctx context.Context, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0xfa017))
	if nm.Hold[1] == 0 {
		nm.Hold = [2]time.Duration{1500 * time.Millisecond, 3 * time.Second}
	}
	if nm.Quiet[1] == 0 {
		nm.Quiet = [2]time.Duration{300 * time.Millisecond, 1200 * time.Millisecond}
	}
	if nm.MinMembers == 0 {
		nm.MinMembers = 3
	}
	if nm.MaxMembers == 0 {
		nm.MaxMembers = 5
	}
	nm.counts = map[Fault]int{}
	for {
		if !sleepCtx(ctx, between(rng, nm.Quiet)) {
			return
		}
		f := nm.Faults[rng.IntN(len(nm.Faults))]
		hold := between(rng, nm.Hold)
		start := nm.Rec.Now()
		desc, heal := nm.apply(f, rng)
		if heal == nil {
			continue // not applicable now (e.g. no leader)
		}
		nm.mu.Lock()
		nm.counts[f]++
		nm.mu.Unlock()
		nm.Logf("nemesis: %s: %s (hold %v)", f, desc, hold.Round(time.Millisecond))
		time.Sleep(hold) // a fault is always held in full
		heal()
		nm.Rec.Annotate("nemesis", string(f)+": "+desc, start, nm.Rec.Now())
		nm.Logf("nemesis: healed %s", f)
	}
}

// Counts reports how many times each fault was injected.
func (nm *Nemesis) Counts() string {
	nm.mu.Lock()
	defer nm.mu.Unlock()
	var s []string
	for f, n := range nm.counts {
		s = append(s, fmt.Sprintf("%s=%d", f, n))
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

// Total is the number of faults injected.
func (nm *Nemesis) Total() int {
	nm.mu.Lock()
	defer nm.mu.Unlock()
	t := 0
	for _, n := range nm.counts {
		t += n
	}
	return t
}

func between(rng *rand.Rand, r [2]time.Duration) time.Duration {
	return r[0] + time.Duration(rng.Int64N(int64(r[1]-r[0])+1))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// live returns running, unpaused members in name order.
func (nm *Nemesis) live() []*Node {
	var out []*Node
	for _, n := range nm.C.Members() {
		if n.Running() && !n.Paused() {
			out = append(out, n)
		}
	}
	return out
}

func (nm *Nemesis) pick(rng *rand.Rand, leader bool) *Node {
	if leader {
		return nm.C.Leader()
	}
	l := nm.live()
	if len(l) == 0 {
		return nil
	}
	return l[rng.IntN(len(l))]
}

// apply injects f and returns a description and the function that heals
// it, or a nil heal when f does not apply right now.
func (nm *Nemesis) apply(f Fault, rng *rand.Rand) (string, func()) {
	switch f {
	case KillLeader, KillRandom:
		n := nm.pick(rng, f == KillLeader)
		if n == nil {
			return "", nil
		}
		n.Kill()
		return n.Name, func() {
			if err := n.Restart(); err != nil {
				nm.Logf("nemesis: restart %s: %v", n.Name, err)
			}
		}
	case PauseLeader, PauseRandom:
		n := nm.pick(rng, f == PauseLeader)
		if n == nil {
			return "", nil
		}
		n.Pause()
		return n.Name, n.Resume
	case PartitionHalf:
		ms := nm.C.Members()
		rng.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
		k := len(ms) / 2 // minority size
		a, b := ids(ms[:k]), ids(ms[k:])
		nm.C.Net.Partition(a, b)
		return names(ms[:k]) + " | " + names(ms[k:]), nm.C.Net.Heal
	case IsolateLeader:
		l := nm.C.Leader()
		if l == nil {
			return "", nil
		}
		var rest []*Node
		for _, n := range nm.C.Members() {
			if n != l {
				rest = append(rest, n)
			}
		}
		nm.C.Net.Partition([]uint64{l.ID}, ids(rest))
		return l.Name + " | " + names(rest), nm.C.Net.Heal
	case Bridge:
		ms := nm.C.Members()
		if len(ms) < 3 {
			return "", nil
		}
		rng.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
		bridge, rest := ms[0], ms[1:]
		left, right := rest[:len(rest)/2], rest[len(rest)/2:]
		nm.C.Net.Partition(ids(left), ids(right)) // the bridge is in neither group: it reaches both
		return names(left) + " | " + names(right) + " bridged by " + bridge.Name, nm.C.Net.Heal
	case Join, JoinLearner:
		if len(nm.C.Members()) >= nm.MaxMembers {
			return "", nil
		}
		return nm.join(f == JoinLearner)
	case Remove:
		ms := nm.C.Members()
		if len(ms) <= nm.MinMembers {
			return "", nil
		}
		var voters []*Node
		for _, n := range ms {
			if n.Running() && !n.Paused() && !n.Learner {
				voters = append(voters, n)
			}
		}
		if len(voters) <= nm.MinMembers {
			return "", nil
		}
		n := voters[rng.IntN(len(voters))]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := nm.C.Remove(ctx, n)
		cancel()
		if err != nil {
			nm.Logf("nemesis: remove %s: %v", n.Name, err)
			return "remove " + n.Name + " failed", func() {}
		}
		return n.Name, func() {
			// A removed node exits by itself; make sure it is gone.
			n.Resume()
			time.AfterFunc(5*time.Second, n.Kill)
		}
	}
	panic("unknown fault " + f)
}

// join adds a fresh node and waits (bounded) for it to be ready. A learner
// is promoted when the fault heals.
func (nm *Nemesis) join(learner bool) (string, func()) {
	n, err := nm.C.Join(learner)
	if err == nil {
		err = waitFor(20*time.Second, func() error {
			if !n.Running() {
				return fmt.Errorf("exited")
			}
			code, err := httpGet(context.Background(), n.HTTP, "/readyz", nil)
			if err != nil || code != 200 {
				return fmt.Errorf("readyz %d %v", code, err)
			}
			return nil
		})
	}
	if err != nil {
		// Never restart a node that did not finish joining: without data and
		// without --join it would bootstrap a cluster of its own.
		nm.Logf("nemesis: join %s failed: %v; removing it", n.Name, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if rerr := nm.C.Remove(ctx, n); rerr != nil {
			nm.Logf("nemesis: remove of failed joiner %s: %v", n.Name, rerr)
			n.mu.Lock()
			n.removed = true
			n.mu.Unlock()
		}
		cancel()
		n.Kill()
		return "join " + n.Name + " failed", func() {}
	}
	if !learner {
		return n.Name, func() {}
	}
	return n.Name + " (learner, promoted at heal)", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := nm.C.Promote(ctx, n); err != nil {
			nm.Logf("nemesis: promote %s: %v (stays a learner)", n.Name, err)
		}
	}
}

func ids(ns []*Node) []uint64 {
	out := make([]uint64, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

func names(ns []*Node) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.Name
	}
	return strings.Join(s, ",")
}
