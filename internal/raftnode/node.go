package raftnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Errors returned by Node.
var (
	ErrStopped = errors.New("raftnode: stopped")
	// ErrProposalDropped means raft refused the proposal: there is no known
	// leader, a leadership transfer is in progress, or too much is
	// uncommitted. It is safe to retry.
	ErrProposalDropped = errors.New("raftnode: proposal dropped (no leader or overloaded)")
)

// Node runs one raft group: it owns the RawNode in a single goroutine that
// ticks, steps messages, proposes, and handles each Ready in the documented
// order (persist, send, apply, Advance).
type Node struct {
	cfg Config
	log *slog.Logger

	// Channels into the raft goroutine.
	propc  chan *proposal
	recvc  chan *pb.Message
	readc  chan chan readResult
	ctrlc  chan func(rn *raft.RawNode)
	stopc  chan struct{}
	donec  chan struct{}
	failed chan struct{} // closed when the node stops on an error

	stopOnce sync.Once
	started  atomic.Bool
	errMu    sync.Mutex // guards err
	err      error

	applied appliedWaiters

	// Published by the raft goroutine for lock-free readers.
	lead     atomic.Uint64
	term     atomic.Uint64
	commit   atomic.Uint64
	state    atomic.Int32 // raft.StateType
	leaderMu sync.Mutex   // guards leaderCh
	leaderCh chan struct{}

	loop *loopState // owned by the raft goroutine
}

type proposal struct {
	data []byte
	errc chan error
}

type readResult struct {
	index uint64
	err   error
}

// New creates the node, bootstrapping a new cluster if cfg.Bootstrap is set
// and the log is empty. Call Start to run it.
func New(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := resetSnapshotDir(cfg.SnapshotDir); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:      cfg,
		log:      cfg.Logger.With("node", fmt.Sprintf("%x", cfg.ID)),
		propc:    make(chan *proposal, 4096),
		recvc:    make(chan *pb.Message, 4096),
		readc:    make(chan chan readResult, 4096),
		ctrlc:    make(chan func(*raft.RawNode), 64),
		stopc:    make(chan struct{}),
		donec:    make(chan struct{}),
		failed:   make(chan struct{}),
		leaderCh: make(chan struct{}),
	}
	ls, err := newLoopState(n)
	if err != nil {
		return nil, err
	}
	n.loop = ls
	return n, nil
}

func resetSnapshotDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("raftnode: clear snapshot dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("raftnode: create snapshot dir: %w", err)
	}
	return nil
}

// Start runs the raft goroutine.
func (n *Node) Start() {
	n.started.Store(true)
	go n.run()
}

// Stop stops the raft goroutine and waits for it to exit.
func (n *Node) Stop() {
	n.stopOnce.Do(func() { close(n.stopc) })
	if !n.started.Load() {
		return
	}
	<-n.donec
}

// Done is closed when the raft goroutine has exited (Stop or failure).
func (n *Node) Done() <-chan struct{} { return n.donec }

// Err returns the error that stopped the node, if any.
func (n *Node) Err() error {
	n.errMu.Lock()
	defer n.errMu.Unlock()
	return n.err
}

func (n *Node) fail(err error) {
	n.errMu.Lock()
	defer n.errMu.Unlock()
	if n.err != nil {
		return // the first failure wins; failed is already closed
	}
	n.err = err
	n.log.Error("raft node stopping on error", "err", err)
	close(n.failed)
}

// ID returns this node's raft ID.
func (n *Node) ID() uint64 { return n.cfg.ID }

// Leader returns the ID of the leader this node knows of (0 if none).
func (n *Node) Leader() uint64 { return n.lead.Load() }

// IsLeader reports whether this node is the leader.
func (n *Node) IsLeader() bool { return raft.StateType(n.state.Load()) == raft.StateLeader }

// Term returns the current term.
func (n *Node) Term() uint64 { return n.term.Load() }

// AppliedIndex returns the index of the last applied entry.
func (n *Node) AppliedIndex() uint64 { return n.applied.applied.Load() }

// CommitIndex returns the commit index this node knows of.
func (n *Node) CommitIndex() uint64 { return n.commit.Load() }

// Propose hands a proposal to raft. It returns once raft has accepted it
// into the log (on the leader, or forwarded to it); the result arrives
// through the state machine. ErrProposalDropped means it was not accepted.
func (n *Node) Propose(ctx context.Context, data []byte) error {
	errc, err := n.ProposeAsync(ctx, data)
	if err != nil {
		return err
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-n.donec:
		return ErrStopped
	}
}

