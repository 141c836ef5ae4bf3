package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/statemachine"
)

// MaxHistory bounds the versions one History call returns.
const MaxHistory = 1000

// History returns the versions of key, newest first, as of revision rev
// (0: the latest the read observes): those of its current life (back to
// its creation, or the delete before it) that retention still keeps, at
// most limit of them (0 or more than MaxHistory: MaxHistory). more reports
// that the limit cut the list short of the key's creation. It is what
// db.history(key) returns inside a script (package query), without one.
// readRev is the revision the walk started from.
func (s *Service) History(ctx context.Context, key []byte, rev int64, limit int, o ReadOptions) (kvs []*command.KeyValue, readRev int64, more bool, err error) {
	if err := validateKey(key); err != nil {
		return nil, 0, false, err
	}
	if rev < 0 {
		return nil, 0, false, fmt.Errorf("%w: negative revision", ErrInvalid)
	}
	if limit <= 0 || limit > MaxHistory {
		limit = MaxHistory
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.readBarrier(ctx, o); err != nil {
		return nil, 0, false, err
	}
	readRev = s.sm.Revision()
	if rev > readRev {
		return nil, readRev, false, fmt.Errorf("%w: revision %d, current revision %d", ErrFutureRevision, rev, readRev)
	}
	if rev > 0 {
		readRev = rev
	}
	kvs, more, err = WalkHistory(readRev, limit, func(at int64, first bool) (*command.KeyValue, error) {
		kv, _, err := s.sm.Get(key, at)
		if errors.Is(err, statemachine.ErrCompacted) && !first {
			return nil, nil // older versions are beyond retention
		}
		if err != nil {
			return nil, translateRead(err)
		}
		return kv, nil
	})
	return kvs, readRev, more, err
}

// WalkHistory collects a key's versions newest first from revision
// readRev: get(at, first) returns the version live at revision at (nil
// ends the walk; first is true for the first call). The walk stops at the
// key's creation (version 1), or after limit versions with more set.
func WalkHistory(readRev int64, limit int, get func(at int64, first bool) (*command.KeyValue, error)) (kvs []*command.KeyValue, more bool, err error) {
	for at := readRev; at > 0; {
		kv, err := get(at, len(kvs) == 0)
		if err != nil {
			return nil, false, err
		}
		if kv == nil {
			break
		}
		if len(kvs) == limit {
			return kvs, true, nil
		}
		kvs = append(kvs, kv)
		if kv.Version <= 1 {
			break // its creation
		}
		at = kv.ModRevision - 1
	}
	return kvs, false, nil
}
