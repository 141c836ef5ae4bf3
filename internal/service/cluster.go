package service

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/membership"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Members returns the cluster's members as this node has applied them.
func (s *Service) Members(ctx context.Context) ([]membership.Member, error) {
	return s.sm.Members(), nil
}

func (s *Service) member(id uint64) (membership.Member, bool) {
	for _, m := range s.sm.Members() {
		if m.ID == id {
			return m, true
		}
	}
	return membership.Member{}, false
}

// Join adds m to the cluster as a learner. Unless m.ReadOnly, the leader
// promotes it to voter once it has caught up. Joining again with the same
// name and peer address is a no-op, so a node that crashed mid-join can
// retry.
func (s *Service) Join(ctx context.Context, m membership.Member) ([]membership.Member, error) {
	if m.Name == "" || m.PeerAddr == "" {
		return nil, fmt.Errorf("%w: join needs a name and a peer address", ErrInvalid)
	}
	if m.ID == 0 {
		m.ID = membership.IDFromName(m.Name)
	}
	if s.sm.IsRemoved(m.ID) {
		// Peers refuse a removed ID's traffic (which tells a removed member
		// that missed its removal to stop), so the ID is never reused.
		return nil, fmt.Errorf("%w: member %s (%s) was removed from the cluster; join under a new name",
			ErrMemberExists, m.Name, membership.IDString(m.ID))
	}
	for _, old := range s.sm.Members() {
		if old.ID == m.ID || old.Name == m.Name || old.PeerAddr == m.PeerAddr {
			if old.ID == m.ID && old.PeerAddr == m.PeerAddr {
				return s.sm.Members(), nil
			}
			return nil, fmt.Errorf("%w: %s (%s) conflicts with member %s", ErrMemberExists, m.Name, m.PeerAddr, old.Name)
		}
	}
	// A join request's Learner flag asks for a read-only replica.
	m.ReadOnly = m.ReadOnly || m.Learner
	m.Learner = true
	cc := &pb.ConfChangeV2{
		Changes: []*pb.ConfChangeSingle{{Type: pb.ConfChangeType_ConfChangeAddLearnerNode.Enum(), NodeId: new(m.ID)}},
		Context: m.Encode(),
	}
	if err := s.confChange(ctx, cc); err != nil {
		return nil, err
	}
	s.log.Info("member joined as learner", "name", m.Name, "id", membership.IDString(m.ID), "read_only", m.ReadOnly)
	return s.sm.Members(), nil
}

// Promote makes a learner a voter.
func (s *Service) Promote(ctx context.Context, id uint64) error {
	m, ok := s.member(id)
	if !ok {
		return fmt.Errorf("%w: %s", ErrMemberNotFound, membership.IDString(id))
	}
	if !m.Learner {
		return fmt.Errorf("%w: %s", ErrNotLearner, m.Name)
	}
	m.Learner, m.ReadOnly = false, false
	cc := &pb.ConfChangeV2{
		Changes: []*pb.ConfChangeSingle{{Type: pb.ConfChangeType_ConfChangeAddNode.Enum(), NodeId: new(m.ID)}},
		Context: m.Encode(),
	}
	if err := s.confChange(ctx, cc); err != nil {
		return err
	}
	s.log.Info("member promoted to voter", "name", m.Name, "id", membership.IDString(m.ID))
	return nil
}

