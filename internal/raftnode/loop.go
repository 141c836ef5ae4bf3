package raftnode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// loopState is owned by the raft goroutine.
type loopState struct {
	rn        *raft.RawNode
	confState *pb.ConfState

	// Proposal batching buffers, reused.
	batch    [][]byte
	batchErr []chan error
	frameBuf []byte

	// Linearizable reads: each batch of waiting readers shares one
	// ReadIndex request, identified by its sequence number.
	nextRead     uint64
	pendingReads map[uint64]*readBatch

	// confWaiters maps a conf change context to callers waiting for it.
	confWaiters map[string][]chan struct{}

	// leaderStart is the index of this node's first entry as leader of the
	// current term (0 when not leader). Reads it answers must wait for it:
	// raft answers a lone voter's ReadIndex with its commit index at once,
	// and after a restart that index can be older than writes acknowledged
	// before the restart (commit-only hard state updates are not synced).
	leaderStart uint64

	entries []Entry // reused apply buffer
	ticks   uint64
}

type readBatch struct {
	waiters  []chan readResult
	issuedAt uint64 // tick count when last (re)issued
}

func newLoopState(n *Node) (*loopState, error) {
	cfg := n.cfg
	applied := cfg.StateMachine.AppliedIndex()
	if err := repairCommit(cfg, applied); err != nil {
		return nil, err
	}
	_, cs, err := cfg.Log.InitialState()
	if err != nil {
		return nil, fmt.Errorf("raftnode: initial state: %w", err)
	}
	rc := &raft.Config{
		ID:                        cfg.ID,
		ElectionTick:              cfg.ElectionTicks,
		HeartbeatTick:             cfg.HeartbeatTicks,
		Storage:                   cfg.Log,
		Applied:                   applied,
		MaxSizePerMsg:             cfg.MaxSizePerMsg,
		MaxCommittedSizePerReady:  64 << 20,
		MaxUncommittedEntriesSize: cfg.MaxUncommittedBytes,
		MaxInflightMsgs:           cfg.MaxInflightMsgs,
		CheckQuorum:               true,
		PreVote:                   true,
		ReadOnlyOption:            raft.ReadOnlySafe,
		StepDownOnRemoval:         true,
		Logger:                    raftLogger{n.log.With("component", "raft")},
	}
	rn, err := raft.NewRawNode(rc)
	if err != nil {
		return nil, fmt.Errorf("raftnode: new raw node: %w", err)
	}
	last, err := cfg.Log.LastIndex()
	if err != nil {
		return nil, err
	}
	if last == 0 && len(cfg.Bootstrap) > 0 {
		if err := rn.Bootstrap(cfg.Bootstrap); err != nil {
			return nil, fmt.Errorf("raftnode: bootstrap: %w", err)
		}
	}
	n.applied.applied.Store(applied)
	if applied > 0 {
		term, err := cfg.Log.Term(applied)
		if err != nil {
			return nil, fmt.Errorf("raftnode: term of applied index %d: %w", applied, err)
		}
		cfg.Log.SetSnapshotPoint(applied, term, cs)
	}
	return &loopState{
		rn:           rn,
		confState:    cs,
		pendingReads: make(map[uint64]*readBatch),
		confWaiters:  make(map[string][]chan struct{}),
	}, nil
}

// repairCommit raises the persisted commit index to the applied index when
// it lags (raft refuses to start otherwise). Entries are applied only once
// committed and durable in the local log, so recording them as committed is
// true. With the Ready loop writing the hard state before applying, this
// should not happen; it guards against a crash between the two writes.
func repairCommit(cfg Config, applied uint64) error {
	hs, _, err := cfg.Log.InitialState()
	if err != nil {
		return fmt.Errorf("raftnode: initial state: %w", err)
	}
	if applied <= hs.GetCommit() {
		return nil
	}
	last, err := cfg.Log.LastIndex()
	if err != nil {
		return err
	}
	if applied > last {
		return fmt.Errorf("raftnode: applied index %d beyond the durable log (last %d): storage is corrupt", applied, last)
	}
	b := cfg.DB.NewBatch()
	defer b.Close()
	fixed := &pb.HardState{Term: new(hs.GetTerm()), Vote: new(hs.GetVote()), Commit: new(applied)}
	if err := cfg.Log.SetHardState(b, fixed); err != nil {
		return fmt.Errorf("raftnode: repair commit index: %w", err)
	}
	if err := b.Commit(true); err != nil {
		cfg.Log.DiscardPending()
		return fmt.Errorf("raftnode: repair commit index: %w", err)
	}
	cfg.Log.MarkDurable()
	cfg.Logger.Info("raised the persisted commit index to the applied index", "commit", hs.GetCommit(), "applied", applied)
	return nil
}

