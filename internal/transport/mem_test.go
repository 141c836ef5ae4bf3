package transport

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// memCluster creates endpoints 1..n that all know each other.
func memCluster(t *testing.T, n int) (*MemNetwork, []*Mem, []*testHandler) {
	t.Helper()
	nw := NewMemNetwork()
	t.Cleanup(nw.Close)
	eps := make([]*Mem, n+1) // 1-based
	hs := make([]*testHandler, n+1)
	for id := 1; id <= n; id++ {
		hs[id] = newTestHandler()
		eps[id] = nw.Transport(uint64(id), hs[id])
	}
	for i := 1; i <= n; i++ {
		for j := 1; j <= n; j++ {
			if i != j {
				eps[i].AddPeer(uint64(j), "")
			}
		}
	}
	return nw, eps, hs
}

// reaches reports whether a message from -> to is delivered. It sends a
// probe, then a marker after lifting every rule; since a pair's messages
// arrive in order, the probe was lost iff the marker arrives first.
func reaches(t *testing.T, nw *MemNetwork, eps []*Mem, hs []*testHandler, from, to uint64) bool {
	t.Helper()
	eps[from].Send(group, msgs(from, to, 1, 1))
	nw.Heal()
	eps[from].Send(group, msgs(from, to, 2, 1))
	got := recvN(t, hs[to], 1)
	if got[0].m.GetIndex() == 1 {
		recvN(t, hs[to], 1) // the marker
	}
	return got[0].m.GetIndex() == 1
}

func checkReach(t *testing.T, nw *MemNetwork, eps []*Mem, hs []*testHandler, apply func(), want map[[2]uint64]bool) {
	t.Helper()
	for pair, ok := range want {
		apply()
		if got := reaches(t, nw, eps, hs, pair[0], pair[1]); got != ok {
			t.Errorf("%d -> %d delivered = %v, want %v", pair[0], pair[1], got, ok)
		}
	}
}

func TestMemDeliversInOrder(t *testing.T) {
	_, eps, hs := memCluster(t, 2)
	for i := uint64(0); i < 10; i++ {
		eps[1].Send(group, msgs(1, 2, 1+100*i, 100))
	}
	got := recvN(t, hs[2], 1000)
	checkOrder(t, got, group, 1)
	expectNone(t, hs[1].unreachable, "unreachable report")
}

func TestMemMessagesAreCopied(t *testing.T) {
	_, eps, hs := memCluster(t, 2)
	m := msg(1, 2, 5)
	eps[1].Send(group, []*pb.Message{m})
	got := recvN(t, hs[2], 1)[0].m
	if got == m || got.GetIndex() != 5 {
		t.Fatalf("receiver got the sender's message %p (index %d)", got, got.GetIndex())
	}
}

func TestMemUnreachable(t *testing.T) {
	nw, eps, hs := memCluster(t, 2)
	eps[1].Send(group, msgs(1, 9, 1, 1)) // never added
	if r := waitFor(t, hs[1].unreachable, "report"); r.to != 9 {
		t.Fatalf("got %+v", r)
	}
	eps[1].AddPeer(9, "") // added, but no endpoint
	eps[1].Send(group, msgs(1, 9, 1, 1))
	if r := waitFor(t, hs[1].unreachable, "report"); r.to != 9 {
		t.Fatalf("got %+v", r)
	}
	eps[2].Close()
	eps[1].Send(group, msgs(1, 2, 1, 1))
	if r := waitFor(t, hs[1].unreachable, "report"); r.to != 2 {
		t.Fatalf("got %+v", r)
	}
	// A restarted node is reachable again.
	h2 := newTestHandler()
	nw.Transport(2, h2)
	eps[1].Send(group, msgs(1, 2, 1, 1))
	recvN(t, h2, 1)
}

func TestMemFullInboxIsReported(t *testing.T) {
	_, eps, hs := memCluster(t, 2)
	hs[2].block = make(chan struct{})
	eps[1].Send(group, msgs(1, 2, 1, memQueueSize+100))
	// The handler holds at most one message, so at least 99 did not fit.
	if n := len(hs[1].unreachable); n < 99 {
		t.Fatalf("%d unreachable reports, want >= 99", n)
	}
	close(hs[2].block)
}

func TestMemPartition(t *testing.T) {
	nw, eps, hs := memCluster(t, 4)
	checkReach(t, nw, eps, hs, func() { nw.Partition([]uint64{1, 2}, []uint64{3}) }, map[[2]uint64]bool{
		{1, 2}: true, {2, 1}: true,
		{1, 3}: false, {3, 1}: false, {2, 3}: false,
		{1, 4}: false, {3, 4}: false, // 4 is unlisted: its own side
	})
	// Unlisted nodes share one side.
	checkReach(t, nw, eps, hs, func() { nw.Partition([]uint64{1}) }, map[[2]uint64]bool{
		{1, 2}: false, {2, 1}: false, {2, 3}: true, {3, 4}: true,
	})
}

