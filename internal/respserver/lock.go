package respserver

import (
	"context"
	"errors"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
)

// LeaseService is the part of the service the lock commands use. The
// server's service is asserted to it at run time, so front-end tests with
// a fake service without leases keep working (the commands then fail).
type LeaseService interface {
	LeaseGrant(ctx context.Context, id int64, ttl time.Duration) (service.LeaseStatus, error)
	LeaseKeepAlive(ctx context.Context, id int64) (time.Duration, error)
	LeaseRevoke(ctx context.Context, id int64) (*command.Result, error)
	Lock(ctx context.Context, name []byte, lease int64, wait time.Duration, keepQueued bool) (int64, error)
	Release(ctx context.Context, name []byte, token int64) (bool, error)
	Fence(ctx context.Context, f *command.FenceRequest) (*command.Result, error)
}

var _ LeaseService = (*service.Service)(nil)

var errNoLeases = errors.New("leases are not available on this server")

// Lock commands (docs/RESP.md):
//
//	CAIRN.LOCK name ttl-ms [WAIT ms] [LEASE id]  -> [token, lease]
//	CAIRN.UNLOCK name token                      -> 1 if the waiter was removed, 0 if unknown
//	CAIRN.KEEPALIVE lease                        -> the lease's TTL in ms
//	CAIRN.REVOKE lease                           -> OK
//	CAIRN.FENCE name token SET key value         -> OK
//	CAIRN.FENCE name token DEL key [key ...]     -> number of keys deleted
//
// CAIRN.LOCK without LEASE grants a fresh lease of ttl-ms for the
// acquisition; the lock is released by CAIRN.UNLOCK or when that lease
// expires (keep it alive with CAIRN.KEEPALIVE). WAIT 0 tries once.
func lockCommands() []*spec {
	return []*spec{
		{name: "cairn.lock", arity: -3, flags: []string{"write"}, summary: "Acquires a named lock bound to a lease; returns [token, lease].", run: runLock},
		{name: "cairn.unlock", arity: 3, flags: []string{"write"}, summary: "Releases a lock acquisition by its token.", run: runUnlock},
		{name: "cairn.keepalive", arity: 2, flags: []string{"write", "fast"}, summary: "Renews a lease; returns its TTL in ms.", run: runKeepAlive},
		{name: "cairn.revoke", arity: 2, flags: []string{"write"}, summary: "Revokes a lease, its keys and its locks.", run: runRevoke},
		{name: "cairn.fence", arity: -5, flags: []string{"write"}, summary: "Writes only if the token is the lock holder's (SET key value | DEL key ...).", run: runFence},
	}
}

func (c *conn) leases() (LeaseService, bool) {
	ls, ok := c.srv.svc.(LeaseService)
	if !ok {
		c.replyErr(errNoLeases)
	}
	return ls, ok
}

func runLock(c *conn, args [][]byte) {
	ls, ok := c.leases()
	if !ok {
		return
	}
	ttl, ok := command.ParseInteger(args[2])
	if !ok || ttl <= 0 {
		c.w.Error(errNotInteger)
		return
	}
	var wait, lease int64
	for i := 3; i < len(args); i += 2 {
		if i+1 >= len(args) {
			c.w.Error(errSyntax)
			return
		}
		n, ok := command.ParseInteger(args[i+1])
		switch {
		case !ok || n < 0:
			c.w.Error(errNotInteger)
			return
		case eqFold(args[i], "wait"):
			wait = n
		case eqFold(args[i], "lease"):
			lease = n
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	granted := false
	if lease == 0 {
		st, err := ls.LeaseGrant(c.ctx, 0, time.Duration(ttl)*time.Millisecond)
		if err != nil {
			c.replyErr(err)
			return
		}
		lease, granted = st.ID, true
	}
	token, err := ls.Lock(c.ctx, args[1], lease, time.Duration(wait)*time.Millisecond, false)
	if err != nil {
		if granted {
			_, _ = ls.LeaseRevoke(c.ctx, lease)
		}
		c.replyErr(err)
		return
	}
	c.w.ArrayLen(2)
	c.w.Int(token)
	c.w.Int(lease)
}

func runUnlock(c *conn, args [][]byte) {
	ls, ok := c.leases()
	if !ok {
		return
	}
	token, ok := command.ParseInteger(args[2])
	if !ok || token <= 0 {
		c.w.Error(errNotInteger)
		return
	}
	removed, err := ls.Release(c.ctx, args[1], token)
	if err != nil {
		c.replyErr(err)
		return
	}
	// 0 for a token that holds and waits for nothing (released already,
	// or gone with its lease), as Redis counts what a command removed.
	c.w.Int(b2i(removed))
}

func runKeepAlive(c *conn, args [][]byte) {
	ls, ok := c.leases()
	if !ok {
		return
	}
	id, ok := command.ParseInteger(args[1])
	if !ok {
		c.w.Error(errNotInteger)
		return
	}
	ttl, err := ls.LeaseKeepAlive(c.ctx, id)
	if err != nil {
		c.replyErr(err)
		return
	}
	c.w.Int(ttl.Milliseconds())
}

func runRevoke(c *conn, args [][]byte) {
	ls, ok := c.leases()
	if !ok {
		return
	}
	id, ok := command.ParseInteger(args[1])
	if !ok {
		c.w.Error(errNotInteger)
		return
	}
	if _, err := ls.LeaseRevoke(c.ctx, id); err != nil {
		c.replyErr(err)
		return
	}
	c.ok()
}

func runFence(c *conn, args [][]byte) {
	ls, ok := c.leases()
	if !ok {
		return
	}
	token, ok := command.ParseInteger(args[2])
	if !ok || token <= 0 {
		c.w.Error(errNotInteger)
		return
	}
	f := &command.FenceRequest{Name: args[1], Token: token}
	op, rest := args[3], args[4:]
	switch {
	case eqFold(op, "set") && len(rest) == 2:
		f.Ops = []command.TxnOp{{Put: &command.PutRequest{Key: rest[0], Value: rest[1]}}}
	case eqFold(op, "del"):
		for _, k := range rest {
			f.Ops = append(f.Ops, command.TxnOp{Mutate: &command.MutateRequest{Op: command.MutateDelete, Key: k}})
		}
	default:
		c.w.Error(errSyntax)
		return
	}
	r, err := ls.Fence(c.ctx, f)
	if err != nil {
		c.replyErr(err)
		return
	}
	c.wrote(r.Revision)
	if f.Ops[0].Put != nil {
		c.ok()
		return
	}
	var n int64
	for _, res := range r.Txn.Results {
		n += res.Mutate.Int
	}
	c.w.Int(n)
}
