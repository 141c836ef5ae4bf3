package respserver

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/resp"
	"github.com/cairndb/cairn/internal/service"
)

// PipelineCase is a pipeline and the replies Redis gives it, rendered by
// RenderReply. Exported (in a test file) for the cluster tests of package
// respserver_test.
type PipelineCase struct {
	Cmds [][]string
	Want []string
}

// RenderReply renders a reply compactly: +OK, -ERR ..., :5, $value, nil,
// [a b].
func RenderReply(v resp.Value) string {
	switch {
	case v.Type == resp.TypeNull, v.Null:
		return "nil"
	case v.Type == resp.TypeInt:
		return ":" + strconv.FormatInt(v.Int, 10)
	case v.Type == resp.TypeBulk:
		return "$" + v.Str
	case v.Type == resp.TypeArray:
		parts := make([]string, len(v.Array))
		for i, e := range v.Array {
			parts[i] = RenderReply(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return string(v.Type) + v.Str
}

// MixedPipeline returns n commands (SET, GET, INCR, INCRBY, APPEND, DEL,
// MGET, EXISTS, SETNX on five keys under prefix), chosen from seed, and
// the replies of a model of Redis, errors included (INCR of a non-integer).
func MixedPipeline(seed uint64, n int, prefix string) PipelineCase {
	rng := rand.New(rand.NewPCG(seed, seed))
	model := map[string]string{}
	var pc PipelineCase
	key := func() string { return prefix + "k" + strconv.Itoa(rng.IntN(5)) }
	get := func(k string) string {
		if v, ok := model[k]; ok {
			return "$" + v
		}
		return "nil"
	}
	incr := func(k string, by int64) string {
		cur := int64(0)
		if v, ok := model[k]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return "-" + errNotInteger
			}
			cur = n
		}
		model[k] = strconv.FormatInt(cur+by, 10)
		return ":" + model[k]
	}
	for i := range n {
		k := key()
		var cmd []string
		var want string
		switch op := rng.IntN(10); op {
		case 0, 1:
			v := strconv.Itoa(rng.IntN(100))
			if rng.IntN(4) == 0 {
				v = "s" + v // not an integer: a later INCR fails
			}
			cmd, want = []string{"SET", k, v}, "+OK"
			model[k] = v
		case 2, 3, 4:
			cmd, want = []string{"GET", k}, get(k)
		case 5:
			cmd, want = []string{"INCR", k}, incr(k, 1)
		case 6:
			cmd, want = []string{"INCRBY", k, "-3"}, incr(k, -3)
		case 7:
			s := "a" + strconv.Itoa(i%10)
			model[k] += s
			cmd, want = []string{"APPEND", k, s}, ":"+strconv.Itoa(len(model[k]))
		case 8:
			_, ok := model[k]
			delete(model, k)
			cmd, want = []string{"DEL", k}, ":"+strconv.Itoa(int(b2i(ok)))
		case 9:
			k2 := key()
			switch rng.IntN(3) {
			case 0:
				cmd, want = []string{"MGET", k, k2}, "["+get(k)+" "+get(k2)+"]"
			case 1:
				_, ok1 := model[k]
				_, ok2 := model[k2]
				cmd, want = []string{"EXISTS", k, k2}, ":"+strconv.Itoa(int(b2i(ok1)+b2i(ok2)))
			default:
				_, ok := model[k]
				if !ok {
					model[k] = "nx"
				}
				cmd, want = []string{"SETNX", k, "nx"}, ":"+strconv.Itoa(int(b2i(!ok)))
			}
		}
		pc.Cmds = append(pc.Cmds, cmd)
		pc.Want = append(pc.Want, want)
	}
	return pc
}

// RunPipeline sends pc's commands to addr in one write and checks every
// reply, in order. It may run on any goroutine.
func RunPipeline(addr string, pc PipelineCase) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	var buf []byte
	for _, cmd := range pc.Cmds {
		args := make([][]byte, len(cmd))
		for i, a := range cmd {
			args[i] = []byte(a)
		}
		buf = resp.AppendCommand(buf, args...)
	}
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := nc.Write(buf); err != nil {
		return err
	}
	br := bufio.NewReader(nc)
	for i, want := range pc.Want {
		v, err := resp.ReadReply(br)
		if err != nil {
			return fmt.Errorf("reply %d (%v): %w", i, pc.Cmds[i], err)
		}
		if got := RenderReply(v); got != want {
			return fmt.Errorf("reply %d to %v = %q, want %q", i, pc.Cmds[i], got, want)
		}
	}
	return nil
}

