package respserver

import (
	"context"
	"errors"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/resp"
	"github.com/cairndb/cairn/internal/service"
)

// conn is one client connection, served by one goroutine. Everything but
// the fields under mu is owned by that goroutine.
type conn struct {
	srv     *Server
	nc      net.Conn
	id      int64
	addr    string
	created time.Time
	ctx     context.Context

	r   *resp.Reader
	w   *resp.Writer
	cmd resp.Command

	mu      sync.Mutex // guards name, libName, libVer (CLIENT LIST reads them from other goroutines)
	name    string
	libName string
	libVer  string

	stale   bool  // READONLY: reads are served locally
	lastRev int64 // revision of this connection's last write (read-your-writes when stale)
	quit    bool  // QUIT: close after flushing

	put command.PutRequest // reused by SET, so the hot path allocates nothing of its own
	req command.Request    // reused by the pipelined writes (pipeline.go)
	one [1]command.TxnOpResult

	// Pipelining (pipeline.go).
	src        countingReader // the socket, counting reads
	pending    []pendingWrite // writes proposed and not yet answered, in order
	barrierOK  bool           // a read barrier was issued in this read segment
	barrierAt  uint64         // src.n when it was issued: it covers commands read before
	barrierErr error          // its failure, replied to every read it covers
	local      bool           // a read covered by the barrier runs: read locally

	multi   bool     // inside MULTI
	dirty   bool     // a command was refused while queueing: EXEC aborts
	queue   []queued // commands queued by MULTI
	watches []watch  // keys WATCHed, with the store revision at watch time

	ps pubsubState // SUBSCRIBE/PSUBSCRIBE (pubsub.go)
}

type queued struct {
	sp   *spec
	args [][]byte // copied: the reader reuses its buffers
}

type watch struct {
	key []byte
	rev int64 // the store revision WATCH read at
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		srv: s, nc: nc,
		id:      s.nextConnID.Add(1),
		addr:    nc.RemoteAddr().String(),
		created: time.Now(),
		ctx:     s.ctx,
		src:     countingReader{r: nc},
		w:       resp.NewWriter(nc),
	}
	c.r = resp.NewReader(&c.src, s.limits)
	return c
}

