// Package service is what the front ends (HTTP, RESP, CLI through the
// client) call: key-value operations with a consistency level, and cluster
// administration. It turns requests into raft proposals, waits for their
// results from the state machine, and serves reads after the right barrier.
//
// Errors wrap the sentinels in errors.go; front ends translate them.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/raftnode"
	"github.com/cairndb/cairn/internal/statemachine"
	"github.com/cairndb/cairn/internal/watch"
)

// Config configures a Service.
type Config struct {
	ID           uint64 // this node's raft ID
	Name         string
	Node         *raftnode.Node
	StateMachine *statemachine.StateMachine
	Logger       *slog.Logger
	// Hub is the node's watch hub (watches, pub/sub); nil disables them.
	Hub *watch.Hub

	// RequestTimeout bounds a request whose context has no deadline
	// (default 5s).
	RequestTimeout time.Duration
	// RetainRevisions is how many revisions of history the leader keeps
	// before proposing a compaction (0 = default 100000; negative disables).
	RetainRevisions int64
	// CompactInterval is how often the leader checks retention (default 1m).
	CompactInterval time.Duration
	// PromoteInterval is how often the leader checks whether a learner has
	// caught up and should become a voter (default 500ms).
	PromoteInterval time.Duration
	// ElectionTimeout is added to every lease's TTL when this node becomes
	// leader, so no lease expires early across a leader change (default 1s).
	ElectionTimeout time.Duration
	// LessorInterval is how often the leader revokes expired leases and
	// reaps expired keys (default 50ms).
	LessorInterval time.Duration
}

// Service implements the KV and cluster operations of one node.
type Service struct {
	cfg  Config
	node *raftnode.Node
	sm   *statemachine.StateMachine
	log  *slog.Logger

	// caughtUp is set once a linearizable barrier has passed since the
	// process started; stale reads wait for one (see readBarrier).
	caughtUp atomic.Bool

	ids       idGenerator
	lessor    lessor
	locks     lockWaiters
	results   resultWaiters
	revisions revisionWaiters

	stopc chan struct{}
	wg    sync.WaitGroup
}

// New returns a service. Wire its DeliverResult into the state machine's
// OnResult before the raft node starts, then call Start.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.RetainRevisions == 0 {
		cfg.RetainRevisions = 100000
	}
	if cfg.CompactInterval == 0 {
		cfg.CompactInterval = time.Minute
	}
	if cfg.PromoteInterval == 0 {
		cfg.PromoteInterval = 500 * time.Millisecond
	}
	if cfg.ElectionTimeout == 0 {
		cfg.ElectionTimeout = time.Second
	}
	if cfg.LessorInterval == 0 {
		cfg.LessorInterval = lessorInterval
	}
	s := &Service{
		cfg:   cfg,
		node:  cfg.Node,
		sm:    cfg.StateMachine,
		log:   cfg.Logger,
		stopc: make(chan struct{}),
	}
	s.ids.init(cfg.ID)
	s.lessor.init()
	s.locks.init()
	return s
}

// SetBackends sets the node and state machine when they are created after
// the service (the state machine needs DeliverResult at open time).
func (s *Service) SetBackends(node *raftnode.Node, sm *statemachine.StateMachine) {
	s.node, s.sm = node, sm
}

// Start runs the background loops (auto-promotion, compaction).
func (s *Service) Start() {
	s.seedFromWindow()
	s.wg.Add(1)
	go s.onLeaderEvery(s.cfg.PromoteInterval, s.promoteCaughtUp)
	s.wg.Add(1)
	go s.runLessor()
	if s.cfg.RetainRevisions >= 0 {
		s.wg.Add(1)
		go s.onLeaderEvery(s.cfg.CompactInterval, s.compactToRetention)
	}
}

// Stop stops the background loops.
func (s *Service) Stop() {
	close(s.stopc)
	s.wg.Wait()
}

// DeliverResult is the state machine's OnResult hook: it wakes the client
// waiting for r (if this node proposed it) and waiters on the revision.
func (s *Service) DeliverResult(r *command.Result) {
	s.observeLease(r)
	s.results.deliver(r)
	s.revisions.publish(r.Revision)
}

// withTimeout applies the default request timeout to a context without one.
func (s *Service) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.cfg.RequestTimeout)
}

// translate maps raft-level and context errors to service sentinels.
func (s *Service) translate(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, raftnode.ErrProposalDropped):
		return fmt.Errorf("%w (%w)", ErrNoLeader, err)
	case errors.Is(err, raftnode.ErrStopped):
		return ErrStopped
	case errors.Is(err, context.DeadlineExceeded):
		if s.node.Leader() == 0 {
			return fmt.Errorf("%w; gave up after the request deadline", ErrNoLeader)
		}
		return ErrTimeout
	case errors.Is(err, context.Canceled):
		return err
	}
	return err
}

// resultErr maps the state machine's deterministic error codes.
func resultErr(r *command.Result) error {
	switch r.Err {
	case "":
		return nil
	case command.ErrCodeCompacted:
		return ErrCompacted
	case command.ErrCodeFutureRev:
		return ErrFutureRevision
	case command.ErrCodeDuplicateKey:
		return ErrDuplicateKey
	case command.ErrCodeInvalid:
		return ErrInvalid
	case command.ErrCodeNotInteger:
		return ErrNotInteger
	case command.ErrCodeNotFloat:
		return ErrNotFloat
	case command.ErrCodeOverflow:
		return ErrOverflow
	case command.ErrCodeNaNOrInf:
		return ErrNaNOrInf
	case command.ErrCodeTooLarge:
		return fmt.Errorf("%w: the result would exceed %d bytes", ErrValueTooLarge, MaxValueSize)
	case command.ErrCodeNoSuchKey:
		return ErrNoSuchKey
	case command.ErrCodeLeaseNotFound:
		return ErrLeaseNotFound
	case command.ErrCodeLeaseExists:
		return ErrLeaseExists
	case command.ErrCodeLeaseRenewed:
		return errLeaseRenewed
	case command.ErrCodeFenced:
		return ErrFenced
	}
	if err, ok := refusedErr(r); ok {
		return err
	}
	if err, ok := docResultErr(r); ok {
		return err
	}
	return fmt.Errorf("%w: %s", ErrInvalid, r.Err)
}
