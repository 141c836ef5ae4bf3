package respserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/query"
	"github.com/cairndb/cairn/internal/resp"
	"github.com/cairndb/cairn/internal/service"
)

// Service is what the RESP front end needs from the node (implemented by
// *service.Service; tests use fakes). Errors wrap the service package's
// sentinels.
type Service interface {
	Get(ctx context.Context, key []byte, o service.ReadOptions) (*command.KeyValue, int64, error)
	GetMany(ctx context.Context, keys [][]byte, o service.ReadOptions) ([]*command.KeyValue, int64, error)
	Range(ctx context.Context, r *command.RangeRequest, o service.ReadOptions) (*command.RangeResult, int64, error)
	Put(ctx context.Context, r *command.PutRequest) (*command.Result, error)
	Delete(ctx context.Context, r *command.DeleteRequest) (*command.Result, error)
	Txn(ctx context.Context, r *command.TxnRequest) (*command.Result, error)
	Mutate(ctx context.Context, r *command.MutateRequest) (*command.Result, error)
	Status(ctx context.Context) (service.Status, error)
	// ProposeAsync proposes a write without waiting for it; calls made one
	// after another enter raft in that order (pipelining, pipeline.go).
	ProposeAsync(ctx context.Context, req *command.Request) (*service.Pending, error)
	// ReadBarrier waits until reads with Stale options served afterwards
	// are as fresh as o asks.
	ReadBarrier(ctx context.Context, o service.ReadOptions) error
	// Query runs a Starlark script (CAIRN.QUERY).
	Query(ctx context.Context, script string, o query.Options) (*query.Result, error)
	// Undo reverts the newest change not undone yet; with redo, re-applies
	// the most recently undone one.
	Undo(ctx context.Context, redo bool) (*service.UndoResult, error)
}

var _ Service = (*service.Service)(nil)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("respserver: server closed")

// Options configure a Server. The zero value is valid.
type Options struct {
	Logger *slog.Logger
	// Version is the Cairn version reported by INFO and HELLO.
	Version string
	// MaxBulkLen bounds one argument. Default service.MaxValueSize + 1 MiB:
	// a value a little over the limit gets a "value too large" error, a much
	// larger one a protocol error that closes the connection.
	MaxBulkLen int
	// MaxArrayLen bounds the arguments of one command (default 1<<20).
	MaxArrayLen int
	// MaxCommandLen bounds the bytes of one command. Default
	// 2*service.MaxValueSize + 1 MiB, more than any request the service
	// accepts.
	MaxCommandLen int
	// MaxScanCursors is how many SCAN cursors the server remembers (default
	// 16384); the oldest are forgotten first.
	MaxScanCursors int
	// PubSub serves SUBSCRIBE, PUBLISH ... (pubsub.go); nil refuses them.
	PubSub PubSub
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.MaxBulkLen <= 0 {
		o.MaxBulkLen = service.MaxValueSize + 1<<20
	}
	if o.MaxArrayLen <= 0 {
		o.MaxArrayLen = 1 << 20
	}
	if o.MaxCommandLen <= 0 {
		o.MaxCommandLen = 2*service.MaxValueSize + 1<<20
	}
	if o.MaxScanCursors <= 0 {
		o.MaxScanCursors = 16384
	}
}

// Server serves the Redis protocol over the listeners given to Serve: one
// goroutine per connection, every one tracked so Close returns only when
// they have all ended.
type Server struct {
	svc     Service
	opts    Options
	log     *slog.Logger
	limits  resp.Limits
	started time.Time
	runID   string

	ctx    context.Context // canceled by Close: aborts in-flight requests
	cancel context.CancelFunc

	mu     sync.Mutex // guards lns, conns, closed
	lns    map[net.Listener]struct{}
	conns  map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup // connection goroutines

	nextConnID atomic.Int64
	cursors    cursorTable
}

// New returns a server for svc. Call Serve to accept connections.
func New(svc Service, opts Options) *Server {
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	var id [20]byte
	_, _ = rand.Read(id[:])
	s := &Server{
		svc: svc, opts: opts, log: opts.Logger,
		limits:  resp.Limits{MaxBulkLen: opts.MaxBulkLen, MaxArrayLen: opts.MaxArrayLen, MaxCommandLen: opts.MaxCommandLen},
		started: time.Now(),
		runID:   hex.EncodeToString(id[:]),
		ctx:     ctx, cancel: cancel,
		lns:   map[net.Listener]struct{}{},
		conns: map[*conn]struct{}{},
	}
	s.cursors.init(opts.MaxScanCursors)
	return s
}

// Serve accepts connections on ln until Close, then returns
// ErrServerClosed. ln is closed when Serve returns.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("resp: accept failed; retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		if !s.track(nc) {
			nc.Close()
			return ErrServerClosed
		}
	}
}

// isTemporary reports accept errors worth retrying (out of file
// descriptors and the like), as net/http does.
func isTemporary(err error) bool {
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}

// track registers a connection and starts its goroutine, unless the
// server is closed.
func (s *Server) track(nc net.Conn) bool {
	c := newConn(s, nc)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.untrack(c)
		c.serve()
	}()
	return true
}

func (s *Server) untrack(c *conn) {
	c.nc.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops accepting, closes every connection (requests in flight are
// canceled; a write already proposed may still commit) and waits for the
// connection goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// connCount is the number of open client connections.
func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// clients returns the open connections (for CLIENT LIST).
func (s *Server) clients() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// cursorTable maps SCAN cursors to the key the next call starts at. Redis
// clients (redis-cli, go-redis) parse a cursor as an unsigned 64-bit
// integer, so a cursor cannot carry a key: it is a number naming an entry
// here, valid on this node for the last MaxScanCursors cursors issued.
type cursorTable struct {
	mu    sync.Mutex // guards next, m, order, head
	next  uint64
	m     map[uint64][]byte
	order []uint64 // ring of issued cursors, oldest at head
	head  int
}

func (t *cursorTable) init(n int) {
	var seed [4]byte
	_, _ = rand.Read(seed[:])
	// Start at a random point so cursors of a restarted node are unlikely
	// to name entries of the old one.
	t.next = uint64(seed[0])<<24 | uint64(seed[1])<<16 | uint64(seed[2])<<8 | uint64(seed[3])
	t.m = make(map[uint64][]byte)
	t.order = make([]uint64, n)
}

// put remembers key and returns its cursor (never 0).
func (t *cursorTable) put(key []byte) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next++
	if t.next == 0 {
		t.next = 1
	}
	if old := t.order[t.head]; old != 0 {
		delete(t.m, old)
	}
	t.order[t.head] = t.next
	t.head = (t.head + 1) % len(t.order)
	t.m[t.next] = key
	return t.next
}

func (t *cursorTable) get(cursor uint64) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.m[cursor]
	return k, ok
}
