package service

import (
	"context"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
)

// Pending is a write handed to raft by ProposeAsync whose result is not
// known yet. Wait must be called once (it releases the waiter and the
// request's timer); Pending is not safe for concurrent use.
type Pending struct {
	s      *Service // nil for a Pending made by NewPending
	id     uint64
	ch     chan *command.Result
	ctx    context.Context
	cancel context.CancelFunc
	errc   <-chan error // raft's verdict on taking the proposal
}

// ProposeAsync validates req (a Put, Delete, Txn or Mutate), registers its
// waiter and hands it to raft, then returns without waiting for it to
// commit; Pending.Wait yields what Put, Delete, Txn or Mutate would have
// returned. req is encoded before ProposeAsync returns, so the caller may
// reuse it (and the buffers it points to) at once.
//
// Ordering: proposals made one after another by one goroutine enter the
// raft log in that order (the raft node takes them over one channel, in
// the order they are handed over), so they apply in that order. One that
// fails (dropped: no leader; timed out) does not stop the later ones.
//
// An error returned here (invalid request, stopping) means nothing was
// proposed; raft refusing the proposal (no leader) is reported by Wait.
func (s *Service) ProposeAsync(ctx context.Context, req *command.Request) (*Pending, error) {
	if err := validateRequest(req); err != nil {
		return nil, err
	}
	return s.startProposal(ctx, req)
}

// startProposal registers req's waiter and queues it for raft.
func (s *Service) startProposal(ctx context.Context, req *command.Request) (*Pending, error) {
	ctx, cancel := s.withTimeout(ctx)
	req.ID = s.ids.next()
	// The state machine treats keys expired at this time as absent (lazy
	// expiry, docs/LEASES.md): it cannot read a clock of its own.
	req.Now = nowMillis()
	data := command.EncodeRequest(nil, req)
	// Registered before raft can apply it, so the result cannot be missed.
	p := &Pending{s: s, id: req.ID, ch: s.results.register(req.ID), ctx: ctx, cancel: cancel}
	errc, err := s.node.ProposeAsync(ctx, data)
	if err != nil {
		p.release()
		return nil, s.translate(ctx, err)
	}
	p.errc = errc
	return p, nil
}

// Wait blocks until the write has applied on this node, the request's
// deadline passes or the node stops, and returns the result as propose
// does: a data-dependent failure of a Mutate returns the result together
// with its error.
func (p *Pending) Wait() (*command.Result, error) {
	defer p.release()
	var done <-chan struct{}
	if p.s != nil {
		done = p.s.node.Done()
	}
	if p.errc != nil {
		select {
		case err := <-p.errc:
			if err != nil {
				return nil, p.s.translate(p.ctx, err)
			}
		case <-p.ctx.Done():
			return nil, p.s.translate(p.ctx, p.ctx.Err())
		case <-done:
			return nil, ErrStopped
		}
	}
	select {
	case r := <-p.ch:
		if p.s != nil {
			p.s.noteRefused(r)
		}
		if err := resultErr(r); err != nil {
			return r, err
		}
		return r, nil
	case <-p.ctx.Done():
		if p.s == nil {
			return nil, ErrTimeout
		}
		return nil, p.s.translate(p.ctx, p.ctx.Err())
	case <-done:
		return nil, ErrStopped
	}
}

func (p *Pending) release() {
	if p.s != nil {
		p.s.results.cancel(p.id)
	}
	if p.cancel != nil {
		p.cancel()
	}
}

// NewPending returns a Pending whose result is the one sent on ch (which
// must have room for it), or ErrTimeout once ctx is done. It lets fakes of
// the service in front ends' tests return writes still in flight.
func NewPending(ctx context.Context, ch chan *command.Result) *Pending {
	return &Pending{ch: ch, ctx: ctx}
}

// ReadBarrier waits until this node may serve reads of consistency o
// from its local state, as Get and Range do before reading: for
// Linearizable, one ReadIndex round (concurrent callers share one) and the
// wait for the local apply to reach it; for a MinRevision, the wait for
// that revision. Reads made after it with
// ReadOptions{Consistency: Stale} are then as fresh as o asks, which lets
// a front end serve a batch of reads after one barrier.
func (s *Service) ReadBarrier(ctx context.Context, o ReadOptions) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return s.readBarrier(ctx, o)
}

// validateRequest checks a request as Put, Delete, Txn and Mutate do.
func validateRequest(req *command.Request) error {
	switch {
	case req.Put != nil:
		return validatePut(req.Put)
	case req.Delete != nil:
		if err := validateKey(req.Delete.Key); err != nil {
			return err
		}
		return validateRangeEnd(req.Delete.End)
	case req.Txn != nil:
		return validateTxn(req.Txn)
	case req.Mutate != nil:
		return validateMutate(req.Mutate)
	case req.Doc != nil:
		return validateDoc(req.Doc)
	}
	return fmt.Errorf("%w: ProposeAsync takes a put, delete, txn or mutate", ErrInvalid)
}
