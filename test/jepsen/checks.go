package jepsen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stats counts outcomes: ok, failed with no effect, indeterminate.
type Stats struct{ OK, Fail, Info int64 }

func (s Stats) String() string {
	return fmt.Sprintf("%d ok, %d failed, %d indeterminate", s.OK, s.Fail, s.Info)
}

type statsCollector struct{ nOK, nFail, nInfo atomic.Int64 }

func (s *statsCollector) ok()   { s.nOK.Add(1) }
func (s *statsCollector) fail() { s.nFail.Add(1) }
func (s *statsCollector) info() { s.nInfo.Add(1) }
func (s *statsCollector) get() Stats {
	return Stats{OK: s.nOK.Load(), Fail: s.nFail.Load(), Info: s.nInfo.Load()}
}

// SetWorkload adds unique elements as separate keys under a prefix. Every
// acknowledged element must be in the final read; the final read may hold
// an indeterminate one, never one that was refused or never attempted.
type SetWorkload struct {
	Clients   int
	Prefix    string
	Timeout   time.Duration
	ValueSize int // pad values to this size (default: the key itself)

	mu      sync.Mutex        // guards outcome
	outcome map[string]string // key -> "ok" | "info" | "fail"
}

// Run adds elements until ctx ends.
func (w *SetWorkload) Run(ctx context.Context, c *Cluster, seed uint64) Stats {
	w.outcome = map[string]string{}
	var st statsCollector
	var wg sync.WaitGroup
	for i := range w.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 1000+uint64(i)))
			kv := NewKV(w.Timeout)
			for n := 0; ctx.Err() == nil; n++ {
				members := c.Members()
				node := members[rng.IntN(len(members))]
				key := fmt.Sprintf("%sc%d-%06d", w.Prefix, i, n)
				rctx, cancel := context.WithTimeout(context.Background(), w.Timeout)
				_, err := kv.Put(rctx, node.HTTP, key, w.value(key))
				cancel()
				res := "ok"
				switch {
				case err == nil:
					st.ok()
				case Definite(err):
					st.fail()
					res = "fail"
				default:
					st.info()
					res = "info"
				}
				w.mu.Lock()
				w.outcome[key] = res
				w.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return st.get()
}

// value is the element's value: its key, padded to ValueSize.
func (w *SetWorkload) value(key string) string {
	if len(key) >= w.ValueSize {
		return key
	}
	return key + strings.Repeat(".", w.ValueSize-len(key))
}

// Check compares the final read of the prefix with the outcomes.
func (w *SetWorkload) Check(final map[string]kvObj) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var lost, phantom, refused []string
	infoPresent := 0
	for k, res := range w.outcome {
		kv, ok := final[k]
		switch {
		case res == "ok" && (!ok || kv.Value != w.value(k)):
			lost = append(lost, k)
		case res == "fail" && ok:
			refused = append(refused, k)
		case res == "info" && ok:
			infoPresent++
		}
	}
	for k := range final {
		if _, ok := w.outcome[k]; !ok {
			phantom = append(phantom, k)
		}
	}
	if len(lost)+len(phantom)+len(refused) == 0 {
		return nil
	}
	return fmt.Errorf("set: %d acknowledged elements lost %s; %d never attempted present %s; %d refused (4xx) present %s",
		len(lost), sample(lost), len(phantom), sample(phantom), len(refused), sample(refused))
}

// Acked returns the number of acknowledged elements.
func (w *SetWorkload) Acked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, res := range w.outcome {
		if res == "ok" {
			n++
		}
	}
	return n
}

// AckedKeys returns the acknowledged elements.
func (w *SetWorkload) AckedKeys() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for k, res := range w.outcome {
		if res == "ok" {
			out = append(out, k)
		}
	}
	return out
}

func sample(s []string) string {
	sort.Strings(s)
	if len(s) > 10 {
		s = append(s[:10:10], "...")
	}
	return "[" + strings.Join(s, " ") + "]"
}

// StaleReaders issue stale reads against every member (learners included)
// and check that, for one reader and one node, the revision never goes
// back, not even across a kill -9 and restart of the node (a restarted
// node serves no stale read before it has caught up with a leader).
type StaleReaders struct {
	Readers int
	Key     string
	Timeout time.Duration

	mu         sync.Mutex // guards the fields below
	violations []string
	reads      int
}

