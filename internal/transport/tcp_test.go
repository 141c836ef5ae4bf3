package transport

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

const group = 7

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// startTCP starts a transport for node id on addr ("" for 127.0.0.1:0).
func startTCP(t *testing.T, id uint64, addr string, h *testHandler, tweak func(*TCPConfig)) *TCP {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	cfg := TCPConfig{ID: id, ListenAddr: addr, Handler: h, Logger: testLogger(), BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond}
	if tweak != nil {
		tweak(&cfg)
	}
	tr, err := NewTCP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// tcpPair starts nodes 1 and 2, each knowing the other.
func tcpPair(t *testing.T, tweak func(*TCPConfig)) (a, b *TCP, ha, hb *testHandler) {
	t.Helper()
	ha, hb = newTestHandler(), newTestHandler()
	a = startTCP(t, 1, "", ha, tweak)
	b = startTCP(t, 2, "", hb, tweak)
	a.AddPeer(2, b.Addr().String())
	b.AddPeer(1, a.Addr().String())
	return a, b, ha, hb
}

func TestNewTCPValidatesConfig(t *testing.T) {
	h := newTestHandler()
	for name, cfg := range map[string]TCPConfig{
		"zero ID":        {ListenAddr: "127.0.0.1:0", Handler: h},
		"no handler":     {ID: 1, ListenAddr: "127.0.0.1:0"},
		"no address":     {ID: 1, Handler: h},
		"bad backoff":    {ID: 1, ListenAddr: "127.0.0.1:0", Handler: h, BackoffMin: time.Second, BackoffMax: time.Millisecond},
		"chunk too big":  {ID: 1, ListenAddr: "127.0.0.1:0", Handler: h, MaxFrameSize: 1 << 20, SnapshotChunkSize: 1 << 20},
		"negative queue": {ID: 1, ListenAddr: "127.0.0.1:0", Handler: h, QueueSize: -1},
	} {
		if _, err := NewTCP(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: got %v, want ErrInvalidConfig", name, err)
		}
	}
}

func TestTCPDeliversInOrder(t *testing.T) {
	a, b, ha, hb := tcpPair(t, nil)
	for i := uint64(0); i < 10; i++ {
		a.Send(group, msgs(1, 2, 1+100*i, 100))
	}
	b.Send(group+1, msgs(2, 1, 1, 50))

	got := recvN(t, hb, 1000)
	checkOrder(t, got, group, 1)
	if got[0].m.GetFrom() != 1 || got[0].m.GetTo() != 2 || got[0].m.GetTerm() != 1 {
		t.Fatalf("message fields not preserved: %v", got[0].m)
	}
	checkOrder(t, recvN(t, ha, 50), group+1, 1)
	expectNone(t, ha.unreachable, "unreachable report")
	expectNone(t, hb.unreachable, "unreachable report")
}

func TestTCPBatchesUnderLoad(t *testing.T) {
	const n = 10_000
	a, _, ha, hb := tcpPair(t, func(c *TCPConfig) { c.QueueSize = 2 * n })
	// Connect first, so batching is measured on a live stream rather than
	// on what piled up during the dial.
	a.Send(group, msgs(1, 2, 0, 1))
	recvN(t, hb, 1)
	batches0 := a.stats.batches.Load()

	for i := uint64(0); i < n; i += 10 {
		a.Send(group, msgs(1, 2, 1+i, 10))
	}
	checkOrder(t, recvN(t, hb, n), group, 1)
	expectNone(t, ha.unreachable, "unreachable report")

	batches, frames := a.stats.batches.Load()-batches0, a.stats.frames.Load()-1
	t.Logf("%d messages in %d batches", frames, batches)
	if frames != n || batches >= n/2 {
		t.Fatalf("%d messages in %d batches: not batched", frames, batches)
	}
}

func TestTCPUnknownPeerIsReportedAtOnce(t *testing.T) {
	a, _, ha, _ := tcpPair(t, nil)
	a.Send(group, []*pb.Message{msg(1, 9, 1)})
	// Reported synchronously, before Send returned.
	select {
	case r := <-ha.unreachable:
		if r.to != 9 || r.group != group {
			t.Fatalf("got %+v", r)
		}
	default:
		t.Fatal("unknown peer not reported unreachable")
	}

	a.SendSnapshot(group, snapMsg(1, 9), io.NopCloser(bytes.NewReader(nil)))
	if r := waitFor(t, ha.snapReports, "snapshot report"); !r.failed || r.to != 9 {
		t.Fatalf("got %+v, want failed report for 9", r)
	}
}

func TestTCPReconnectsAfterPeerRestart(t *testing.T) {
	a, b, ha, hb := tcpPair(t, nil)
	a.Send(group, msgs(1, 2, 1, 1))
	recvN(t, hb, 1)

	addr := b.Addr().String()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if r := waitFor(t, ha.unreachable, "unreachable report"); r.to != 2 || r.group != group {
		t.Fatalf("got %+v", r)
	}

	hb2 := newTestHandler()
	startTCP(t, 2, addr, hb2, nil)
	// Messages sent while a is backing off are dropped, so keep sending
	// until one gets through.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	for i := uint64(2); ; i++ {
		select {
		case r := <-hb2.recv:
			if r.m.GetFrom() != 1 {
				t.Fatalf("got %v", r.m)
			}
			return
		case <-tick.C:
			a.Send(group, msgs(1, 2, i, 1))
		case <-deadline:
			t.Fatal("no message after restart")
		}
	}
}

