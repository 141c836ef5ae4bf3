package httpapitest

import (
	"context"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
)

// History implements httpapi.HistoryService as service.Service.History
// does: the versions of key's current life, newest first, down to the
// compaction horizon.
func (s *Service) History(ctx context.Context, key []byte, rev int64, limit int, o service.ReadOptions) ([]*command.KeyValue, int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.beginLocked("History"); err != nil {
		return nil, 0, false, err
	}
	if err := validateKey(key); err != nil {
		return nil, 0, false, err
	}
	if rev > s.rev {
		return nil, s.rev, false, fmt.Errorf("%w: revision %d, current revision %d", service.ErrFutureRevision, rev, s.rev)
	}
	readRev := s.rev
	if rev > 0 {
		readRev = rev
	}
	if readRev < s.compacted {
		return nil, readRev, false, fmt.Errorf("%w: revision %d", service.ErrCompacted, readRev)
	}
	if limit <= 0 || limit > service.MaxHistory {
		limit = service.MaxHistory
	}
	kvs, more, _ := service.WalkHistory(readRev, limit, func(at int64, _ bool) (*command.KeyValue, error) {
		if at < s.compacted {
			return nil, nil
		}
		return s.getLocked(string(key), at), nil
	})
	return kvs, readRev, more, nil
}