// ProposeAsync queues a proposal for the raft goroutine and returns without
// waiting for raft to take it; the channel later yields raft's verdict (nil
// or ErrProposalDropped). Proposals queued one after another by one
// goroutine enter the log in that order, so a pipelining caller gets many
// proposals into one entry and one fsync.
func (n *Node) ProposeAsync(ctx context.Context, data []byte) (<-chan error, error) {
	p := &proposal{data: data, errc: make(chan error, 1)}
	select {
	case n.propc <- p:
		return p.errc, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.donec:
		return nil, ErrStopped
	}
}

// ReadIndex returns an index such that a read served from the state machine
// once AppliedIndex >= index is linearizable. Concurrent calls share one
// round of leader confirmation.
func (n *Node) ReadIndex(ctx context.Context) (uint64, error) {
	ch := make(chan readResult, 1)
	select {
	case n.readc <- ch:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-n.donec:
		return 0, ErrStopped
	}
	select {
	case r := <-ch:
		return r.index, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-n.donec:
		return 0, ErrStopped
	}
}

// WaitApplied blocks until the applied index reaches index.
func (n *Node) WaitApplied(ctx context.Context, index uint64) error {
	return n.applied.wait(ctx, n.donec, index)
}

// LinearizableBarrier waits until a linearizable read may be served locally.
func (n *Node) LinearizableBarrier(ctx context.Context) error {
	idx, err := n.ReadIndex(ctx)
	if err != nil {
		return err
	}
	return n.WaitApplied(ctx, idx)
}

// do runs fn on the raft goroutine and waits for it.
func (n *Node) do(ctx context.Context, fn func(rn *raft.RawNode)) error {
	done := make(chan struct{})
	select {
	case n.ctrlc <- func(rn *raft.RawNode) { fn(rn); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-n.donec:
		return ErrStopped
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.donec:
		return ErrStopped
	}
}

// ProposeConfChange proposes a membership change and waits until it has
// been applied on this node.
func (n *Node) ProposeConfChange(ctx context.Context, cc *pb.ConfChangeV2) error {
	key := string(cc.GetContext())
	wait := make(chan struct{})
	// raft silently replaces a conf change with an empty entry while
	// another one is unapplied — and a new leader counts its whole log as
	// possibly holding one until it has applied it. So a proposal that
	// does not apply within an election timeout is proposed again. That is
	// safe: raft refuses the copy while the first is pending, and a copy
	// of an applied change is a no-op (adding a member it has, removing
	// one it does not).
	retry := time.Duration(n.cfg.ElectionTicks) * n.cfg.TickInterval
	for {
		var perr error
		err := n.do(ctx, func(rn *raft.RawNode) {
			select {
			case <-wait:
				return // applied since the timer fired: waiters are closed here, on this goroutine
			default:
			}
			if perr = rn.ProposeConfChange(cc); perr != nil {
				return
			}
			if !slices.Contains(n.loop.confWaiters[key], wait) {
				n.loop.confWaiters[key] = append(n.loop.confWaiters[key], wait)
			}
		})
		if err != nil {
			return err
		}
		if perr != nil {
			if errors.Is(perr, raft.ErrProposalDropped) {
				return ErrProposalDropped
			}
			return fmt.Errorf("raftnode: propose conf change: %w", perr)
		}
		t := time.NewTimer(retry)
		select {
		case <-wait:
			t.Stop()
			return nil
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-n.donec:
			t.Stop()
			return ErrStopped
		case <-t.C:
			n.log.Info("conf change not applied yet; proposing it again", "after", retry)
		}
	}
}

// TransferLeadership asks the leader to hand leadership to `to` and waits
// until this node sees `to` as leader. raft gives a transfer one election
// timeout and then drops it silently (the target was behind, busy applying
// a conf change, or the message was lost), so an unfinished transfer is
// asked for again until ctx ends.
func (n *Node) TransferLeadership(ctx context.Context, to uint64) error {
	retry := 2 * time.Duration(n.cfg.ElectionTicks) * n.cfg.TickInterval
	for {
		if err := n.do(ctx, func(rn *raft.RawNode) { rn.TransferLeader(to) }); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, retry)
		err := n.WaitLeader(wctx, func(lead uint64) bool { return lead == to })
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded):
			return err
		}
		n.log.Info("leadership transfer not done yet; asking again", "to", fmt.Sprintf("%x", to), "leader", fmt.Sprintf("%x", n.lead.Load()))
	}
}

