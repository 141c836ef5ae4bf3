package transport

import (
	"bytes"
	"io"
	"runtime"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// waitTimeout bounds every wait in these tests; it is generous because the
// race detector on a 2-core machine is slow.
const waitTimeout = 20 * time.Second

type received struct {
	group uint64
	m     *pb.Message
}

type report struct {
	group, to uint64
	failed    bool
}

type snapshot struct {
	group uint64
	m     *pb.Message
	data  []byte
	err   error // what reading the body returned (nil: clean EOF)
}

// testHandler records everything a transport hands it on channels. Receive
// blocks while block is non-nil and open.
type testHandler struct {
	recv        chan received
	unreachable chan report
	snapReports chan report
	snaps       chan snapshot
	block       chan struct{}
	// onSnapshot, if set, decides ReceiveSnapshot's result after the body
	// was read.
	onSnapshot func(s snapshot) error
}

func newTestHandler() *testHandler {
	return &testHandler{
		recv:        make(chan received, 1<<16),
		unreachable: make(chan report, 1<<12),
		snapReports: make(chan report, 16),
		snaps:       make(chan snapshot, 16),
	}
}

func (h *testHandler) Receive(group uint64, m *pb.Message) {
	if h.block != nil {
		<-h.block
	}
	h.recv <- received{group, m}
}

func (h *testHandler) ReceiveSnapshot(group uint64, m *pb.Message, body io.Reader) error {
	var buf bytes.Buffer
	_, err := io.Copy(&buf, body)
	s := snapshot{group: group, m: m, data: buf.Bytes(), err: err}
	h.snaps <- s
	if h.onSnapshot != nil {
		return h.onSnapshot(s)
	}
	return err
}

func (h *testHandler) ReportUnreachable(group, to uint64) {
	select { // must never block
	case h.unreachable <- report{group: group, to: to}:
	default:
	}
}

func (h *testHandler) ReportSnapshot(group, to uint64, failed bool) {
	h.snapReports <- report{group, to, failed}
}

func msg(from, to, index uint64) *pb.Message {
	return &pb.Message{Type: pb.MsgApp.Enum(), From: new(from), To: new(to), Index: new(index), Term: new(uint64(1))}
}

func msgs(from, to, first, n uint64) []*pb.Message {
	out := make([]*pb.Message, n)
	for i := range out {
		out[i] = msg(from, to, first+uint64(i))
	}
	return out
}

func snapMsg(from, to uint64) *pb.Message {
	return &pb.Message{
		Type: pb.MsgSnap.Enum(), From: new(from), To: new(to), Term: new(uint64(3)),
		Snapshot: &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(uint64(100)), Term: new(uint64(3))}},
	}
}

// recvN waits for n messages and returns them.
func recvN(t *testing.T, h *testHandler, n int) []received {
	t.Helper()
	out := make([]received, 0, n)
	deadline := time.After(waitTimeout)
	for len(out) < n {
		select {
		case r := <-h.recv:
			out = append(out, r)
		case <-deadline:
			t.Fatalf("received %d of %d messages before timeout", len(out), n)
		}
	}
	return out
}

// checkOrder fails unless got is group's messages with indexes first,
// first+1, ...
func checkOrder(t *testing.T, got []received, group, first uint64) {
	t.Helper()
	for i, r := range got {
		if r.group != group || r.m.GetIndex() != first+uint64(i) {
			t.Fatalf("message %d: group %d index %d, want group %d index %d",
				i, r.group, r.m.GetIndex(), group, first+uint64(i))
		}
	}
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// expectNone fails if ch holds a value right now.
func expectNone[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %+v", what, v)
	default:
	}
}

// checkGoroutines waits until the goroutine count is back to base.
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}
