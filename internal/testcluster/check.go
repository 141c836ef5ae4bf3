package testcluster

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
)

// allKeys is the range request covering the whole keyspace.
func allKeys() *command.RangeRequest {
	return &command.RangeRequest{Key: []byte{0}, End: []byte{0}, Limit: service.MaxScanLimit}
}

// Dump returns every key and value of a node, read locally, with the
// revision it reflects.
func Dump(nd *Node) (map[string]string, int64, error) {
	res, rev, err := nd.Server.Service().Range(context.Background(), allKeys(), service.ReadOptions{Consistency: service.Stale})
	if err != nil {
		return nil, 0, err
	}
	out := make(map[string]string, len(res.KVs))
	for _, kv := range res.KVs {
		out[string(kv.Key)] = string(kv.Value)
	}
	return out, rev, nil
}

// WaitConverged waits until every running node has applied the same index
// and holds identical data at the same revision.
func (c *Cluster) WaitConverged(timeout time.Duration) {
	c.t.Helper()
	c.Eventually(timeout, "nodes to converge", func() error {
		nodes := c.Running()
		if len(nodes) == 0 {
			return nil
		}
		var want map[string]string
		var wantRev int64
		var wantApplied uint64
		for i, nd := range nodes {
			applied := nd.Server.Node().AppliedIndex()
			data, rev, err := Dump(nd)
			if err != nil {
				return fmt.Errorf("%s: %v", nd.Name, err)
			}
			if i == 0 {
				want, wantRev, wantApplied = data, rev, applied
				continue
			}
			if applied != wantApplied || rev != wantRev {
				return fmt.Errorf("%s at index %d revision %d, %s at index %d revision %d",
					nd.Name, applied, rev, nodes[0].Name, wantApplied, wantRev)
			}
			if err := diffMaps(want, data); err != nil {
				return fmt.Errorf("%s differs from %s at revision %d: %v", nd.Name, nodes[0].Name, rev, err)
			}
		}
		return nil
	})
	c.CheckLogsMatch()
}

func diffMaps(a, b map[string]string) error {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return fmt.Errorf("key %q: %q vs %q (present %v)", k, v, w, ok)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			return fmt.Errorf("key %q only on one side", k)
		}
	}
	return nil
}

// CheckLogsMatch asserts raft's log matching property across running
// nodes: every index two nodes both hold at or below both commit indexes
// has the same term and data. So no two nodes ever applied different
// entries at the same index.
func (c *Cluster) CheckLogsMatch() {
	c.t.Helper()
	nodes := c.Running()
	for i := 0; i < len(nodes); i++ {
		for j := i + 1; j < len(nodes); j++ {
			if err := logsMatch(nodes[i], nodes[j]); err != nil {
				c.t.Fatalf("raft logs diverge: %v", err)
			}
		}
	}
}

func logsMatch(a, b *Node) error {
	la, lb := a.Server.RaftLog(), b.Server.RaftLog()
	fa, _ := la.FirstIndex()
	fb, _ := lb.FirstIndex()
	lo := max(fa, fb)
	hi := min(a.Server.Node().AppliedIndex(), b.Server.Node().AppliedIndex())
	for idx := lo; idx <= hi; idx++ {
		ea, erra := la.Entries(idx, idx+1, 1<<30)
		eb, errb := lb.Entries(idx, idx+1, 1<<30)
		if erra != nil || errb != nil {
			return nil // compacted concurrently: nothing more to compare
		}
		x, y := ea[0], eb[0]
		if x.GetTerm() != y.GetTerm() || !bytes.Equal(x.GetData(), y.GetData()) || x.GetType() != y.GetType() {
			return fmt.Errorf("index %d: %s has %v, %s has %v", idx, a.Name, x, b.Name, y)
		}
	}
	return nil
}
