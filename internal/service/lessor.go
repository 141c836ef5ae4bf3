package service

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cairndb/cairn/internal/command"
)

// lessor keeps lease deadlines in memory. Every node tracks them from the
// grants and keep-alives it applies; only the leader acts on them. When a
// node becomes leader it gives every lease its full TTL plus an election
// timeout from that moment, so a lease kept alive through the old leader
// never expires early (it may live up to TTL + election timeout longer).
//
// Each deadline is computed from a renewal count (the state machine counts
// keep-alives), and the expiry revoke carries it: the state machine refuses
// the revoke if a keep-alive was applied before it. So a keep-alive that
// beats the revoke into the log always wins, and a deposed leader that
// wakes up (a pause, a partition) with stale deadlines cannot expire a
// lease its successor kept alive.
type lessor struct {
	mu        sync.Mutex // guards the maps
	deadlines map[int64]lessorDeadline
	revoking  map[int64]time.Time // revoke proposed at; retried after a while
	reaping   map[string]time.Time
}

type lessorDeadline struct {
	at       time.Time
	renewals int64 // the lease's renewal count when at was set
}

func (l *lessor) init() {
	l.deadlines = map[int64]lessorDeadline{}
	l.revoking = map[int64]time.Time{}
	l.reaping = map[string]time.Time{}
}

func (l *lessor) observe(r *command.LeaseResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.TTL > 0 { // grant or keep-alive
		l.deadlines[r.ID] = lessorDeadline{time.Now().Add(time.Duration(r.TTL) * time.Millisecond), r.Renewals}
		delete(l.revoking, r.ID)
		return
	}
	delete(l.deadlines, r.ID) // revoke
	delete(l.revoking, r.ID)
}

func (l *lessor) remaining(id int64, ttl time.Duration) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.deadlines[id]
	if !ok {
		return ttl
	}
	return max(time.Until(d.at), 0)
}

// lessorInterval is how often the leader checks deadlines by default
// (Config.LessorInterval).
const lessorInterval = 50 * time.Millisecond

// reapBatch bounds the expired keys deleted per txn.
const reapBatch = 256

// runLessor is the leader's expiry loop.
func (s *Service) runLessor() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.LessorInterval)
	defer t.Stop()
	leading := false
	for {
		select {
		case <-s.stopc:
			return
		case <-s.node.Done():
			return
		case <-t.C:
		}
		if !s.node.IsLeader() {
			leading = false
			continue
		}
		if !leading {
			if err := s.promoteLessor(); err != nil {
				s.log.Warn("lessor: rebuilding deadlines failed", "err", err)
				continue
			}
			leading = true
		}
		s.revokeExpired()
		s.reapExpired()
	}
}

// promoteLessor runs when this node becomes leader: every lease gets its
// TTL plus an election timeout from now. It first waits for its term's
// barrier so it sees every lease granted before.
func (s *Service) promoteLessor() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	if err := s.node.LinearizableBarrier(ctx); err != nil {
		return err
	}
	leases, err := s.sm.Leases()
	if err != nil {
		return err
	}
	now := time.Now()
	l := &s.lessor
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.deadlines
	l.deadlines = make(map[int64]lessorDeadline, len(leases))
	clear(l.revoking)
	for _, le := range leases {
		d := lessorDeadline{now.Add(time.Duration(le.TTL)*time.Millisecond + s.cfg.ElectionTimeout), le.Renewals}
		// A keep-alive applied since the list was read was observed
		// with a higher count: keep the count, or every revoke would lose.
		if o, ok := old[le.ID]; ok && o.renewals > d.renewals {
			d.renewals = o.renewals
		}
		l.deadlines[le.ID] = d
	}
	s.log.Info("lessor: leading", "leases", len(leases))
	return nil
}