func TestTCPAddPeerNewAddress(t *testing.T) {
	ha, hb := newTestHandler(), newTestHandler()
	a := startTCP(t, 1, "", ha, nil)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	a.AddPeer(2, deadAddr)
	a.Send(group, msgs(1, 2, 1, 1))
	if r := waitFor(t, ha.unreachable, "unreachable report"); r.to != 2 {
		t.Fatalf("got %+v", r)
	}

	b := startTCP(t, 2, "", hb, nil)
	a.AddPeer(2, b.Addr().String())
	a.Send(group, msgs(1, 2, 10, 5))
	checkOrder(t, recvN(t, hb, 5), group, 10)
}

func TestTCPRemovePeer(t *testing.T) {
	a, _, ha, hb := tcpPair(t, nil)
	a.Send(group, msgs(1, 2, 1, 1))
	recvN(t, hb, 1)
	a.RemovePeer(2)
	a.Send(group, msgs(1, 2, 2, 1))
	if r := waitFor(t, ha.unreachable, "unreachable report"); r.to != 2 {
		t.Fatalf("got %+v", r)
	}
}

func TestTCPCloseLeavesNoGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	ha, hb := newTestHandler(), newTestHandler()
	cfg := func(id uint64, h Handler) TCPConfig {
		return TCPConfig{ID: id, ListenAddr: "127.0.0.1:0", Handler: h}
	}
	a, err := NewTCP(cfg(1, ha))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewTCP(cfg(2, hb))
	if err != nil {
		t.Fatal(err)
	}
	a.AddPeer(2, b.Addr().String())
	b.AddPeer(1, a.Addr().String())
	a.AddPeer(3, "127.0.0.1:1") // never reachable: a writer stuck reconnecting
	a.Send(group, msgs(1, 2, 1, 100))
	b.Send(group, msgs(2, 1, 1, 100))
	recvN(t, hb, 100)
	recvN(t, ha, 100)

	// A snapshot whose body never ends: Close must cancel it.
	pr, pw := io.Pipe()
	defer pw.Close()
	pw2 := make(chan struct{})
	go func() { pw.Write(make([]byte, 4096)); close(pw2) }()
	a.SendSnapshot(group, snapMsg(1, 2), pr)
	<-pw2

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if r := waitFor(t, ha.snapReports, "snapshot report"); !r.failed {
		t.Fatalf("cancelled snapshot reported %+v", r)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	a.Send(group, msgs(1, 2, 1, 1)) // no-op, no panic
	a.AddPeer(4, "127.0.0.1:1")
	checkGoroutines(t, base)
}