func runPipeline(t *testing.T, addr string, pc PipelineCase) {
	t.Helper()
	if err := RunPipeline(addr, pc); err != nil {
		t.Fatal(err)
	}
}

// TestPipelineOrdering: a pipeline mixing writes, reads and other commands
// gets exactly Redis's answers: each read sees the writes before it.
func TestPipelineOrdering(t *testing.T) {
	_, addr := startServer(t, newFakeService(t))
	pc := PipelineCase{}
	add := func(want string, cmd ...string) {
		pc.Cmds = append(pc.Cmds, cmd)
		pc.Want = append(pc.Want, want)
	}
	add("+OK", "SET", "a", "1")
	add(":2", "INCR", "a")
	add("$2", "GET", "a")
	add("+OK", "SET", "a", "x")
	add("$x", "GET", "a")
	add("-"+errNotInteger, "INCR", "a")
	add(":2", "APPEND", "a", "y")
	add("$xy", "GET", "a")
	add(":1", "DEL", "a")
	add("nil", "GET", "a")
	add(":0", "EXISTS", "a")
	add(":5", "INCRBY", "a", "5")
	add("+OK", "MSET", "a", "7", "b", "8")
	add("[$7 $8 nil]", "MGET", "a", "b", "c")
	add("+PONG", "PING")
	add(":9", "INCR", "b")
	add("$9", "GETSET", "b", "z")
	add(":1", "STRLEN", "b")
	add("-ERR invalid expire time in 'set' command", "SET", "c", "v", "EX", "0")
	add("nil", "GET", "c")
	add("+OK", "SET", "c", "v", "NX")
	add("nil", "SET", "c", "w", "NX")
	add("+OK", "MULTI")
	add("+QUEUED", "INCR", "a")
	add("+QUEUED", "GET", "a")
	add("[:8 $8]", "EXEC")
	add("$8", "GET", "a")
	add(":3", "DEL", "a", "b", "c")
	add(":0", "DBSIZE")
	runPipeline(t, addr, pc)
}

