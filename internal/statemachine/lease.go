package statemachine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/watch"
)

// Leases, per-key expiry and locks.
//
// Records in the lease namespace (storage.AppendLeaseKey), by kind:
//
//	'l' id:8                      -> ttl:varint (ms) [renewals:varint]  a lease
//	'k' id:8 key                  -> ""                   a key attached to a lease
//	'e' at:8 key                  -> ""                   a key expiring at Unix ms at
//	'q' len:uvarint name token:8  -> lease:varint         a waiter of lock name (FIFO by token)
//	'w' id:8 token:8              -> name                 the lock waiters of a lease
//	'n'                           -> next lease id:8      for grants that let the store choose
//
// Integers are big endian so the records sort numerically (IDs, tokens and
// expiry times are positive). The 'k' and 'e' indexes are maintained by
// reindex, which the applier's put and deleteKey call for every write, so
// they always describe the latest records. Nothing here reads the clock:
// lease deadlines are kept by the leader (internal/lease), expiry times
// come in the commands.
const (
	leaseKindLease  byte = 'l'
	leaseKindKey    byte = 'k'
	leaseKindExpiry byte = 'e'
	leaseKindQueue  byte = 'q'
	leaseKindWaiter byte = 'w'
	leaseKindNextID byte = 'n'
)

// leaseKey builds a lease-namespace key of kind followed by the 8-byte
// big-endian n and then suffix.
func (sm *StateMachine) leaseKey(dst []byte, kind byte, n int64, suffix []byte) []byte {
	dst = storage.AppendLeaseKey(dst, sm.group, kind)
	dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	return append(dst, suffix...)
}

// lockPrefix is the prefix of the waiters of lock name.
func (sm *StateMachine) lockPrefix(dst []byte, name []byte) []byte {
	dst = storage.AppendLeaseKey(dst, sm.group, leaseKindQueue)
	dst = binary.AppendUvarint(dst, uint64(len(name)))
	return append(dst, name...)
}

// prefixEnd returns the first key after every key starting with p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// reindex updates the lease and expiry indexes of key k whose latest
// record changes from (oldLease, oldExp) to (newLease, newExp); zero means
// none (a deleted key has neither).
func (a *applier) reindex(k []byte, oldLease, oldExp, newLease, newExp int64) {
	sm := a.sm
	if oldLease != newLease {
		if oldLease != 0 {
			a.idxBuf = sm.leaseKey(a.idxBuf[:0], leaseKindKey, oldLease, k)
			a.batch.Delete(a.idxBuf)
		}
		if newLease != 0 {
			a.idxBuf = sm.leaseKey(a.idxBuf[:0], leaseKindKey, newLease, k)
			a.batch.Set(a.idxBuf, nil)
		}
	}
	if oldExp != newExp {
		if oldExp != 0 {
			a.idxBuf = sm.leaseKey(a.idxBuf[:0], leaseKindExpiry, oldExp, k)
			a.batch.Delete(a.idxBuf)
		}
		if newExp != 0 {
			a.idxBuf = sm.leaseKey(a.idxBuf[:0], leaseKindExpiry, newExp, k)
			a.batch.Set(a.idxBuf, nil)
		}
	}
}

// expireKey deletes k because its lease or its own expiry ran out. Every
// expiry deletion goes through here (watch marks them as expiries).
func (a *applier) expireKey(k []byte, rev int64) error {
	return a.deleteKey(k, rev, watch.Expire)
}

// leaseTTL reads lease id through the batch.
func (a *applier) leaseTTL(id int64) (ttl int64, found bool, err error) {
	rec, found, err := a.lease(id)
	return rec.ttl, found, err
}

// leaseRecord is a lease as stored: its TTL in milliseconds and how many
// keep-alives it has had (records written before renewals were counted
// have none).
type leaseRecord struct{ ttl, renewals int64 }