func (n *Node) run() {
	defer close(n.donec)
	ls := n.loop
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()

	for {
		select {
		case <-ticker.C:
			ls.rn.Tick()
			ls.ticks++
			n.retryReads()
			n.campaignIfAlone()
		case m := <-n.recvc:
			n.step(m)
			n.drainRecv()
		case p := <-n.propc:
			n.proposeBatch(p)
		case ch := <-n.readc:
			n.issueReads(ch)
		case fn := <-n.ctrlc:
			fn(ls.rn)
		case <-n.failed:
			return
		case <-n.stopc:
			return
		}
		// Advance can itself produce work (a lone voter's own append
		// acknowledgement commits entries), so drain until nothing is ready.
		for ls.rn.HasReady() {
			if err := n.handleReady(); err != nil {
				n.fail(err)
				return
			}
		}
	}
}

// campaignIfAlone lets a lone voter lead without waiting an election
// timeout. raft refuses while conf changes are unapplied (just after
// bootstrap), so it is retried on every tick until the node leads.
func (n *Node) campaignIfAlone() {
	voters := n.loop.confState.GetVoters()
	follower := raft.StateType(n.state.Load()) == raft.StateFollower
	if follower && n.lead.Load() == 0 && len(voters) == 1 && voters[0] == n.cfg.ID {
		_ = n.loop.rn.Campaign()
	}
}

func (n *Node) step(m *pb.Message) {
	if err := n.loop.rn.Step(m); err != nil && !errors.Is(err, raft.ErrStepPeerNotFound) {
		n.log.Debug("step failed", "type", m.GetType().String(), "from", m.GetFrom(), "err", err)
	}
}

// drainRecv steps queued messages without blocking, so one Ready covers many.
func (n *Node) drainRecv() {
	for i := 0; i < 256; i++ {
		select {
		case m := <-n.recvc:
			n.step(m)
		default:
			return
		}
	}
}

// proposeBatch frames p and every proposal already queued (within limits)
// into one raft entry.
func (n *Node) proposeBatch(first *proposal) {
	ls := n.loop
	ls.batch = append(ls.batch[:0], first.data)
	ls.batchErr = append(ls.batchErr[:0], first.errc)
	size := len(first.data)
loop:
	for len(ls.batch) < n.cfg.MaxBatchProposals && size < n.cfg.MaxBatchBytes {
		select {
		case p := <-n.propc:
			ls.batch = append(ls.batch, p.data)
			ls.batchErr = append(ls.batchErr, p.errc)
			size += len(p.data)
		default:
			break loop
		}
	}
	// raft keeps the entry's data; it must not alias the reused buffer.
	data := appendFramed(make([]byte, 0, framedSize(ls.batch)), ls.batch)
	err := ls.rn.Propose(data)
	if errors.Is(err, raft.ErrProposalDropped) {
		err = ErrProposalDropped
	} else if err != nil {
		err = fmt.Errorf("raftnode: propose: %w", err)
	}
	for i, errc := range ls.batchErr {
		errc <- err
		ls.batchErr[i] = nil
		ls.batch[i] = nil
	}
}

// issueReads starts one ReadIndex round for ch and every reader queued.
func (n *Node) issueReads(first chan readResult) {
	ls := n.loop
	b := &readBatch{waiters: []chan readResult{first}, issuedAt: ls.ticks}
loop:
	for {
		select {
		case ch := <-n.readc:
			b.waiters = append(b.waiters, ch)
		default:
			break loop
		}
	}
	ls.nextRead++
	ls.pendingReads[ls.nextRead] = b
	ls.rn.ReadIndex(readCtx(ls.nextRead))
}

