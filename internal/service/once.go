package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/raftnode"
)

// Exactly-once writes through leader changes (docs/REPLICATION.md).
//
// raft drops a proposal silently when the leader it was forwarded to is
// deposed or hands over before appending it, and an entry the old leader
// appended may be truncated by the new one. propose therefore proposes the
// same encoded request — the same ID — again whenever this node sees the
// leader change, and otherwise after an election timeout, then at doubling
// intervals, while no result came; the state machine's dedup window (statemachine/dedup.go) applies
// one copy and refuses the others with duplicate_request, which no waiter
// sees (the first copy's result released it).
//
// A refusal can reach the waiter only when no copy of this attempt's ID
// applied on this node since the waiter was registered, or when a snapshot
// install (which delivers no results) came in between; the service tells
// them apart with StateMachine.Restores:
//
//   - no snapshot in between: the ID was never applied for this request
//     (stale_request: the window slid past it, so no copy ever will;
//     duplicate_request: an earlier incarnation of this node used the ID).
//     The generator moves past the window's highest counter and the
//     request is proposed under a new ID.
//   - a snapshot in between: it may have carried this request's effects,
//     so the outcome is unknown (ErrTimeout).
//
// Pipelined writes (ProposeAsync) are not proposed again: a copy could
// land after later writes of the pipeline.

// idCounterSkip is how far past the persisted window a restarted node
// starts its counter: beyond any request of its previous incarnation still
// in the log, whose ID it must not reuse.
const idCounterSkip = 1 << 24

// advance moves the counter so that the next ID's counter comes after high.
func (g *idGenerator) advance(high uint64) {
	high &= command.IDCounterMask
	for {
		cur := g.counter.Load()
		if c := cur & command.IDCounterMask; c == high || command.CounterAfter(c, high) {
			return
		}
		if g.counter.CompareAndSwap(cur, high) {
			return
		}
	}
}

// seedFromWindow moves the ID counter past what the state machine applied
// for this node's prefix (called at Start): the clock seed may be behind it
// after a restart, and every request would first come back stale.
func (s *Service) seedFromWindow() {
	if s.sm == nil {
		return
	}
	high, ok, err := s.DedupHigh()
	if err != nil {
		s.log.Warn("read the request dedup window", "err", err)
		return
	}
	if ok {
		s.ids.advance(high + idCounterSkip)
	}
}

// DedupHigh returns the highest request ID counter of this node that the
// local state machine applied, and whether it applied any.
func (s *Service) DedupHigh() (uint64, bool, error) {
	return s.sm.DedupHigh(s.ids.prefix >> command.IDCounterBits)
}

// SetIDCounterForTest sets the request ID counter (tests of the stale
// request path: a restarted node whose counter is below its window).
func (s *Service) SetIDCounterForTest(c uint64) { s.ids.counter.Store(c) }

// noteRefused moves the ID generator past a stale request's window (for
// pipelined writes, which are not proposed again: the next ones get IDs
// the window takes).
func (s *Service) noteRefused(r *command.Result) {
	if r.Err == command.ErrCodeStaleRequest && r.Stale != nil {
		s.ids.advance(r.Stale.High)
	}
}

// ErrStaleRequest: the state machine refused the request's ID as older than
// its proposer's dedup window; the write was not applied and may be retried.
var ErrStaleRequest = errors.New("request refused as stale (not applied); retry")

// refusedErr maps the dedup refusals for resultErr.
func refusedErr(r *command.Result) (error, bool) {
	switch r.Err {
	case command.ErrCodeStaleRequest:
		return ErrStaleRequest, true
	case command.ErrCodeDuplicateRequest:
		return fmt.Errorf("%w: the request ID was applied before", ErrTimeout), true
	}
	return nil, false
}

// restores is the state machine's snapshot install count (0 without one).
func (s *Service) restores() uint64 {
	if s.sm == nil {
		return 0
	}
	return s.sm.Restores()
}

