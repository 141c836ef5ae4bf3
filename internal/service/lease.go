package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/statemachine"
)

// Leases, per-key expiry and locks. See docs/LEASES.md for the clock
// model: the state machine never reads the clock; the leader's lessor
// (lessor.go) decides expiry and proposes it.

// MinLeaseTTL and MaxLeaseTTL bound a lease's TTL.
const (
	MinLeaseTTL = 100 * time.Millisecond
	MaxLeaseTTL = 30 * 24 * time.Hour
)

// LeaseStatus describes a lease.
type LeaseStatus struct {
	ID  int64         `json:"id"`
	TTL time.Duration `json:"-"`
	// Remaining is this node's estimate of the time left before expiry
	// (the leader's is authoritative; others track apply times).
	Remaining time.Duration `json:"-"`
	Keys      [][]byte      `json:"-"`
}

func nowMillis() int64 { return time.Now().UnixMilli() }

// hideExpired returns nil for a key whose expiry has passed on this
// node's clock but whose deletion has not been applied yet.
func hideExpired(kv *command.KeyValue, now int64) *command.KeyValue {
	if kv != nil && kv.ExpireAt != 0 && kv.ExpireAt <= now {
		return nil
	}
	return kv
}

func validateTTL(ttl time.Duration) error {
	if ttl < MinLeaseTTL || ttl > MaxLeaseTTL {
		return fmt.Errorf("%w: lease TTL %v outside [%v, %v]", ErrInvalid, ttl, MinLeaseTTL, MaxLeaseTTL)
	}
	return nil
}

// LeaseGrant creates a lease with the given TTL. id 0 lets the store choose
// the ID.
func (s *Service) LeaseGrant(ctx context.Context, id int64, ttl time.Duration) (LeaseStatus, error) {
	if err := validateTTL(ttl); err != nil {
		return LeaseStatus{}, err
	}
	if id < 0 {
		return LeaseStatus{}, fmt.Errorf("%w: negative lease ID", ErrInvalid)
	}
	r, err := s.propose(ctx, &command.Request{LeaseGrant: &command.LeaseGrantRequest{ID: id, TTL: ttl.Milliseconds()}})
	if err != nil {
		return LeaseStatus{}, err
	}
	return LeaseStatus{ID: r.Lease.ID, TTL: ttl, Remaining: ttl}, nil
}

// LeaseKeepAlive renews a lease for its full TTL. It is a raft proposal,
// so it works on any node: every node's lessor restarts the lease's
// countdown when it applies it.
func (s *Service) LeaseKeepAlive(ctx context.Context, id int64) (time.Duration, error) {
	r, err := s.propose(ctx, &command.Request{LeaseKeepAlive: &command.LeaseKeepAliveRequest{ID: id}})
	if err != nil {
		return 0, err
	}
	return time.Duration(r.Lease.TTL) * time.Millisecond, nil
}

// LeaseRevoke deletes a lease, its keys and its lock waiters.
func (s *Service) LeaseRevoke(ctx context.Context, id int64) (*command.Result, error) {
	return s.propose(ctx, &command.Request{LeaseRevoke: &command.LeaseRevokeRequest{ID: id}})
}

// LeaseTimeToLive describes a lease (linearizable), with its keys if asked.
func (s *Service) LeaseTimeToLive(ctx context.Context, id int64, keys bool) (LeaseStatus, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.readBarrier(ctx, ReadOptions{}); err != nil {
		return LeaseStatus{}, err
	}
	info, attached, found, err := s.sm.Lease(id, keys)
	if err != nil {
		return LeaseStatus{}, err
	}
	if !found {
		return LeaseStatus{}, fmt.Errorf("%w: %d", ErrLeaseNotFound, id)
	}
	st := LeaseStatus{ID: id, TTL: time.Duration(info.TTL) * time.Millisecond, Keys: attached}
	st.Remaining = s.lessor.remaining(id, st.TTL)
	return st, nil
}

// Leases lists every lease (linearizable).
func (s *Service) Leases(ctx context.Context) ([]statemachine.LeaseInfo, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.readBarrier(ctx, ReadOptions{}); err != nil {
		return nil, err
	}
	return s.sm.Leases()
}

func validateExpire(e *command.ExpireRequest) error {
	if err := validateKey(e.Key); err != nil {
		return err
	}
	if e.Op == 0 || e.Op > command.ExpireReap || e.Cond > command.ExpireIfWritten ||
		(e.Op != command.ExpirePersist && e.At <= 0) {
		return fmt.Errorf("%w: bad expire op", ErrInvalid)
	}
	return nil
}

// Expire sets, clears or reaps a key's expiry (see command.ExpireRequest).
// For ExpireSet, a zero Now is filled with this node's clock.
func (s *Service) Expire(ctx context.Context, e *command.ExpireRequest) (*command.ExpireResult, error) {
	if err := validateExpire(e); err != nil {
		return nil, err
	}
	if e.Now == 0 {
		e.Now = nowMillis()
	}
	r, err := s.propose(ctx, &command.Request{Expire: e})
	if err != nil {
		return nil, err
	}
	return r.Expire, nil
}