// serve reads and executes commands until the client leaves, sends QUIT,
// sends something malformed (which gets an error reply first) or the
// server closes. Replies are flushed only when no pipelined command is
// waiting in the read buffer, so a pipeline costs one write per batch.
func (c *conn) serve() {
	defer func() {
		// A bug in one command must not take the node down: log it and
		// drop this connection, as net/http does.
		if r := recover(); r != nil {
			c.srv.log.Error("resp: panic serving connection", "addr", c.addr, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	c.serveCommands()
}

// serveCommands is the read-execute-reply loop. Pipelined commands
// overlap as pipeline.go describes; replies still go out in order.
func (c *conn) serveCommands() {
	defer c.endPubSub()
	defer func() { // a write in flight when the connection ends is still awaited
		locked := c.lockWriter()
		c.drain()
		c.unlockWriter(locked)
	}()
	for {
		if err := c.r.ReadCommand(&c.cmd); err != nil {
			locked := c.lockWriter()
			c.drain()
			var pe *resp.ProtocolError
			if errors.As(err, &pe) {
				c.w.Error("ERR " + pe.Error())
			}
			c.w.Flush()
			c.unlockWriter(locked)
			return
		}
		if !c.step() {
			return
		}
		c.startPusher()
	}
}

// step executes one command and flushes when nothing more is buffered.
// It reports whether to go on. With a pub/sub pusher it holds the writer.
func (c *conn) step() bool {
	locked := c.lockWriter()
	defer c.unlockWriter(locked)
	c.execute(c.cmd.Args)
	if c.quit {
		c.w.Flush()
		return false
	}
	if c.r.Buffered() == 0 {
		c.drain()
		if err := c.w.Flush(); err != nil {
			return false
		}
	}
	return true
}

// dispatch runs or queues one command.
func (c *conn) dispatch(args [][]byte) {
	sp := lookup(args[0])
	if sp == nil {
		c.refuse(errUnknownCommand(args))
		return
	}
	if !sp.arityOK(len(args)) {
		c.refuse(errArity(sp.name))
		return
	}
	if c.ps.sub != nil && c.subscribed() {
		switch {
		case !allowedSubscribed(sp.name):
			c.refuse(errSubscribed(sp.name))
			return
		case sp.name == "ping":
			c.pingSubscribed(args)
			return
		}
	}
	if c.multi && !sp.txnControl {
		c.enqueue(sp, args)
		return
	}
	sp.run(c, args)
}

// refuse replies an error to a command that did not run; inside MULTI it
// makes EXEC fail, as in Redis.
func (c *conn) refuse(msg string) {
	if c.multi {
		c.dirty = true
	}
	c.w.Error(msg)
}

// maxCommandName bounds the command names looked up (longer ones are
// unknown).
const maxCommandName = 32

// lookup finds a command by name, case-insensitively, without allocating:
// the name is lowered into a stack buffer and the map index with
// string(bytes) does not copy.
func lookup(name []byte) *spec {
	if len(name) > maxCommandName {
		return nil
	}
	var buf [maxCommandName]byte
	for i, ch := range name {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return commands[string(buf[:len(name)])]
}

func (c *conn) readOpts() service.ReadOptions {
	if c.stale {
		return service.ReadOptions{Consistency: service.Stale, MinRevision: c.lastRev}
	}
	if c.local {
		// After the read segment's barrier (runRead).
		return service.ReadOptions{Consistency: service.Stale}
	}
	return service.ReadOptions{}
}

func (c *conn) wrote(rev int64) {
	if rev > c.lastRev {
		c.lastRev = rev
	}
}

func (c *conn) replyErr(err error) { c.w.Error(errorReply(err)) }

func (c *conn) ok() { c.w.SimpleString("OK") }

// bulkOrNull writes kv's value, or null for a missing key.
func (c *conn) bulkOrNull(kv *command.KeyValue) {
	if kv == nil {
		c.w.Null()
		return
	}
	c.w.Bulk(kv.Value)
}

// execPlan runs a data command outside MULTI and writes its reply.
func (c *conn) execPlan(p plan) {
	if p.err != "" {
		c.w.Error(p.err)
		return
	}
	res, err := c.runOps(p.ops)
	if err != nil {
		c.replyErr(err)
		return
	}
	p.reply(c, res)
}

// runOps executes the ops of one command with the cheapest service call
// that keeps it atomic: reads are served locally after the read barrier
// (point reads of several keys from one snapshot), one read-modify-write is
// a Mutate, one delete a Delete, several writes one Txn (one revision).
func (c *conn) runOps(ops []command.TxnOp) ([]command.TxnOpResult, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	if allReads(ops) {
		return c.readOps(ops)
	}
	svc := c.srv.svc
	if len(ops) == 1 {
		switch op := &ops[0]; {
		case op.Mutate != nil:
			r, err := svc.Mutate(c.ctx, op.Mutate)
			if r != nil && r.Mutate != nil {
				// A data-dependent failure (not an integer ...) comes back
				// with its result; the reply reports it.
				c.wrote(r.Revision)
				return []command.TxnOpResult{{Mutate: r.Mutate}}, nil
			}
			if err == nil {
				err = errors.New("mutate returned no result")
			}
			return nil, err
		case op.Delete != nil:
			r, err := svc.Delete(c.ctx, op.Delete)
			if err != nil {
				return nil, err
			}
			c.wrote(r.Revision)
			return []command.TxnOpResult{{Delete: r.Delete}}, nil
		}
	}
	r, err := svc.Txn(c.ctx, &command.TxnRequest{Success: ops})
	if err != nil {
		return nil, err
	}
	c.wrote(r.Revision)
	return r.Txn.Results, nil
}

func allReads(ops []command.TxnOp) bool {
	for i := range ops {
		if ops[i].Range == nil {
			return false
		}
	}
	return true
}

// readOps serves read-only ops outside a txn.
func (c *conn) readOps(ops []command.TxnOp) ([]command.TxnOpResult, error) {
	svc, o := c.srv.svc, c.readOpts()
	res := make([]command.TxnOpResult, len(ops))
	var keys [][]byte
	var idx []int
	for i := range ops {
		r := ops[i].Range
		if len(r.End) == 0 && r.Revision == 0 {
			keys = append(keys, r.Key)
			idx = append(idx, i)
			continue
		}
		rr, _, err := svc.Range(c.ctx, r, o)
		if err != nil {
			return nil, err
		}
		res[i].Range = rr
	}
	var kvs []*command.KeyValue
	switch len(keys) {
	case 0:
	case 1:
		kv, _, err := svc.Get(c.ctx, keys[0], o)
		if err != nil {
			return nil, err
		}
		kvs = []*command.KeyValue{kv}
	default:
		var err error
		if kvs, _, err = svc.GetMany(c.ctx, keys, o); err != nil {
			return nil, err
		}
	}
	for j, kv := range kvs {
		i := idx[j]
		rr := &command.RangeResult{}
		if kv != nil {
			rr.Count = 1
			if !ops[i].Range.CountOnly {
				rr.KVs = []*command.KeyValue{kv}
			}
		}
		res[i].Range = rr
	}
	return res, nil
}

func cloneArgs(args [][]byte) [][]byte {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(args))
	for i, a := range args {
		start := len(buf)
		buf = append(buf, a...)
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out
}
