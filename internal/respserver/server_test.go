package respserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/resp"
	"github.com/cairndb/cairn/internal/service"
)

// TestPipeline sends 1000 commands in one write and expects 1000 replies
// in order.
func TestPipeline(t *testing.T) {
	_, addr := startServer(t, newFakeService(t))
	c := dial(t, addr)
	var buf []byte
	for i := range 500 {
		buf = resp.AppendCommand(buf, []byte("SET"), []byte("k"+strconv.Itoa(i)), []byte(strconv.Itoa(i)))
		buf = resp.AppendCommand(buf, []byte("GET"), []byte("k"+strconv.Itoa(i)))
	}
	c.send(buf)
	for i := range 500 {
		if v, err := c.read(); err != nil || v.Type != resp.TypeSimpleString || v.Str != "OK" {
			t.Fatalf("SET %d: %+v %v", i, v, err)
		}
		if v, err := c.read(); err != nil || v.Str != strconv.Itoa(i) {
			t.Fatalf("GET %d: %+v %v", i, v, err)
		}
	}
}

// countingConn counts the writes a server makes.
type countingListener struct {
	net.Listener
	mu     sync.Mutex
	writes int
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes++
	c.l.mu.Unlock()
	return c.Conn.Write(b)
}

// TestPipelineFlushesOnce checks that a pipeline that arrives whole is
// answered with one write.
func TestPipelineFlushesOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	s := New(newFakeService(t), Options{})
	go s.Serve(cl)
	defer s.Close()
	c := dial(t, ln.Addr().String())
	var buf []byte
	for range 100 {
		buf = resp.AppendCommand(buf, []byte("PING"))
	}
	c.send(buf)
	for range 100 {
		if _, err := c.read(); err != nil {
			t.Fatal(err)
		}
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.writes != 1 {
		t.Fatalf("100 pipelined PINGs took %d writes, want 1", cl.writes)
	}
}

func TestValueTooLarge(t *testing.T) {
	_, addr := startServer(t, newFakeService(t))
	c := dial(t, addr)
	big := strings.Repeat("x", service.MaxValueSize+1)
	if v := c.do("SET", "k", big); v.Type != resp.TypeError || !strings.HasPrefix(v.Str, "ERR value too large") {
		t.Fatalf("SET of %d bytes: %+v", len(big), v)
	}
	if v := c.do("APPEND", "k", big); v.Type != resp.TypeError || !strings.HasPrefix(v.Str, "ERR value too large") {
		t.Fatalf("APPEND: %+v", v)
	}
	// The connection is still usable.
	if v := c.do("SET", "k", big[:service.MaxValueSize]); v.Str != "OK" {
		t.Fatalf("SET of the limit: %+v", v)
	}
	if v := c.do("APPEND", "k", "y"); v.Type != resp.TypeError || v.Str != errTooLarge {
		t.Fatalf("APPEND past the limit: %+v", v)
	}
	// Far over the bulk limit: a protocol error closes the connection.
	c.send([]byte(fmt.Sprintf("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n", 64<<20)))
	if v, err := c.read(); err != nil || v.Type != resp.TypeError || !strings.Contains(v.Str, "Protocol error") {
		t.Fatalf("oversized bulk: %+v %v", v, err)
	}
	if _, err := c.read(); err == nil {
		t.Fatal("connection still open after a protocol error")
	}
}

// TestScan iterates with a small COUNT: every key comes back exactly
// once, the cursor is a decimal number, and the scan ends with cursor 0.
func TestScan(t *testing.T) {
	svc := newFakeService(t)
	_, addr := startServer(t, svc)
	c := dial(t, addr)
	want := map[string]bool{}
	args := []string{"MSET"}
	for i := range 95 {
		k := fmt.Sprintf("key:%03d", i)
		want[k] = true
		args = append(args, k, "v")
	}
	args = append(args, "other", "v")
	c.do(args...)
	for _, match := range []string{"", "key:*", "*:0*"} {
		got := map[string]int{}
		cursor := "0"
		calls := 0
		for {
			cmd := []string{"SCAN", cursor, "COUNT", "7"}
			if match != "" {
				cmd = append(cmd, "MATCH", match)
			}
			v := c.do(cmd...)
			if v.Type != resp.TypeArray || len(v.Array) != 2 {
				t.Fatalf("SCAN reply %+v", v)
			}
			cursor = v.Array[0].Str
			if _, err := strconv.ParseUint(cursor, 10, 64); err != nil {
				t.Fatalf("cursor %q is not a number", cursor)
			}
			for _, k := range v.Array[1].Array {
				got[k.Str]++
			}
			calls++
			if cursor == "0" {
				break
			}
			if calls > 100 {
				t.Fatal("scan does not end")
			}
		}
		for k, n := range got {
			if n != 1 {
				t.Errorf("MATCH %q: %s returned %d times", match, k, n)
			}
		}
		for k := range want {
			if got[k] == 0 && (match == "" || globMatch([]byte(match), []byte(k))) {
				t.Errorf("MATCH %q: %s never returned", match, k)
			}
		}
		if match == "" && got["other"] != 1 {
			t.Errorf("other missing from a full scan")
		}
	}
}