// ExpiryStats returns the number of keys with their own expiry (TTL) that
// has not passed on this node's clock, and their average time to live in
// ms, from this node's state (a stale read: INFO keyspace).
func (s *Service) ExpiryStats() (count, avgTTL int64, err error) {
	return s.sm.ExpiryStats(nowMillis())
}

// Lock queues lease as a waiter of lock name and returns its fencing token
// once it holds the lock. With wait 0 it gives up at once (ErrLockBusy) if
// another session holds the lock; else it waits, in FIFO order, up to wait
// (bounded by ctx; then ErrLockBusy). A waiter that gives up is
// removed from the queue, unless keepQueued: then it keeps its place, the
// token is returned with ErrLockBusy, and calling Lock again with the same
// lease resumes the wait (clients that wait longer than one request).
func (s *Service) Lock(ctx context.Context, name []byte, lease int64, wait time.Duration, keepQueued bool) (int64, error) {
	if len(name) == 0 || len(name) > MaxKeySize {
		return 0, fmt.Errorf("%w: lock name of %d bytes", ErrInvalid, len(name))
	}
	r, err := s.propose(ctx, &command.Request{Lock: &command.LockRequest{Op: command.LockAcquire, Name: name, Lease: lease}})
	if err != nil {
		return 0, err
	}
	token := r.Lock.Token
	if r.Lock.Held {
		return token, nil
	}
	if wait > 0 {
		ch := s.locks.register(name, token)
		defer s.locks.cancel(name, token)
		if head, _, ok, err := s.sm.LockHolder(name); err == nil && ok && head == token {
			return token, nil
		}
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-ch:
			return token, nil
		case <-timer.C:
		case <-ctx.Done():
		case <-s.stopc:
		}
	}
	if keepQueued {
		return token, fmt.Errorf("%w: %q", ErrLockBusy, name)
	}
	// Give up: leave the queue (we may have become the holder meanwhile).
	rctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	if err := s.Unlock(rctx, name, token); err != nil {
		s.log.Warn("leaving a lock queue failed; the waiter goes with its lease", "lock", string(name), "err", err)
	}
	return 0, fmt.Errorf("%w: %q", ErrLockBusy, name)
}

// Unlock removes waiter token of lock name (the holder or a waiter). An
// unknown token is not an error.
func (s *Service) Unlock(ctx context.Context, name []byte, token int64) error {
	_, err := s.Release(ctx, name, token)
	return err
}

// Release is Unlock that also reports whether waiter token was there to
// remove (false for an unknown token, or one already released or gone
// with its lease).
func (s *Service) Release(ctx context.Context, name []byte, token int64) (bool, error) {
	if len(name) == 0 || token <= 0 {
		return false, fmt.Errorf("%w: unlock needs a name and a token", ErrInvalid)
	}
	r, err := s.propose(ctx, &command.Request{Lock: &command.LockRequest{Op: command.LockRelease, Name: name, Token: token}})
	if err != nil {
		return false, err
	}
	return r.Lock != nil && r.Lock.Held, nil
}

// LockHolder returns the fencing token and lease of the holder of lock
// name (linearizable); ok is false if nobody holds it.
func (s *Service) LockHolder(ctx context.Context, name []byte) (token, lease int64, ok bool, err error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.readBarrier(ctx, ReadOptions{}); err != nil {
		return 0, 0, false, err
	}
	return s.sm.LockHolder(name)
}

// LockWaiters returns the waiters of lock name in FIFO order, the holder
// first (linearizable).
func (s *Service) LockWaiters(ctx context.Context, name []byte) ([]command.LockGrant, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.readBarrier(ctx, ReadOptions{}); err != nil {
		return nil, err
	}
	return s.sm.LockWaiters(name)
}

// Fence applies ops as one txn if token is the current holder's token of
// lock name; otherwise ErrFenced and nothing is written.
func (s *Service) Fence(ctx context.Context, f *command.FenceRequest) (*command.Result, error) {
	if len(f.Name) == 0 || f.Token <= 0 {
		return nil, fmt.Errorf("%w: a fenced write needs a lock name and a token", ErrInvalid)
	}
	if err := validateTxn(&command.TxnRequest{Success: f.Ops}); err != nil {
		return nil, err
	}
	return s.propose(ctx, &command.Request{Fence: f})
}

// observeLease feeds applied lease and lock results to the lessor and the
// lock waiters (from the raft goroutine: cheap, no I/O).
func (s *Service) observeLease(r *command.Result) {
	switch {
	case r.Err != "":
	case r.Lease != nil:
		s.lessor.observe(r.Lease)
		s.locks.promote(r.Lease.Promoted)
	case r.Lock != nil:
		s.locks.promote(r.Lock.Promoted)
	}
}

func isLeaseNotFound(err error) bool { return errors.Is(err, ErrLeaseNotFound) }