// Run reads until ctx ends.
func (s *StaleReaders) Run(ctx context.Context, c *Cluster, seed uint64) {
	var wg sync.WaitGroup
	for i := range s.Readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.reader(ctx, c, i)
		}()
	}
	wg.Wait()
}

func (s *StaleReaders) reader(ctx context.Context, c *Cluster, id int) {
	type session struct {
		rev         int64
		incarnation int
	}
	kv := NewKV(s.Timeout)
	last := map[string]session{}
	for ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
		for _, n := range c.Members() {
			if ctx.Err() != nil {
				return
			}
			inc := n.Incarnation()
			rctx, cancel := context.WithTimeout(context.Background(), s.Timeout)
			_, _, rev, err := kv.Get(rctx, n.HTTP, s.Key, true)
			cancel()
			if err != nil || rev == 0 || n.Incarnation() != inc {
				continue
			}
			prev, seen := last[n.Name]
			s.mu.Lock()
			s.reads++
			if seen && rev < prev.rev {
				s.violations = append(s.violations, fmt.Sprintf("reader %d: %s went back from revision %d to %d (incarnation %d -> %d)",
					id, n.Name, prev.rev, rev, prev.incarnation, inc))
			}
			s.mu.Unlock()
			last[n.Name] = session{rev, inc}
		}
	}
}

// Check returns the number of reads and an error listing any violation.
func (s *StaleReaders) Check() (reads int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.violations) > 0 {
		err = fmt.Errorf("monotonic reads: %d violations: %s", len(s.violations), sample(slices.Clone(s.violations)))
	}
	return s.reads, err
}

// Converge heals everything, waits until every member has applied the same
// revision, then compares a checksum of a full stale scan of each node at
// that revision. It returns the revision and the data of the first node.
func Converge(c *Cluster, kv *KV, timeout time.Duration) (int64, map[string]kvObj, error) {
	c.Net.Heal()
	for _, n := range c.Members() {
		n.Resume()
		if !n.Running() {
			if err := n.Restart(); err != nil {
				return 0, nil, err
			}
		}
	}
	var rev int64
	var stableSince time.Time
	err := waitFor(timeout, func() error {
		var revs []string
		var r0 int64 = -1
		same := true
		for _, n := range c.Members() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := NodeStatus(ctx, n)
			cancel()
			if err != nil {
				stableSince = time.Time{}
				return fmt.Errorf("%s: %w", n.Name, err)
			}
			revs = append(revs, fmt.Sprintf("%s=%d/%d", n.Name, st.Revision, st.AppliedIndex))
			if r0 >= 0 && st.Revision != r0 {
				same = false
			}
			r0 = st.Revision
		}
		if !same {
			stableSince = time.Time{}
			return fmt.Errorf("revisions differ: %v", revs)
		}
		if r0 != rev || stableSince.IsZero() {
			rev, stableSince = r0, time.Now()
		}
		if time.Since(stableSince) < 500*time.Millisecond {
			return fmt.Errorf("revision %d not yet stable", rev)
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("convergence: %w", err)
	}
	var first map[string]kvObj
	var firstSum, firstName string
	for _, n := range c.Members() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		data, _, err := kv.Scan(ctx, n.HTTP, "", true, rev)
		cancel()
		if err != nil {
			return 0, nil, fmt.Errorf("scan %s at %d: %w", n.Name, rev, err)
		}
		sum := checksum(data)
		if first == nil {
			first, firstSum, firstName = data, sum, n.Name
			continue
		}
		if sum != firstSum {
			return 0, nil, fmt.Errorf("divergence at revision %d: %s has %d keys (sum %s), %s has %d keys (sum %s): %s",
				rev, firstName, len(first), firstSum[:12], n.Name, len(data), sum[:12], diffData(first, data))
		}
	}
	return rev, first, nil
}

func checksum(data map[string]kvObj) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		kv := data[k]
		fmt.Fprintf(h, "%q=%q@%d/%d\n", k, kv.Value, kv.ModRevision, kv.Version)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func diffData(a, b map[string]kvObj) string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			d = append(d, fmt.Sprintf("%s: %+v vs %+v", k, v, w))
		}
	}
	for k, w := range b {
		if _, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("%s: missing vs %+v", k, w))
		}
	}
	return sample(d)
}
