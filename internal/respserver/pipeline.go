package respserver

import (
	"errors"
	"io"
	"slices"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
)

// Pipelining.
//
// A connection executes its commands in order, as Redis does, but it does
// not wait for one to finish before starting the next when they can
// overlap. Consecutive commands of the same class form a segment:
//
//   - Writes (SET, MSET, DEL, INCR ... outside MULTI) are proposed at once,
//     one after another, with service.ProposeAsync: they enter the raft log
//     in the order received (raft batches them into few entries and
//     fsyncs), and nobody waits for one before proposing the next. Their
//     results are awaited in order, and their replies written in order,
//     when the segment ends: before any command of another class, when
//     maxPendingWrites are in flight, or when the read buffer is empty
//     (before the flush). Each command gets its own reply: one that fails
//     (refused, no leader, timed out) does not affect the others.
//   - Reads (GET, MGET, EXISTS, STRLEN, GETRANGE, TYPE, DBSIZE) start only
//     once every write before them has been applied on this node, so they
//     see it. A linearizable connection issues one read barrier (ReadIndex)
//     for the segment, then serves each read from the local state. A
//     barrier only covers commands received before it was issued: once the
//     connection has read more bytes from the socket, the next read issues
//     a new one. A barrier that fails fails every read it covers, without
//     retrying for each. READONLY connections need no barrier.
//   - Everything else (MULTI/EXEC/WATCH, connection state, KEYS, SCAN,
//     MSETNX, unknown commands ...) runs alone, after the writes before it.

// maxPendingWrites bounds the writes of one connection in flight at once.
const maxPendingWrites = 1024

// cmdClass is how a command takes part in pipelining.
type cmdClass uint8

const (
	classAlone cmdClass = iota // runs alone, after the writes before it
	classWrite                 // proposed without waiting; answered in order
	classRead                  // served locally after a shared read barrier
)

// classify sets the class of a registered command: data commands with a
// build function are reads or writes by their Redis flags.
func (s *spec) classify() {
	switch {
	case s.build == nil:
		s.class = classAlone
	case slices.Contains(s.flags, "write"):
		s.class = classWrite
	case slices.Contains(s.flags, "readonly"):
		s.class = classRead
	}
}

// writeKind is the service call a proposed write stands for; it says how
// to turn the result into the ops' results.
type writeKind uint8

const (
	writePut writeKind = iota // SET key value: Put, replies +OK
	writeMutate
	writeDelete
	writeTxn
)

// pendingWrite is a write proposed and not yet answered: its handle, or
// the error reply it already has.
type pendingWrite struct {
	p     *service.Pending
	kind  writeKind
	reply func(c *conn, res []command.TxnOpResult)
	msg   string // error reply when p is nil
}

// countingReader counts the reads from the socket, so a read barrier can
// tell which commands were received before it was issued.
type countingReader struct {
	r io.Reader
	n uint64
}

func (cr *countingReader) Read(p []byte) (int, error) {
	cr.n++
	return cr.r.Read(p)
}

// execute runs one command of a pipeline according to its class.
func (c *conn) execute(args [][]byte) {
	// A connection in RESP2 subscribe mode takes the plain path (dispatch
	// applies the subscribe-mode rules).
	if sp := lookup(args[0]); sp != nil && !c.multi && (c.ps.sub == nil || !c.subscribed()) && sp.arityOK(len(args)) {
		switch sp.class {
		case classWrite:
			c.barrierOK = false
			c.proposeWrite(sp, args)
			if len(c.pending) >= maxPendingWrites {
				c.drain()
			}
			return
		case classRead:
			c.drain()
			c.runRead(sp, args)
			return
		}
	}
	c.drain()
	c.barrierOK = false
	c.dispatch(args)
}

// proposeWrite proposes a write without waiting for it. SET key value is
// a Put in the connection's reused request; other writes are built into
// ops and sent as runOps would: one Mutate, one Delete, or one Txn.
func (c *conn) proposeWrite(sp *spec, args [][]byte) {
	if sp.put && len(args) == 3 {
		c.put = command.PutRequest{Key: args[1], Value: args[2]}
		c.req = command.Request{Put: &c.put}
		c.propose(pendingWrite{kind: writePut})
		c.put = command.PutRequest{}
		return
	}
	p := sp.build(args)
	switch {
	case p.err != "":
		c.pending = append(c.pending, pendingWrite{msg: p.err})
		return
	case len(p.ops) == 1 && p.ops[0].Mutate != nil:
		c.req = command.Request{Mutate: p.ops[0].Mutate}
		c.propose(pendingWrite{kind: writeMutate, reply: p.reply})
	case len(p.ops) == 1 && p.ops[0].Delete != nil:
		c.req = command.Request{Delete: p.ops[0].Delete}
		c.propose(pendingWrite{kind: writeDelete, reply: p.reply})
	default:
		c.req = command.Request{Txn: &command.TxnRequest{Success: p.ops}}
		c.propose(pendingWrite{kind: writeTxn, reply: p.reply})
	}
}

// propose hands c.req to the service (which encodes it before returning,
// so the request and the arguments it points to may be reused) and queues
// w for its reply.
func (c *conn) propose(w pendingWrite) {
	p, err := c.srv.svc.ProposeAsync(c.ctx, &c.req)
	c.req = command.Request{}
	if err != nil {
		w.msg = errorReply(err)
	}
	w.p = p
	c.pending = append(c.pending, w)
}

// drain waits for the pending writes in order and writes their replies.
func (c *conn) drain() {
	for i := range c.pending {
		c.finish(&c.pending[i])
	}
	clear(c.pending) // drop the handles and reply closures
	c.pending = c.pending[:0]
}

// finish waits for one write and writes its reply, as execPlan and runSet
// do for a write run alone.
func (c *conn) finish(w *pendingWrite) {
	if w.p == nil {
		c.w.Error(w.msg)
		return
	}
	r, err := w.p.Wait()
	if w.kind == writeMutate && r != nil && r.Mutate != nil {
		// A data-dependent failure (not an integer ...) comes back with
		// its result; the reply reports it.
		err = nil
	} else if err == nil && w.kind == writeMutate {
		err = errors.New("mutate returned no result")
	}
	if err != nil {
		c.replyErr(err)
		return
	}
	c.wrote(r.Revision)
	switch w.kind {
	case writePut:
		c.ok()
	case writeMutate:
		c.one[0] = command.TxnOpResult{Mutate: r.Mutate}
		w.reply(c, c.one[:])
		c.one[0] = command.TxnOpResult{}
	case writeDelete:
		c.one[0] = command.TxnOpResult{Delete: r.Delete}
		w.reply(c, c.one[:])
		c.one[0] = command.TxnOpResult{}
	case writeTxn:
		w.reply(c, r.Txn.Results)
	}
}

// runRead serves a read after the writes before it have applied. A
// linearizable connection shares one read barrier among the reads received
// before it was issued, and then reads locally.
func (c *conn) runRead(sp *spec, args [][]byte) {
	if c.stale {
		sp.run(c, args)
		return
	}
	if !c.barrierOK || c.barrierAt != c.src.n {
		c.barrierErr = c.srv.svc.ReadBarrier(c.ctx, service.ReadOptions{})
		c.barrierAt, c.barrierOK = c.src.n, true
	}
	if c.barrierErr != nil {
		c.replyErr(c.barrierErr)
		return
	}
	c.local = true
	sp.run(c, args)
	c.local = false
}