// TestPipelineMixed checks every reply of a 1000-command pipeline against
// the model, on several connections at once (distinct keys).
func TestPipelineMixed(t *testing.T) {
	_, addr := startServer(t, newFakeService(t))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			if err := RunPipeline(addr, MixedPipeline(uint64(i), 1000, fmt.Sprintf("c%d:", i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// gatedService holds the results of writes until need of them are in
// flight at once, so a server that waited for each write before proposing
// the next would get none (its Wait times out: a -TIMEOUT reply).
type gatedService struct {
	*fakeService
	need     int
	deadline time.Duration

	mu       sync.Mutex // guards held, inFlight, max, cancels
	held     []gated
	inFlight int
	max      int
	cancels  []context.CancelFunc
}

type gated struct {
	ch chan *command.Result
	r  *command.Result
}

func (g *gatedService) ProposeAsync(ctx context.Context, req *command.Request) (*service.Pending, error) {
	p, err := g.fakeService.ProposeAsync(ctx, req) // applied in order, result ready
	if err != nil {
		return nil, err
	}
	r, _ := p.Wait()
	ch := make(chan *command.Result, 1)
	ctx, cancel := context.WithTimeout(ctx, g.deadline)
	g.mu.Lock()
	g.cancels = append(g.cancels, cancel)
	defer g.mu.Unlock()
	g.inFlight++
	g.max = max(g.max, g.inFlight)
	g.held = append(g.held, gated{ch, r})
	if len(g.held) >= g.need {
		for _, h := range g.held {
			h.ch <- h.r
		}
		g.inFlight -= len(g.held)
		g.held = nil
	}
	return service.NewPending(ctx, ch), nil
}

// TestPipelineWritesInFlight: the writes of one segment are all proposed
// before the first is awaited.
func TestPipelineWritesInFlight(t *testing.T) {
	const n = 16
	g := &gatedService{fakeService: newFakeService(t), need: n, deadline: 3 * time.Second}
	t.Cleanup(func() {
		for _, cancel := range g.cancels {
			cancel()
		}
	})
	_, addr := startServer(t, g)
	pc := PipelineCase{}
	for i := range n {
		pc.Cmds = append(pc.Cmds, []string{"INCR", "k"})
		pc.Want = append(pc.Want, ":"+strconv.Itoa(i+1))
	}
	runPipeline(t, addr, pc)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.max < n {
		t.Fatalf("at most %d writes in flight, want %d", g.max, n)
	}
}

// failingService fails chosen proposals: refused at once (no leader), or
// in flight (timed out).
type failingService struct {
	*fakeService
	mu       sync.Mutex // guards n
	n        int
	refuse   int // the n-th proposal is refused with ErrNoLeader
	lose     int // the n-th proposal times out
	canceled context.Context
}

func (f *failingService) ProposeAsync(ctx context.Context, req *command.Request) (*service.Pending, error) {
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	switch n {
	case f.refuse:
		return nil, fmt.Errorf("%w (raftnode: proposal dropped)", service.ErrNoLeader)
	case f.lose:
		return service.NewPending(f.canceled, make(chan *command.Result, 1)), nil
	}
	return f.fakeService.ProposeAsync(ctx, req)
}

// TestPipelineFailureIsPerCommand: a write that fails gets its own error
// reply; the others in its segment apply and answer normally.
func TestPipelineFailureIsPerCommand(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	f := &failingService{fakeService: newFakeService(t), refuse: 3, lose: 5, canceled: canceled}
	_, addr := startServer(t, f)
	pc := PipelineCase{}
	for i := 1; i <= 6; i++ {
		pc.Cmds = append(pc.Cmds, []string{"SET", "k" + strconv.Itoa(i), "v"})
		pc.Want = append(pc.Want, "+OK")
	}
	pc.Want[2] = "-CLUSTERDOWN " + service.ErrNoLeader.Error() + " (raftnode: proposal dropped)"
	pc.Want[4] = "-TIMEOUT " + service.ErrTimeout.Error()
	pc.Cmds = append(pc.Cmds, []string{"MGET", "k1", "k2", "k3", "k4", "k5", "k6"})
	pc.Want = append(pc.Want, "[$v $v nil $v nil $v]")
	runPipeline(t, addr, pc)
}

// TestPipelineOneBarrier: a segment of reads shares one read barrier (a
// few at most, if the pipeline arrived in several socket reads); READONLY
// reads need none.
func TestPipelineOneBarrier(t *testing.T) {
	svc := newFakeService(t)
	_, addr := startServer(t, svc)
	c := dial(t, addr)
	c.do("SET", "k", "v")
	const n = 200
	var buf []byte
	for range n {
		buf = resp.AppendCommand(buf, []byte("GET"), []byte("k"))
	}
	before := svc.barriers.Load()
	c.send(buf)
	for i := range n {
		if v, err := c.read(); err != nil || v.Str != "v" {
			t.Fatalf("GET %d: %+v %v", i, v, err)
		}
	}
	if b := svc.barriers.Load() - before; b < 1 || b > 5 {
		t.Fatalf("%d GETs took %d read barriers", n, b)
	}
	c.do("READONLY")
	before = svc.barriers.Load()
	c.send(buf)
	for range n {
		if _, err := c.read(); err != nil {
			t.Fatal(err)
		}
	}
	if b := svc.barriers.Load() - before; b != 0 {
		t.Fatalf("READONLY: %d read barriers", b)
	}
}

// TestPipelineBarrierFailure: a failed barrier fails the reads it covers,
// once, not once per read.
func TestPipelineBarrierFailure(t *testing.T) {
	svc := newFakeService(t)
	_, addr := startServer(t, svc)
	c := dial(t, addr)
	svc.setErr(fmt.Errorf("%w; gave up", service.ErrNoLeader))
	var buf []byte
	for range 10 {
		buf = resp.AppendCommand(buf, []byte("GET"), []byte("k"))
	}
	c.send(buf)
	for i := range 10 {
		if v, err := c.read(); err != nil || v.Type != resp.TypeError || !strings.HasPrefix(v.Str, "CLUSTERDOWN") {
			t.Fatalf("GET %d: %+v %v", i, v, err)
		}
	}
	if b := svc.barriers.Load(); b > 2 {
		t.Fatalf("10 GETs after a failed barrier took %d barriers", b)
	}
}