func TestInfo(t *testing.T) {
	svc := newFakeService(t)
	_, addr := startServer(t, svc)
	c := dial(t, addr)
	c.do("MSET", "a", "1", "b", "2")
	v := c.do("INFO")
	for _, want := range []string{"# Server\r\n", "redis_version:7.0.0\r\n", "cairn_version:test\r\n",
		"# Clients\r\nconnected_clients:1\r\n", "# Replication\r\nrole:master\r\n", "raft_term:2\r\n",
		"raft_revision:1\r\n", "raft_leader:", "# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n"} {
		if !strings.Contains(v.Str, want) {
			t.Errorf("INFO lacks %q:\n%s", want, v.Str)
		}
	}
	svc.mu.Lock()
	svc.status.Role = "follower"
	svc.status.Leader = 2
	svc.mu.Unlock()
	v = c.do("INFO", "replication")
	if !strings.HasPrefix(v.Str, "# Replication\r\nrole:slave\r\n") || strings.Contains(v.Str, "# Server") ||
		!strings.Contains(v.Str, "master_link_status:up") {
		t.Errorf("INFO replication on a follower:\n%s", v.Str)
	}
	// RESP3: a verbatim string.
	c.do("HELLO", "3")
	if v := c.do("INFO", "keyspace"); v.Type != resp.TypeVerbatim || v.Format != "txt" {
		t.Errorf("INFO in RESP3: %+v", v)
	}
}

func TestClientList(t *testing.T) {
	_, addr := startServer(t, newFakeService(t))
	a, b := dial(t, addr), dial(t, addr)
	a.do("CLIENT", "SETNAME", "alpha")
	b.do("CLIENT", "SETINFO", "LIB-NAME", "tester")
	v := a.do("CLIENT", "LIST")
	if strings.Count(v.Str, "\n") != 2 || !strings.Contains(v.Str, "name=alpha") || !strings.Contains(v.Str, "lib-name=tester") {
		t.Fatalf("CLIENT LIST:\n%s", v.Str)
	}
	if v := b.do("CLIENT", "ID"); v.Type != resp.TypeInt || v.Int < 1 {
		t.Fatalf("CLIENT ID: %+v", v)
	}
}

func TestCommandTable(t *testing.T) {
	_, addr := startServer(t, newFakeService(t))
	c := dial(t, addr)
	n := c.do("COMMAND", "COUNT")
	all := c.do("COMMAND")
	if n.Int != int64(len(all.Array)) || n.Int < 45 {
		t.Fatalf("COMMAND COUNT %d, COMMAND has %d entries", n.Int, len(all.Array))
	}
	for _, e := range all.Array {
		if len(e.Array) != 10 {
			t.Fatalf("entry %+v", e)
		}
	}
	for _, name := range []string{"get", "set", "mget", "incrbyfloat", "scan", "multi", "exec", "watch", "hello", "info"} {
		if lookup([]byte(strings.ToUpper(name))) == nil {
			t.Errorf("%s not in the table", name)
		}
	}
}

// blockingService blocks every call until released or canceled.
type blockingService struct {
	*fakeService
	entered chan struct{}
}

func (b *blockingService) Get(ctx context.Context, key []byte, o service.ReadOptions) (*command.KeyValue, int64, error) {
	b.entered <- struct{}{}
	<-ctx.Done()
	return nil, 0, ctx.Err()
}