// propose sends req through raft and waits for its result, proposing it
// again as described above until the request's deadline. A proposal raft
// dropped (no leader known, or a leadership transfer under way) is proposed
// again once a leader is known, after a short backoff: an election costs
// the client latency, not an error, as with etcd.
func (s *Service) propose(ctx context.Context, req *command.Request) (*command.Result, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	req.ID = s.ids.next()
	// The state machine treats keys expired at this time as absent (lazy
	// expiry, docs/LEASES.md): it cannot read a clock of its own.
	req.Now = nowMillis()
	data := command.EncodeRequest(nil, req)
	// Registered before raft can apply it, so the result cannot be missed.
	id, ch, restores := req.ID, s.results.register(req.ID), s.restores()
	defer func() { s.results.cancel(id) }()

	done := s.node.Done()
	timer := time.NewTimer(0) // fires at once: the first proposal
	defer timer.Stop()
	backoff := 5 * time.Millisecond
	// Without news of a leader change, copies go out after an election
	// timeout, then at doubling intervals: a cluster slow to commit is not
	// flooded with them.
	period := s.cfg.ElectionTimeout
	var (
		errc       <-chan error
		changed    = s.node.LeaderChanged()
		lead, term uint64
		lastErr    error // why the last proposal failed, if raft refused it
	)
	fail := func(err error) (*command.Result, error) {
		if lastErr != nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, s.translate(ctx, lastErr)
		}
		return nil, s.translate(ctx, err)
	}
	for {
		select {
		case <-timer.C:
			if s.node.Leader() == 0 {
				// raft would drop it: wait for a leader (or the next tick).
				timer.Reset(s.cfg.ElectionTimeout)
				continue
			}
			changed = s.node.LeaderChanged()
			lead, term = s.node.Leader(), s.node.Term()
			var err error
			if errc, err = s.node.ProposeAsync(ctx, data); err != nil {
				return fail(err)
			}
			timer.Reset(period)
			period = min(2*period, 8*s.cfg.ElectionTimeout)
		case err := <-errc:
			errc = nil
			if err == nil {
				lastErr = nil // appended or forwarded: no longer "no leader"
				continue
			}
			if !errors.Is(err, raftnode.ErrProposalDropped) {
				return nil, s.translate(ctx, err)
			}
			// A leader that is handing over drops proposals while it is
			// known: back off before trying again.
			lastErr = err
			timer.Reset(backoff)
			backoff = min(2*backoff, 100*time.Millisecond)
		case <-changed:
			changed = s.node.LeaderChanged()
			if l := s.node.Leader(); l != 0 && (l != lead || s.node.Term() != term) {
				period = s.cfg.ElectionTimeout
				timer.Reset(0)
			}
		case r := <-ch:
			switch r.Err {
			case command.ErrCodeStaleRequest, command.ErrCodeDuplicateRequest:
			default:
				if err := resultErr(r); err != nil {
					return r, err
				}
				return r, nil
			}
			if s.restores() != restores {
				return nil, fmt.Errorf("%w: a snapshot arrived while the write was pending and its request was then refused as %s", ErrTimeout, r.Err)
			}
			// This ID never applied and never will: a new ID.
			high := id & command.IDCounterMask
			if r.Stale != nil {
				high = r.Stale.High
			}
			if h, ok, err := s.sm.DedupHigh(id >> command.IDCounterBits); err == nil && ok && command.CounterAfter(h, high) {
				high = h
			}
			s.ids.advance(high)
			s.results.cancel(id)
			restores = s.restores() // a snapshot from now on may carry the new ID
			req.ID = s.ids.next()
			req.Now = nowMillis()
			data = command.EncodeRequest(nil, req) // raft may still hold the old bytes
			id, ch = req.ID, s.results.register(req.ID)
			timer.Reset(0)
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-done:
			return nil, ErrStopped
		}
	}
}
