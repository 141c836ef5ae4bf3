package statemachine

import (
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/storage"
)

// Lazy expiry.
//
// A key whose expiry has passed stays in the store until the leader's
// ExpireReap for it applies (every ~50 ms). Redis treats such a key as
// absent as soon as its time has passed, including for the commands that
// read before they write (INCR, SET NX, APPEND ...). The state machine
// cannot read a clock, so a request carries its proposer's
// (command.Request.Now), and with Now > 0:
//
//   - Before the request applies, expireDue expires every key the request
//     may write whose expiry is at or before Now, through expireKey, as the
//     reaper would: the lease and expiry indexes, the change index, watch
//     events ("expired") and the latest cache stay coherent. The expiries
//     take a revision of their own, before the request's: history and the
//     change index keep one entry per key and revision, so an expiry and a
//     write at the same revision would merge into one and the "expired"
//     event would be lost. Watchers therefore see "expired" at N and the
//     write at N+1, exactly as if the reaper had run just before; undo
//     skips the expiry-only revision as it skips the reaper's. Both
//     branches of a txn are examined (the branch taken is not known before
//     the compares), so a key only the other branch names may be expired
//     too: it was due anyway.
//   - Reads inside the request (txn compares, txn range ops at the latest
//     revision) see such a key as absent (getLive, collector.now) without
//     deleting it: a read-only txn writes nothing and takes no revision.
//
// Now = 0 (entries from before the field existed, tests) keeps the old
// behaviour, so old logs replay identically. The reaper's later ExpireReap
// for a key expired here is a no-op: it deletes only a key whose expiry is
// still the one it names. Lease revokes, lock ops and undo do not look at
// Now.

// due reports whether an expiry exp (Unix ms, 0 = none) has passed at the
// current request's clock.
func (a *applier) due(exp int64) bool { return a.now > 0 && exp > 0 && exp <= a.now }

// getLive is getLatest for reads with the request's view of time: a key
// whose expiry has passed at the request's clock reads as absent.
func (a *applier) getLive(lk []byte) (bool, error) {
	found, err := a.getLatest(lk)
	if found && a.due(a.got.expire) {
		a.got = record{}
		return false, nil
	}
	return found, err
}

// recordExpiry returns the expiry of an encoded record without decoding
// its value (0 for a plain record or a tombstone).
func recordExpiry(b []byte) (int64, error) {
	if len(b) == 0 || b[0] != recordLiveExt {
		return 0, nil
	}
	var r record
	if err := decodeRecord(b, &r); err != nil {
		return 0, err
	}
	return r.expire, nil
}

// expireDue expires, at revision a.rev+1, every key req may write whose
// expiry has passed at req.Now (see above), and then counts that revision.
func (a *applier) expireDue(req *command.Request) error {
	if req.Now <= 0 {
		return nil
	}
	x := dueExpirer{a: a, rev: a.rev + 1}
	switch {
	case req.Put != nil:
		x.key(req.Put.Key)
	case req.Delete != nil:
		x.del(req.Delete)
	case req.Txn != nil:
		x.ops(req.Txn.Success)
		x.ops(req.Txn.Failure)
	case req.Mutate != nil:
		x.mutate(req.Mutate)
	case req.Doc != nil:
		x.key(req.Doc.Key)
	case req.Expire != nil:
		x.expire(req.Expire)
	case req.Fence != nil:
		x.ops(req.Fence.Ops)
	}
	if x.err != nil {
		return x.err
	}
	if x.n > 0 {
		a.rev = x.rev
	}
	return nil
}

// dueExpirer walks the keys of one request; the first error sticks.
type dueExpirer struct {
	a   *applier
	rev int64
	n   int // keys expired
	err error
}

func (x *dueExpirer) ops(ops []command.TxnOp) {
	for i := range ops {
		switch op := &ops[i]; {
		case op.Put != nil:
			x.key(op.Put.Key)
		case op.Delete != nil:
			x.del(op.Delete)
		case op.Mutate != nil:
			x.mutate(op.Mutate)
		case op.Doc != nil:
			x.key(op.Doc.Key)
		case op.Expire != nil:
			x.expire(op.Expire)
		}
	}
}

func (x *dueExpirer) mutate(m *command.MutateRequest) {
	x.key(m.Key)
	if m.Op == command.MutateRename {
		x.key(m.Dest)
	}
}

// expire covers ExpireSet and ExpirePersist; a reap does its own check.
func (x *dueExpirer) expire(e *command.ExpireRequest) {
	if e.Op != command.ExpireReap {
		x.key(e.Key)
	}
}

func (x *dueExpirer) del(d *command.DeleteRequest) {
	if len(d.End) == 0 {
		x.key(d.Key)
		return
	}
	if x.err != nil || len(d.Key) == 0 {
		return
	}
	keys, err := x.a.dueIn(d.Key, d.End)
	if err != nil {
		x.err = err
		return
	}
	for _, k := range keys {
		x.expireKey(k)
	}
}

// key expires k if it exists and is due.
func (x *dueExpirer) key(k []byte) {
	if x.err != nil || len(k) == 0 {
		return
	}
	a := x.a
	a.keyBuf = storage.AppendLatestKey(a.keyBuf[:0], a.sm.group, k)
	found, err := a.lookupLatest(a.keyBuf, a.expiryFn)
	if err != nil {
		x.err = err
		return
	}
	if found && a.due(a.gotExp) {
		x.expireKey(k)
	}
}

func (x *dueExpirer) expireKey(k []byte) {
	if x.err = x.a.expireKey(k, x.rev); x.err == nil {
		x.n++
	}
}

// dueIn returns the keys in [key, end) whose expiry has passed at the
// request's clock, scanning the span's latest records through the batch.
func (a *applier) dueIn(key, end []byte) ([][]byte, error) {
	lower, upper, ok := a.sm.latestBounds(key, end)
	if !ok {
		return nil, nil
	}
	var keys [][]byte
	err := scanLatest(a.batch, lower, upper, func(hk, v []byte) error {
		exp, err := recordExpiry(v)
		if err != nil || !a.due(exp) {
			return err
		}
		uk, _, err := storage.DecodeHistoryKey(hk)
		if err == nil {
			keys = append(keys, uk)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("statemachine: scan for due keys: %w", err)
	}
	return keys, nil
}