func (r leaseRecord) append(dst []byte) []byte {
	dst = binary.AppendVarint(dst, r.ttl)
	if r.renewals != 0 {
		dst = binary.AppendVarint(dst, r.renewals)
	}
	return dst
}

func decodeLeaseRecord(id int64, b []byte) (leaseRecord, error) {
	var r leaseRecord
	var n int
	r.ttl, n = binary.Varint(b)
	if n <= 0 {
		return r, fmt.Errorf("statemachine: lease %d: %w", id, ErrCorrupt)
	}
	if b = b[n:]; len(b) > 0 {
		if r.renewals, n = binary.Varint(b); n != len(b) {
			return r, fmt.Errorf("statemachine: lease %d renewals: %w", id, ErrCorrupt)
		}
	}
	return r, nil
}

// lease reads lease id through the batch.
func (a *applier) lease(id int64) (rec leaseRecord, found bool, err error) {
	if id <= 0 {
		return rec, false, nil
	}
	a.idxBuf = a.sm.leaseKey(a.idxBuf[:0], leaseKindLease, id, nil)
	err = a.batch.GetFunc(a.idxBuf, func(b []byte) error {
		rec, err = decodeLeaseRecord(id, b)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	return rec, true, nil
}

func (a *applier) applyLeaseGrant(res *command.Result, g *command.LeaseGrantRequest) error {
	if g.TTL <= 0 || g.ID < 0 {
		res.Err = command.ErrCodeInvalid
		return nil
	}
	id := g.ID
	if id == 0 {
		nextKey := storage.AppendLeaseKey(nil, a.sm.group, leaseKindNextID)
		next, err := readInt64(a.batch, nextKey)
		if err != nil {
			return err
		}
		for {
			next++
			_, found, err := a.leaseTTL(next)
			if err != nil {
				return err
			}
			if !found {
				break
			}
		}
		putInt64(a.batch, nextKey, next)
		id = next
	} else if _, found, err := a.leaseTTL(id); err != nil {
		return err
	} else if found {
		res.Err = command.ErrCodeLeaseExists
		return nil
	}
	a.idxBuf = a.sm.leaseKey(a.idxBuf[:0], leaseKindLease, id, nil)
	a.batch.Set(a.idxBuf, leaseRecord{ttl: g.TTL}.append(nil))
	res.Lease = &command.LeaseResult{ID: id, TTL: g.TTL}
	return nil
}

// applyLeaseKeepAlive counts a renewal of the lease, so that an expiry
// revoke computed from an older renewal loses (applyLeaseRevoke).
func (a *applier) applyLeaseKeepAlive(res *command.Result, k *command.LeaseKeepAliveRequest) error {
	rec, found, err := a.lease(k.ID)
	if err != nil {
		return err
	}
	if !found {
		res.Err = command.ErrCodeLeaseNotFound
		return nil
	}
	rec.renewals++
	a.idxBuf = a.sm.leaseKey(a.idxBuf[:0], leaseKindLease, k.ID, nil)
	a.batch.Set(a.idxBuf, rec.append(nil))
	res.Lease = &command.LeaseResult{ID: k.ID, TTL: rec.ttl, Renewals: rec.renewals}
	return nil
}

// applyLeaseRevoke deletes the lease, its keys (one revision) and its lock
// waiters, promoting the next waiter of each lock it held.
func (a *applier) applyLeaseRevoke(res *command.Result, r *command.LeaseRevokeRequest) error {
	rec, found, err := a.lease(r.ID)
	if err != nil {
		return err
	}
	if !found {
		res.Err = command.ErrCodeLeaseNotFound
		return nil
	}
	if r.CheckRenewals && rec.renewals != r.Renewals {
		res.Err = command.ErrCodeLeaseRenewed
		return nil
	}
	lr := &command.LeaseResult{ID: r.ID}
	keys, err := a.collect(a.sm.leaseKey(nil, leaseKindKey, r.ID, nil), false)
	if err != nil {
		return err
	}
	rev := a.rev + 1
	for _, k := range keys {
		if r.Expired {
			err = a.expireKey(k.key, rev)
		} else {
			err = a.deleteKey(k.key, rev, watch.Delete)
		}
		if err != nil {
			return err
		}
	}
	if len(keys) > 0 {
		a.rev = rev
		lr.Deleted = int64(len(keys))
	}
	waiters, err := a.collect(a.sm.leaseKey(nil, leaseKindWaiter, r.ID, nil), true)
	if err != nil {
		return err
	}
	for _, w := range waiters {
		if len(w.key) != 8 {
			return fmt.Errorf("statemachine: lease %d waiter record: %w", r.ID, ErrCorrupt)
		}
		token := int64(binary.BigEndian.Uint64(w.key))
		g, err := a.removeWaiter(w.value, token)
		if err != nil {
			return err
		}
		lr.Promoted = append(lr.Promoted, g...)
		a.idxBuf = a.sm.leaseKey(a.idxBuf[:0], leaseKindWaiter, r.ID, w.key)
		a.batch.Delete(a.idxBuf)
	}
	a.idxBuf = a.sm.leaseKey(a.idxBuf[:0], leaseKindLease, r.ID, nil)
	a.batch.Delete(a.idxBuf)
	res.Lease = lr
	return nil
}

type collected struct{ key, value []byte }

// collect returns the suffixes after prefix (and the values, if asked) of
// every record under prefix, read through the batch. They are collected
// before the caller writes: a batch iterator does not see later writes.
func (a *applier) collect(prefix []byte, values bool) ([]collected, error) {
	var out []collected
	it := a.batch.NewIter(prefix, prefixEnd(prefix))
	for valid := it.First(); valid; valid = it.Next() {
		c := collected{key: bytes.Clone(it.Key()[len(prefix):])}
		if values {
			c.value = bytes.Clone(it.Value())
		}
		out = append(out, c)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("statemachine: scan lease records: %w", err)
	}
	return out, nil
}

// Per-key expiry.

func validExpire(e *command.ExpireRequest) bool {
	if len(e.Key) == 0 || e.Op == 0 || e.Op > command.ExpireReap || e.Cond > command.ExpireIfWritten {
		return false
	}
	if e.Op == command.ExpireSet {
		return e.At > 0
	}
	return e.Op != command.ExpireReap || e.At > 0
}

func (a *applier) applyExpire(res *command.Result, e *command.ExpireRequest) error {
	if !validExpire(e) {
		res.Err = command.ErrCodeInvalid
		return nil
	}
	er, wrote, err := a.expire(e, a.rev+1)
	if err != nil {
		return err
	}
	if wrote {
		a.rev++
	}
	res.Expire = er
	return nil
}

// expire applies e at revision rev and reports whether it wrote.
func (a *applier) expire(e *command.ExpireRequest, rev int64) (*command.ExpireResult, bool, error) {
	a.keyBuf = storage.AppendLatestKey(a.keyBuf[:0], a.sm.group, e.Key)
	found, err := a.getLatest(a.keyBuf)
	if err != nil || !found {
		return &command.ExpireResult{}, false, err
	}
	prev := a.got.expire
	res := &command.ExpireResult{Existed: true, Prev: prev}
	switch e.Op {
	case command.ExpireSet:
		var ok bool
		switch e.Cond {
		case command.ExpireAlways:
			ok = true
		case command.ExpireNX:
			ok = prev == 0
		case command.ExpireXX:
			ok = prev != 0
		case command.ExpireGT:
			ok = prev != 0 && e.At > prev
		case command.ExpireLT:
			ok = prev == 0 || e.At < prev
		case command.ExpireIfWritten:
			ok = a.got.mod == rev
		}
		if !ok {
			return res, false, nil
		}
		res.Done = true
		if e.At <= e.Now {
			res.Deleted = true
			return res, true, a.deleteKey(e.Key, rev, watch.Delete) // as Redis: "del"
		}
		return res, true, a.rewriteExpiry(e.Key, e.At, rev)
	case command.ExpirePersist:
		if prev == 0 {
			return res, false, nil
		}
		res.Done = true
		return res, true, a.rewriteExpiry(e.Key, 0, rev)
	default: // ExpireReap
		if prev != e.At {
			return res, false, nil
		}
		res.Done, res.Deleted = true, true
		return res, true, a.expireKey(e.Key, rev)
	}
}

// rewriteExpiry writes the record in a.got (the latest of k) with expiry
// exp at rev: a new version, or the same version amended when it was
// written at rev (by an earlier op of the same txn).
func (a *applier) rewriteExpiry(k []byte, exp, rev int64) error {
	rec := a.got
	oldExp := rec.expire
	if rec.mod != rev {
		rec.mod = rev
		rec.version++
	}
	rec.expire = exp
	a.keyBuf = storage.AppendLatestKey(a.keyBuf[:0], a.sm.group, k)
	a.valBuf = appendRecord(a.valBuf[:0], &rec)
	a.setLatest(a.keyBuf, a.valBuf)
	a.histBuf = storage.AppendHistoryKey(a.histBuf[:0], a.sm.group, k, uint64(rev))
	a.batch.Set(a.histBuf, a.valBuf)
	a.reindex(k, rec.lease, oldExp, rec.lease, exp)
	// A new version (same value, new expiry): watchers see a put, keyspace
	// notifications an "expire" or "persist" event, as Redis sends.
	a.recordChange(watch.Put, k, rev)
	if a.chg.collect {
		op := a.chg.op
		a.chg.op = "expire"
		if exp == 0 {
			a.chg.op = "persist"
		}
		a.chg.add(watch.Put, k, rec.value, rec.vtype, rec.value, rec.vtype, true, rev)
		a.chg.op = op
	}
	return nil
}

// Locks.

// lockHead returns the holder of lock name (the waiter with the lowest
// token) as r sees it.
func (sm *StateMachine) lockHead(r storage.Reader, name []byte) (token, lease int64, ok bool, err error) {
	prefix := sm.lockPrefix(nil, name)
	it := r.NewIter(prefix, prefixEnd(prefix))
	if it.First() {
		k := it.Key()[len(prefix):]
		v, n := binary.Varint(it.Value())
		if len(k) != 8 || n <= 0 {
			it.Close()
			return 0, 0, false, fmt.Errorf("statemachine: lock %q queue record: %w", name, ErrCorrupt)
		}
		token, lease, ok = int64(binary.BigEndian.Uint64(k)), v, true
	}
	if err := it.Close(); err != nil {
		return 0, 0, false, fmt.Errorf("statemachine: lock %q: %w", name, err)
	}
	return token, lease, ok, nil
}

func validLock(l *command.LockRequest) bool {
	if len(l.Name) == 0 || l.Op == 0 || l.Op > command.LockRelease {
		return false
	}
	if l.Op == command.LockAcquire {
		return l.Lease > 0
	}
	return l.Token > 0
}

func (a *applier) applyLock(res *command.Result, l *command.LockRequest) error {
	if !validLock(l) {
		res.Err = command.ErrCodeInvalid
		return nil
	}
	if l.Op == command.LockRelease {
		g, removed, err := a.releaseWaiter(l.Name, l.Token)
		if err != nil {
			return err
		}
		res.Lock = &command.LockResult{Token: l.Token, Held: removed, Promoted: g}
		return nil
	}
	if _, found, err := a.leaseTTL(l.Lease); err != nil {
		return err
	} else if !found {
		res.Err = command.ErrCodeLeaseNotFound
		return nil
	}
	// The same lease acquiring again (a retried request) gets its waiter.
	waiters, err := a.collect(a.sm.leaseKey(nil, leaseKindWaiter, l.Lease, nil), true)
	if err != nil {
		return err
	}
	token := int64(0)
	for _, w := range waiters {
		if bytes.Equal(w.value, l.Name) && len(w.key) == 8 {
			token = int64(binary.BigEndian.Uint64(w.key))
			break
		}
	}
	if token == 0 {
		a.rev++
		token = a.rev
		a.idxBuf = binary.BigEndian.AppendUint64(a.sm.lockPrefix(a.idxBuf[:0], l.Name), uint64(token))
		a.batch.Set(a.idxBuf, binary.AppendVarint(nil, l.Lease))
		a.idxBuf = a.sm.leaseKey(a.idxBuf[:0], leaseKindWaiter, l.Lease, binary.BigEndian.AppendUint64(nil, uint64(token)))
		a.batch.Set(a.idxBuf, l.Name)
	}
	head, _, _, err := a.sm.lockHead(a.batch, l.Name)
	if err != nil {
		return err
	}
	res.Lock = &command.LockResult{Token: token, Held: head == token}
	return nil
}

// releaseWaiter removes waiter token of lock name, if present, and returns
// the promotion it causes (the next waiter, when the holder left).
func (a *applier) releaseWaiter(name []byte, token int64) ([]command.LockGrant, bool, error) {
	a.idxBuf = binary.BigEndian.AppendUint64(a.sm.lockPrefix(a.idxBuf[:0], name), uint64(token))
	var lease int64
	err := a.batch.GetFunc(a.idxBuf, func(b []byte) error {
		v, n := binary.Varint(b)
		if n <= 0 {
			return fmt.Errorf("statemachine: lock %q waiter: %w", name, ErrCorrupt)
		}
		lease = v
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	g, err := a.removeWaiter(name, token)
	if err != nil {
		return nil, false, err
	}
	a.idxBuf = a.sm.leaseKey(a.idxBuf[:0], leaseKindWaiter, lease, binary.BigEndian.AppendUint64(nil, uint64(token)))
	a.batch.Delete(a.idxBuf)
	return g, true, nil
}

// removeWaiter deletes the queue record of waiter token of lock name (not
// its lease's waiter index) and returns the promotion it causes.
func (a *applier) removeWaiter(name []byte, token int64) ([]command.LockGrant, error) {
	head, _, _, err := a.sm.lockHead(a.batch, name)
	if err != nil {
		return nil, err
	}
	a.idxBuf = binary.BigEndian.AppendUint64(a.sm.lockPrefix(a.idxBuf[:0], name), uint64(token))
	a.batch.Delete(a.idxBuf)
	if head != token {
		return nil, nil
	}
	next, lease, ok, err := a.sm.lockHead(a.batch, name)
	if err != nil || !ok {
		return nil, err
	}
	return []command.LockGrant{{Name: bytes.Clone(name), Token: next, Lease: lease}}, nil
}

// applyFence applies f's ops as a txn if f.Token is the token of the
// lock's current holder.
func (a *applier) applyFence(res *command.Result, f *command.FenceRequest) error {
	t := &command.TxnRequest{Success: f.Ops}
	if len(f.Name) == 0 || f.Token <= 0 {
		res.Err = command.ErrCodeInvalid
		return nil
	}
	if code := validateTxn(t); code != "" {
		res.Err = code
		return nil
	}
	head, _, ok, err := a.sm.lockHead(a.batch, f.Name)
	if err != nil {
		return err
	}
	if !ok || head != f.Token {
		res.Err = command.ErrCodeFenced
		return nil
	}
	return a.applyTxn(res, t)
}

// checkLeases reports whether every lease the puts of ops name exists.
func (a *applier) checkLeases(ops []command.TxnOp) (bool, error) {
	for i := range ops {
		if p := ops[i].Put; p != nil && p.Lease != 0 {
			_, found, err := a.leaseTTL(p.Lease)
			if err != nil || !found {
				return false, err
			}
		}
	}
	return true, nil
}
