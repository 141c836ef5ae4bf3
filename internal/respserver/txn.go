package respserver

import (
	"github.com/cairndb/cairn/internal/command"
)

// MULTI/EXEC/WATCH map onto one core txn:
//
//   - MULTI starts queueing. Each queued command is checked for existence
//     and arity at once (an error there makes EXEC fail with EXECABORT, as
//     in Redis) and answered +QUEUED.
//   - WATCH records the store revision R it read at. EXEC turns the queue
//     into one TxnRequest: every WATCHed key becomes a compare "unchanged
//     since R" (command.CompareUnchangedSince: no write of the key at a
//     revision after R, so a key created and deleted again, or deleted and
//     recreated, fails it too, as in Redis), and the commands' ops, in
//     order, its success branch. Writes are Mutate ops, which apply in order and may touch one
//     key several times; reads are Range ops and see the writes before
//     them. The txn is one raft proposal and one revision.
//   - If a compare fails EXEC replies a null array and nothing is written.
//     Otherwise it replies one reply per queued command; a command that
//     fails on the data (INCR of a non-integer) fails alone, as in Redis.
//
// Commands that cannot be expressed as ops of a single txn (KEYS, SCAN,
// RANDOMKEY, MSETNX, CLIENT, INFO ...) are refused inside MULTI, which
// aborts the EXEC.

func txnCommands() []*spec {
	return []*spec{
		{name: "multi", arity: 1, flags: []string{"fast", "allow_busy"}, txnControl: true,
			summary: "Starts a transaction.", run: runMulti},
		{name: "exec", arity: 1, flags: []string{"skip_slowlog"}, txnControl: true,
			summary: "Executes the queued commands as one atomic txn.", run: runExec},
		{name: "discard", arity: 1, flags: []string{"fast"}, txnControl: true,
			summary: "Discards a transaction.", run: runDiscard},
		{name: "watch", arity: -2, flags: []string{"fast"}, firstKey: 1, lastKey: -1, txnControl: true,
			summary: "Makes EXEC fail if a key changes before it.", run: runWatch},
		{name: "unwatch", arity: 1, flags: []string{"fast"}, multiOK: true,
			summary: "Forgets the watched keys.", run: runUnwatch},
	}
}

func runMulti(c *conn, _ [][]byte) {
	if c.multi {
		c.w.Error("ERR MULTI calls can not be nested")
		return
	}
	c.multi = true
	c.ok()
}

// enqueue queues a command inside MULTI.
func (c *conn) enqueue(sp *spec, args [][]byte) {
	if sp.build == nil && !sp.multiOK {
		c.refuse("ERR " + sp.name + " is not supported inside MULTI by Cairn")
		return
	}
	c.queue = append(c.queue, queued{sp: sp, args: cloneArgs(args)})
	c.w.SimpleString("QUEUED")
}

// endMulti leaves MULTI and forgets the queue and the watched keys.
func (c *conn) endMulti() {
	c.multi, c.dirty = false, false
	clear(c.queue)
	c.queue = c.queue[:0]
	c.watches = nil
}

func runDiscard(c *conn, _ [][]byte) {
	if !c.multi {
		c.w.Error("ERR DISCARD without MULTI")
		return
	}
	c.endMulti()
	c.ok()
}

func runWatch(c *conn, args [][]byte) {
	if c.multi {
		c.w.Error("ERR WATCH inside MULTI is not allowed")
		return
	}
	keys := args[1:]
	// The values are not needed, only the revision they were read at (and
	// GetMany's key checks).
	_, rev, err := c.srv.svc.GetMany(c.ctx, keys, c.readOpts())
	if err != nil {
		c.replyErr(err)
		return
	}
	for _, k := range keys {
		c.watches = append(c.watches, watch{key: append([]byte(nil), k...), rev: rev})
	}
	c.ok()
}

func runUnwatch(c *conn, _ [][]byte) {
	c.watches = nil
	c.ok()
}

func runExec(c *conn, _ [][]byte) {
	if !c.multi {
		c.w.Error("ERR EXEC without MULTI")
		return
	}
	queue := c.queue
	watches := c.watches
	dirty := c.dirty
	defer c.endMulti()
	if dirty {
		c.w.Error(errExecAbort)
		return
	}

	t := &command.TxnRequest{}
	for _, w := range watches {
		t.Compares = append(t.Compares, command.Compare{Key: w.key, Target: command.CompareUnchangedSince, Result: command.CompareEqual, Int: w.rev})
	}
	plans := make([]plan, len(queue))
	starts := make([]int, len(queue))
	for i, q := range queue {
		if q.sp.build == nil {
			continue
		}
		plans[i] = q.sp.build(q.args)
		starts[i] = len(t.Success)
		t.Success = append(t.Success, plans[i].ops...)
	}

	var results []command.TxnOpResult
	if len(t.Success) > 0 || len(t.Compares) > 0 {
		r, err := c.srv.svc.Txn(c.ctx, t)
		if err != nil {
			c.replyErr(err)
			return
		}
		if !r.Txn.Succeeded {
			c.w.NullArray()
			return
		}
		c.wrote(r.Revision)
		results = r.Txn.Results
	}

	c.w.ArrayLen(len(queue))
	for i, q := range queue {
		p := plans[i]
		switch {
		case q.sp.build == nil:
			q.sp.run(c, q.args)
		case p.err != "":
			c.w.Error(p.err)
		default:
			p.reply(c, results[starts[i]:starts[i]+len(p.ops)])
		}
	}
}