// revokeExpired proposes the revocation of every lease past its deadline,
// conditional on the lease not having been renewed since (see lessor).
func (s *Service) revokeExpired() {
	now := time.Now()
	var expired []command.LeaseRevokeRequest
	l := &s.lessor
	l.mu.Lock()
	for id, d := range l.deadlines {
		if now.After(d.at) {
			if at, ok := l.revoking[id]; ok && now.Sub(at) < s.cfg.RequestTimeout {
				continue
			}
			l.revoking[id] = now
			expired = append(expired, command.LeaseRevokeRequest{ID: id, Expired: true, CheckRenewals: true, Renewals: d.renewals})
		}
	}
	l.mu.Unlock()
	for i := range expired {
		id := expired[i].ID
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
		_, err := s.propose(ctx, &command.Request{LeaseRevoke: &expired[i]})
		cancel()
		switch {
		case err == nil:
			s.log.Debug("lessor: lease expired", "lease", id)
		case errors.Is(err, errLeaseRenewed):
			// The keep-alive that won was observed before this answer
			// (results are delivered in log order) and set a new deadline,
			// unless this node took office in between (promoteLessor read
			// an older count): then restart the countdown from the store.
			s.log.Debug("lessor: lease renewed before its expiry applied", "lease", id)
			s.resyncLease(expired[i])
		case isLeaseNotFound(err):
			l.mu.Lock()
			delete(l.deadlines, id)
			l.mu.Unlock()
		default:
			s.log.Warn("lessor: revoking an expired lease failed", "lease", id, "err", err)
		}
	}
}

// resyncLease gives lease r.ID a full TTL from now at its stored renewal
// count if its deadline is still the one a losing revoke r was computed
// from.
func (s *Service) resyncLease(r command.LeaseRevokeRequest) {
	info, _, found, err := s.sm.Lease(r.ID, false)
	if err != nil || !found {
		return
	}
	l := &s.lessor
	l.mu.Lock()
	defer l.mu.Unlock()
	if d, ok := l.deadlines[r.ID]; ok && d.renewals == r.Renewals && info.Renewals != r.Renewals {
		l.deadlines[r.ID] = lessorDeadline{time.Now().Add(time.Duration(info.TTL) * time.Millisecond), info.Renewals}
		delete(l.revoking, r.ID)
	}
}

// reapExpired proposes the deletion of keys whose expiry has passed, in
// txns of up to reapBatch keys. Each deletion is conditional on the expiry
// being unchanged, so a key re-set meanwhile survives.
func (s *Service) reapExpired() {
	now := time.Now()
	keys, err := s.sm.ExpiringBefore(now.UnixMilli(), 4*reapBatch)
	if err != nil || len(keys) == 0 {
		return
	}
	l := &s.lessor
	var ops []command.TxnOp
	l.mu.Lock()
	for k := range l.reaping {
		if now.Sub(l.reaping[k]) > s.cfg.RequestTimeout {
			delete(l.reaping, k)
		}
	}
	for _, e := range keys {
		id := string(e.Key)
		if _, ok := l.reaping[id]; ok {
			continue
		}
		l.reaping[id] = now
		ops = append(ops, command.TxnOp{Expire: &command.ExpireRequest{Op: command.ExpireReap, Key: e.Key, At: e.At}})
	}
	l.mu.Unlock()
	for len(ops) > 0 {
		n := min(len(ops), reapBatch)
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
		_, err := s.propose(ctx, &command.Request{Txn: &command.TxnRequest{Success: ops[:n]}})
		cancel()
		if err != nil {
			s.log.Warn("lessor: reaping expired keys failed", "keys", n, "err", err)
		}
		l.mu.Lock()
		for _, op := range ops[:n] {
			delete(l.reaping, string(op.Expire.Key))
		}
		l.mu.Unlock()
		ops = ops[n:]
	}
}

// lockWaiters wakes Lock calls waiting for their token to be promoted.
type lockWaiters struct {
	mu sync.Mutex // guards m
	m  map[lockWaiterKey]chan struct{}
}

type lockWaiterKey struct {
	name  string
	token int64
}

func (w *lockWaiters) init() { w.m = map[lockWaiterKey]chan struct{}{} }

func (w *lockWaiters) register(name []byte, token int64) chan struct{} {
	ch := make(chan struct{})
	w.mu.Lock()
	w.m[lockWaiterKey{string(name), token}] = ch
	w.mu.Unlock()
	return ch
}

func (w *lockWaiters) cancel(name []byte, token int64) {
	w.mu.Lock()
	delete(w.m, lockWaiterKey{string(name), token})
	w.mu.Unlock()
}

func (w *lockWaiters) promote(gs []command.LockGrant) {
	if len(gs) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, g := range gs {
		k := lockWaiterKey{string(g.Name), g.Token}
		if ch, ok := w.m[k]; ok {
			close(ch)
			delete(w.m, k)
		}
	}
}