// TestClose checks that Close ends idle connections, connections waiting
// for the service, and the accept loop, and that Serve reports it.
func TestClose(t *testing.T) {
	svc := &blockingService{fakeService: newFakeService(t), entered: make(chan struct{}, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(svc, Options{})
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	idle := dial(t, ln.Addr().String())
	busy := dial(t, ln.Addr().String())
	idle.do("PING")
	busy.send(resp.AppendCommand(nil, []byte("GET"), []byte("k")))
	<-svc.entered
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := <-done; err != ErrServerClosed {
		t.Fatalf("Serve: %v", err)
	}
	for _, c := range []*testConn{idle, busy} {
		c.nc.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 128)
		for {
			if _, err := c.nc.Read(buf); err != nil {
				break
			}
		}
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting after Close")
	}
	if err := s.Serve(ln); err != ErrServerClosed {
		t.Fatalf("Serve after Close: %v", err)
	}
}

// TestConcurrentIncr runs INCR from many connections: the read-modify-write
// happens in the state machine, so no increment is lost.
func TestConcurrentIncr(t *testing.T) {
	_, addr := startServer(t, newFakeService(t))
	const clients, each = 8, 50
	var wg sync.WaitGroup
	for range clients {
		c := dial(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for range each {
				buf = resp.AppendCommand(buf, []byte("INCR"), []byte("n"))
			}
			c.send(buf)
			for range each {
				if _, err := c.read(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if v := dial(t, addr).do("GET", "n"); v.Str != strconv.Itoa(clients*each) {
		t.Fatalf("n = %q, want %d", v.Str, clients*each)
	}
}

// TestLookupAllocs checks that the command lookup allocates nothing.
func TestLookupAllocs(t *testing.T) {
	name := []byte("GeT")
	if n := testing.AllocsPerRun(100, func() {
		if lookup(name) == nil {
			t.Fatal("GET not found")
		}
	}); n != 0 {
		t.Fatalf("lookup allocates %.0f times", n)
	}
}

// benchService answers GET and SET from fixed results, so the benchmarks
// measure the front end alone. Its pendings are preallocated and reused in
// turn (more of them than a connection keeps in flight), so it allocates
// nothing itself.
type benchService struct {
	Service
	kv      command.KeyValue
	res     command.Result
	pending [maxPendingWrites + 1]*service.Pending
	chans   [maxPendingWrites + 1]chan *command.Result
	next    int
}

func (b *benchService) Get(context.Context, []byte, service.ReadOptions) (*command.KeyValue, int64, error) {
	return &b.kv, 1, nil
}

func (b *benchService) Put(context.Context, *command.PutRequest) (*command.Result, error) {
	return &b.res, nil
}

func (b *benchService) ProposeAsync(ctx context.Context, _ *command.Request) (*service.Pending, error) {
	i := b.next
	b.next = (b.next + 1) % len(b.pending)
	if b.pending[i] == nil {
		b.chans[i] = make(chan *command.Result, 1)
		b.pending[i] = service.NewPending(ctx, b.chans[i])
	}
	b.chans[i] <- &b.res
	return b.pending[i], nil
}

func (b *benchService) ReadBarrier(context.Context, service.ReadOptions) error { return nil }

// benchPipeline sends depth copies of cmd per round trip and reads the
// replies, b.N commands in all.
func benchPipeline(b *testing.B, depth int, cmd []byte, replyLen int) {
	svc := &benchService{kv: command.KeyValue{Value: bytes.Repeat([]byte("v"), 100)}, res: command.Result{Revision: 1}}
	_, addr := startServer(b, svc)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	batch := bytes.Repeat(cmd, depth)
	buf := make([]byte, replyLen*depth)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += depth {
		if _, err := nc.Write(batch); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < len(buf); {
			n, err := nc.Read(buf[got:])
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
}

// BenchmarkGET measures GET through the front end (codec, dispatch,
// reply) over loopback with 64-deep pipelines; allocs/op are the front
// end's own (the fake service allocates nothing).
func BenchmarkGET(b *testing.B) { benchPipeline(b, 64, getCmd, getReplyLen) }

// BenchmarkSET is BenchmarkGET for SET of a 100-byte value.
func BenchmarkSET(b *testing.B) { benchPipeline(b, 64, setCmd, setReplyLen) }

// BenchmarkGETNoPipeline and BenchmarkSETNoPipeline send one command per
// round trip; the P16 variants 16, as redis-benchmark -P 16.
func BenchmarkGETNoPipeline(b *testing.B) { benchPipeline(b, 1, getCmd, getReplyLen) }
func BenchmarkSETNoPipeline(b *testing.B) { benchPipeline(b, 1, setCmd, setReplyLen) }
func BenchmarkGETP16(b *testing.B)        { benchPipeline(b, 16, getCmd, getReplyLen) }
func BenchmarkSETP16(b *testing.B)        { benchPipeline(b, 16, setCmd, setReplyLen) }

// BenchmarkSETGETP16 alternates SET and GET (every command is its own
// segment: the worst case for segmenting), 16 per round trip.
func BenchmarkSETGETP16(b *testing.B) {
	benchPipeline(b, 8, append(slices.Clone(setCmd), getCmd...), setReplyLen+getReplyLen)
}

var (
	getCmd      = resp.AppendCommand(nil, []byte("GET"), []byte("key:000001"))
	getReplyLen = len("$100\r\n") + 100 + 2
	setCmd      = resp.AppendCommand(nil, []byte("SET"), []byte("key:000001"), bytes.Repeat([]byte("v"), 100))
	setReplyLen = len("+OK\r\n")
)