func TestMemIsolate(t *testing.T) {
	nw, eps, hs := memCluster(t, 3)
	checkReach(t, nw, eps, hs, func() { nw.Isolate(2) }, map[[2]uint64]bool{
		{1, 2}: false, {2, 1}: false, {2, 3}: false, {1, 3}: true,
	})
}

func TestMemCutIsOneWay(t *testing.T) {
	nw, eps, hs := memCluster(t, 3)
	checkReach(t, nw, eps, hs, func() { nw.Cut(1, 2) }, map[[2]uint64]bool{
		{1, 2}: false, {2, 1}: true, {1, 3}: true,
	})
	checkReach(t, nw, eps, hs, func() { nw.Cut(0, 3) }, map[[2]uint64]bool{
		{1, 3}: false, {2, 3}: false, {3, 1}: true,
	})
}

func TestMemDrop(t *testing.T) {
	nw, eps, hs := memCluster(t, 2)
	nw.SetSeed(42)
	nw.Drop(1, 2, 0.5)
	const n = 2000
	eps[1].Send(group, msgs(1, 2, 1, n))
	nw.Drop(1, 2, 0)
	eps[1].Send(group, msgs(1, 2, n+1, 1)) // marker
	got := 0
	for {
		r := recvN(t, hs[2], 1)[0]
		if r.m.GetIndex() == n+1 {
			break
		}
		got++
	}
	if got < n*4/10 || got > n*6/10 {
		t.Fatalf("%d of %d delivered with 50%% loss", got, n)
	}
	expectNone(t, hs[1].unreachable, "unreachable report")
	checkReach(t, nw, eps, hs, func() { nw.Drop(0, 0, 1) }, map[[2]uint64]bool{{1, 2}: false, {2, 1}: false})
}

func TestMemDelay(t *testing.T) {
	nw, eps, hs := memCluster(t, 3)
	const d = 50 * time.Millisecond
	nw.Delay(1, 2, d, d)
	start := time.Now()
	eps[1].Send(group, msgs(1, 2, 1, 100))
	eps[1].Send(group, msgs(1, 3, 1, 1))
	recvN(t, hs[3], 1) // undelayed link unaffected
	got := recvN(t, hs[2], 100)
	if el := time.Since(start); el < d {
		t.Fatalf("delivered after %v, want >= %v", el, d)
	}
	checkOrder(t, got, group, 1) // a fixed delay keeps order

	// Random delays deliver everything, possibly reordered.
	nw.Delay(1, 2, time.Millisecond, 20*time.Millisecond)
	eps[1].Send(group, msgs(1, 2, 1, 200))
	seen := make(map[uint64]bool)
	for _, r := range recvN(t, hs[2], 200) {
		seen[r.m.GetIndex()] = true
	}
	if len(seen) != 200 {
		t.Fatalf("%d distinct messages of 200", len(seen))
	}
}

func TestMemSnapshot(t *testing.T) {
	nw, eps, hs := memCluster(t, 3)
	data := randomBytes(1 << 20)
	body := newTrackedBody(bytes.NewReader(data))
	eps[1].SendSnapshot(group, snapMsg(1, 2), body)
	if s := waitFor(t, hs[2].snaps, "snapshot"); !bytes.Equal(s.data, data) || s.m.GetType() != snapMsg(1, 2).GetType() {
		t.Fatalf("snapshot: %d bytes, %v", len(s.data), s.m)
	}
	if r := waitFor(t, hs[1].snapReports, "report"); r.failed || r.to != 2 {
		t.Fatalf("got %+v", r)
	}
	waitFor(t, body.closed, "body close")

	nw.Partition([]uint64{1}, []uint64{2, 3})
	eps[1].SendSnapshot(group, snapMsg(1, 2), io.NopCloser(bytes.NewReader(data)))
	if r := waitFor(t, hs[1].snapReports, "report"); !r.failed {
		t.Fatalf("partitioned snapshot reported %+v", r)
	}
	nw.Heal()

	hs[3].onSnapshot = func(snapshot) error { return errors.New("no space") }
	eps[1].SendSnapshot(group, snapMsg(1, 3), io.NopCloser(bytes.NewReader(data)))
	if r := waitFor(t, hs[1].snapReports, "report"); !r.failed || r.to != 3 {
		t.Fatalf("rejected snapshot reported %+v", r)
	}
}

func TestMemCloseLeavesNoGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	nw := NewMemNetwork()
	h1, h2 := newTestHandler(), newTestHandler()
	a, b := nw.Transport(1, h1), nw.Transport(2, h2)
	a.AddPeer(2, "")
	b.AddPeer(1, "")
	nw.Delay(0, 0, time.Hour, time.Hour)
	a.Send(group, msgs(1, 2, 1, 10)) // held back for an hour
	pr, pw := io.Pipe()
	defer pw.Close()
	a.SendSnapshot(group, snapMsg(1, 2), pr) // body never ends
	// Close must unblock the snapshot by closing its body.
	nw.Close()
	if r := waitFor(t, h1.snapReports, "report"); !r.failed {
		t.Fatalf("cancelled snapshot reported %+v", r)
	}
	checkGoroutines(t, base)
	a.Send(group, msgs(1, 2, 1, 1)) // no-op after Close
}
