package server

import (
	"context"
	"time"

	"github.com/cairndb/cairn/internal/membership"
)

// publishAttributes makes the cluster's member list carry this node's
// current client addresses. Bootstrap conf changes must be identical on
// every node, so they hold only names and peer addresses; each node then
// proposes an UpdateNode change with its HTTP and RESP addresses (and again
// after a restart on new addresses). It retries until it succeeds or the
// server stops.
func (s *Server) publishAttributes() {
	defer s.wg.Done()
	for {
		cur, ok := s.currentSelf()
		if ok && cur.HTTPAddr == s.self.HTTPAddr && cur.RESPAddr == s.self.RESPAddr {
			return
		}
		if ok && s.node.Leader() != 0 {
			want := cur
			want.HTTPAddr, want.RESPAddr = s.self.HTTPAddr, s.self.RESPAddr
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := s.svc.UpdateMember(ctx, want)
			cancel()
			if err == nil {
				return
			}
			s.log.Debug("publishing member attributes failed; will retry", "err", err)
		}
		select {
		case <-s.stopc:
			return
		case <-s.removed:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// currentSelf is this node's entry in the applied member list.
func (s *Server) currentSelf() (membership.Member, bool) {
	for _, m := range s.sm.Members() {
		if m.ID == s.self.ID {
			return m, true
		}
	}
	return membership.Member{}, false
}