func readCtx(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// retryReads re-issues read rounds that got no answer within an election
// timeout (the request or its answer was lost, or the leader changed).
func (n *Node) retryReads() {
	ls := n.loop
	for id, b := range ls.pendingReads {
		if ls.ticks-b.issuedAt >= uint64(n.cfg.ElectionTicks) {
			b.issuedAt = ls.ticks
			ls.rn.ReadIndex(readCtx(id))
		}
	}
}

// noteLeaderStart records the leader's first entry of its term.
func (n *Node) noteLeaderStart(ents []*pb.Entry) {
	ls := n.loop
	if ls.leaderStart != 0 || !n.IsLeader() {
		return
	}
	term := n.term.Load()
	for _, e := range ents {
		if e.GetTerm() == term {
			ls.leaderStart = e.GetIndex()
			return
		}
	}
}

func (n *Node) answerReads(states []raft.ReadState) {
	ls := n.loop
	for _, rs := range states {
		if len(rs.RequestCtx) != 8 {
			continue
		}
		id := binary.BigEndian.Uint64(rs.RequestCtx)
		b, ok := ls.pendingReads[id]
		if !ok {
			continue
		}
		delete(ls.pendingReads, id)
		index := rs.Index
		if n.IsLeader() {
			index = max(index, ls.leaderStart)
		}
		for _, ch := range b.waiters {
			ch <- readResult{index: index}
		}
	}
}

// handleReady persists, sends, applies and advances one Ready.
func (n *Node) handleReady() error {
	ls := n.loop
	rd := ls.rn.Ready()
	if rd.SoftState != nil {
		n.updateSoftState(rd.SoftState)
	}
	if hs := rd.HardState; !raft.IsEmptyHardState(hs) {
		n.term.Store(hs.GetTerm())
		n.commit.Store(hs.GetCommit())
	}
	n.noteLeaderStart(rd.Entries)
	// The leader may send appends before its own log write is durable
	// (raft thesis 10.2.1): the write and the replication proceed in
	// parallel. Followers must persist before acknowledging.
	sent := false
	if n.IsLeader() {
		n.send(rd.Messages)
		sent = true
	}
	if err := n.persist(&rd); err != nil {
		return err
	}
	if !sent {
		n.send(rd.Messages)
	}
	n.answerReads(rd.ReadStates)
	if err := n.apply(rd.CommittedEntries); err != nil {
		return err
	}
	ls.rn.Advance(rd)
	return n.maybeCompact()
}

func (n *Node) updateSoftState(ss *raft.SoftState) {
	oldLead := n.lead.Load()
	if ss.RaftState != raft.StateLeader || raft.StateType(n.state.Load()) != raft.StateLeader {
		n.loop.leaderStart = 0
	}
	n.state.Store(int32(ss.RaftState))
	n.lead.Store(ss.Lead)
	if ss.Lead != oldLead {
		n.log.Info("leader changed", "leader", fmt.Sprintf("%x", ss.Lead), "state", ss.RaftState.String())
		// Reads sent to the old leader will not be answered: ask again.
		for id, b := range n.loop.pendingReads {
			b.issuedAt = n.loop.ticks
			n.loop.rn.ReadIndex(readCtx(id))
		}
	}
	n.notifyLeaderChange()
}

// persist writes the Ready's snapshot, entries and hard state in one batch,
// synced once.
func (n *Node) persist(rd *raft.Ready) error {
	b := n.cfg.DB.NewBatch()
	defer b.Close()
	snap := rd.Snapshot
	hasSnap := !raft.IsEmptySnap(snap)
	if hasSnap {
		if err := n.restoreSnapshot(b, snap); err != nil {
			return err
		}
	}
	if len(rd.Entries) > 0 {
		if err := n.cfg.Log.Append(b, rd.Entries); err != nil {
			return fmt.Errorf("raftnode: append: %w", err)
		}
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		if err := n.cfg.Log.SetHardState(b, rd.HardState); err != nil {
			return fmt.Errorf("raftnode: hard state: %w", err)
		}
	}
	if b.Empty() {
		return nil
	}
	if err := b.Commit(rd.MustSync || hasSnap); err != nil {
		// A failed sync must never be acknowledged: the node stops.
		n.cfg.Log.DiscardPending()
		return fmt.Errorf("raftnode: persist ready: %w", err)
	}
	n.cfg.Log.MarkDurable()
	if hasSnap {
		return n.afterRestore(snap)
	}
	return nil
}