// Remove removes a member. Removing the leader first hands leadership to
// another voter so the cluster keeps serving.
func (s *Service) Remove(ctx context.Context, id uint64) error {
	m, ok := s.member(id)
	if !ok {
		return fmt.Errorf("%w: %s", ErrMemberNotFound, membership.IDString(id))
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if s.node.Leader() == id {
		if err := s.transferAway(ctx, id); err != nil {
			return err
		}
	}
	cc := &pb.ConfChangeV2{
		Changes: []*pb.ConfChangeSingle{{Type: pb.ConfChangeType_ConfChangeRemoveNode.Enum(), NodeId: new(id)}},
		Context: m.Encode(),
	}
	if err := s.confChange(ctx, cc); err != nil {
		return err
	}
	s.log.Info("member removed", "name", m.Name, "id", membership.IDString(id))
	return nil
}

// TransferLeadershipAway hands leadership from this node (if it leads) to
// the most caught-up voter that is reachable. Used on graceful shutdown.
func (s *Service) TransferLeadershipAway(ctx context.Context) error {
	if !s.node.IsLeader() {
		return nil
	}
	return s.transferAway(ctx, s.node.ID())
}

// transferAway moves leadership from id to the most caught-up other voter
// that the leader has heard from recently.
func (s *Service) transferAway(ctx context.Context, id uint64) error {
	st, err := s.node.Status(ctx)
	if err != nil {
		return s.translate(ctx, err)
	}
	var best, bestMatch uint64
	for _, v := range st.Voters {
		pr, ok := st.Progress[v]
		if v == id || !ok || !pr.RecentActive {
			continue
		}
		if best == 0 || pr.Match > bestMatch {
			best, bestMatch = v, pr.Match
		}
	}
	if st.Progress == nil {
		// Only the leader tracks progress. A follower names itself if it
		// can vote (it is alive and serving this request), else another
		// voter; raft forwards the transfer to the leader.
		for _, v := range st.Voters {
			if v != id && (best == 0 || v == st.ID) {
				best = v
			}
		}
	}
	if best == 0 {
		return fmt.Errorf("%w: no other reachable voter to take leadership", ErrInvalid)
	}
	return s.TransferLeader(ctx, best)
}

// TransferLeader hands leadership to the voter `to`.
func (s *Service) TransferLeader(ctx context.Context, to uint64) error {
	m, ok := s.member(to)
	if !ok {
		return fmt.Errorf("%w: %s", ErrMemberNotFound, membership.IDString(to))
	}
	if m.Learner {
		return fmt.Errorf("%w: %s is a learner and cannot lead", ErrInvalid, m.Name)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if s.node.Leader() == to {
		return nil
	}
	if err := s.node.TransferLeadership(ctx, to); err != nil {
		return s.translate(ctx, err)
	}
	return nil
}

func (s *Service) confChange(ctx context.Context, cc *pb.ConfChangeV2) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.node.ProposeConfChange(ctx, cc); err != nil {
		return s.translate(ctx, err)
	}
	return nil
}

// Status describes this node.
func (s *Service) Status(ctx context.Context) (Status, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	st, err := s.node.Status(ctx)
	if err != nil {
		return Status{}, s.translate(ctx, err)
	}
	role := map[string]string{
		"StateLeader": "leader", "StateFollower": "follower",
		"StateCandidate": "candidate", "StatePreCandidate": "pre-candidate",
	}[st.RaftState]
	if slices.Contains(st.Learners, st.ID) {
		role = "learner"
	}
	return Status{
		ID:           st.ID,
		Name:         s.cfg.Name,
		Role:         role,
		Leader:       st.Lead,
		Term:         st.Term,
		CommitIndex:  st.Commit,
		AppliedIndex: st.Applied,
		Revision:     s.sm.Revision(),
		Compacted:    s.sm.CompactRevision(),
		Members:      s.sm.Members(),
	}, nil
}

// Ready reports whether the node can serve: it knows a leader and has
// applied everything it knows to be committed.
func (s *Service) Ready(ctx context.Context) error {
	if s.node.Leader() == 0 {
		return fmt.Errorf("%w: no leader", ErrNotReady)
	}
	if applied, commit := s.node.AppliedIndex(), s.node.CommitIndex(); applied < commit {
		return fmt.Errorf("%w: applied %d of %d committed entries", ErrNotReady, applied, commit)
	}
	return nil
}

// onLeaderEvery runs fn every interval while this node leads, until the
// service or the raft node stops. Every node runs the loop; only the
// leader acts, so leadership changes need no hand-off.
func (s *Service) onLeaderEvery(interval time.Duration, fn func()) {
	defer s.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stopc:
			return
		case <-s.node.Done():
			return
		case <-t.C:
			if s.node.IsLeader() {
				fn()
			}
		}
	}
}

// A learner counts as caught up when it is this close to the leader's log.
const promoteLag = 100

func (s *Service) promoteCaughtUp() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	st, err := s.node.Status(ctx)
	if err != nil || st.Progress == nil {
		return
	}
	for _, m := range s.sm.Members() {
		if !m.Learner || m.ReadOnly {
			continue
		}
		pr, ok := st.Progress[m.ID]
		if !ok || !pr.RecentActive || pr.Match+promoteLag < st.Commit {
			continue
		}
		if err := s.Promote(ctx, m.ID); err != nil {
			s.log.Warn("auto-promotion failed", "member", m.Name, "err", err)
		}
	}
}

// compactToRetention proposes a compaction that keeps RetainRevisions of
// history (run on the leader by onLeaderEvery).
func (s *Service) compactToRetention() {
	target := s.sm.Revision() - s.cfg.RetainRevisions
	if target <= s.sm.CompactRevision() || target <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	if _, err := s.propose(ctx, &command.Request{Compact: &command.CompactRequest{Revision: target}}); err != nil {
		s.log.Warn("compaction proposal failed", "revision", target, "err", err)
		return
	}
	s.log.Info("compacted history", "revision", target)
}

// UpdateMember replaces a member's attributes (its addresses) without
// changing its raft role.
func (s *Service) UpdateMember(ctx context.Context, m membership.Member) error {
	if _, ok := s.member(m.ID); !ok {
		return fmt.Errorf("%w: %s", ErrMemberNotFound, membership.IDString(m.ID))
	}
	cc := &pb.ConfChangeV2{
		Changes: []*pb.ConfChangeSingle{{Type: pb.ConfChangeType_ConfChangeUpdateNode.Enum(), NodeId: new(m.ID)}},
		Context: m.Encode(),
	}
	return s.confChange(ctx, cc)
}