// WaitLeader waits until pred holds for the leader this node knows of.
func (n *Node) WaitLeader(ctx context.Context, pred func(lead uint64) bool) error {
	for {
		n.leaderMu.Lock()
		ch := n.leaderCh
		n.leaderMu.Unlock()
		if pred(n.lead.Load()) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-n.donec:
			return ErrStopped
		}
	}
}

// LeaderChanged returns a channel closed at the next change of this
// node's view of the leader or its raft state (what WaitLeader waits on).
func (n *Node) LeaderChanged() <-chan struct{} {
	n.leaderMu.Lock()
	defer n.leaderMu.Unlock()
	return n.leaderCh
}

func (n *Node) notifyLeaderChange() {
	n.leaderMu.Lock()
	close(n.leaderCh)
	n.leaderCh = make(chan struct{})
	n.leaderMu.Unlock()
}

// Campaign makes this node start an election (used by tests and by a
// single-node cluster at start).
func (n *Node) Campaign(ctx context.Context) error {
	return n.do(ctx, func(rn *raft.RawNode) { _ = rn.Campaign() })
}

// Status is a snapshot of the node's raft state.
type Status struct {
	ID        uint64
	Lead      uint64
	Term      uint64
	Commit    uint64
	Applied   uint64
	RaftState string
	Voters    []uint64
	Learners  []uint64
	// Progress of each follower, known only on the leader.
	Progress map[uint64]Progress
}

// Progress is the leader's view of one follower.
type Progress struct {
	Match, Next  uint64
	State        string
	RecentActive bool
	IsLearner    bool
}

// Status returns the node's current raft status.
func (n *Node) Status(ctx context.Context) (Status, error) {
	var st Status
	err := n.do(ctx, func(rn *raft.RawNode) {
		s := rn.Status()
		st = Status{
			ID: s.ID, Lead: s.Lead, Term: s.GetTerm(), Commit: s.GetCommit(), Applied: n.AppliedIndex(),
			RaftState: s.RaftState.String(),
		}
		cs := n.loop.confState
		st.Voters = append(st.Voters, cs.GetVoters()...)
		st.Learners = append(st.Learners, cs.GetLearners()...)
		if s.Progress != nil {
			st.Progress = make(map[uint64]Progress, len(s.Progress))
			for id, pr := range s.Progress {
				st.Progress[id] = Progress{
					Match: pr.Match, Next: pr.Next, State: pr.State.String(),
					RecentActive: pr.RecentActive, IsLearner: pr.IsLearner,
				}
			}
		}
	})
	return st, err
}

// Receive implements transport.Handler. Messages that don't fit in the
// queue are dropped; raft retransmits.
func (n *Node) Receive(group uint64, m *pb.Message) {
	if group != n.cfg.Group {
		return
	}
	select {
	case n.recvc <- m:
	default:
	}
}

// ReceiveSnapshot implements transport.Handler: it stages the snapshot data
// in a file and hands the message to raft with the file's path as data.
func (n *Node) ReceiveSnapshot(group uint64, m *pb.Message, body io.Reader) error {
	if group != n.cfg.Group {
		return fmt.Errorf("raftnode: snapshot for unknown group %d", group)
	}
	f, err := os.CreateTemp(n.cfg.SnapshotDir, "snap-*.tmp")
	if err != nil {
		return fmt.Errorf("raftnode: stage snapshot: %w", err)
	}
	path := f.Name()
	_, err = io.Copy(f, body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("raftnode: stage snapshot: %w", err)
	}
	if m.Snapshot == nil {
		os.Remove(path)
		return errors.New("raftnode: snapshot message without snapshot")
	}
	m.Snapshot.Data = []byte(filepath.Clean(path))
	select {
	case n.recvc <- m:
		return nil
	case <-n.donec:
		os.Remove(path)
		return ErrStopped
	}
}

// ReportUnreachable implements transport.Handler.
func (n *Node) ReportUnreachable(group, to uint64) {
	if group != n.cfg.Group {
		return
	}
	select {
	case n.ctrlc <- func(rn *raft.RawNode) { rn.ReportUnreachable(to) }:
	default: // a hint only; dropping it is harmless
	}
}

// ReportSnapshot implements transport.Handler. Unlike unreachable reports,
// this one is never dropped: raft keeps a follower in snapshot state until
// it hears the outcome.
func (n *Node) ReportSnapshot(group, to uint64, failed bool) {
	if group != n.cfg.Group {
		return
	}
	status := raft.SnapshotFinish
	if failed {
		status = raft.SnapshotFailure
	}
	select {
	case n.ctrlc <- func(rn *raft.RawNode) { rn.ReportSnapshot(to, status) }:
	case <-n.donec:
	}
}
