package statemachine

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/cairndb/cairn/internal/storage"
	pb "go.etcd.io/raft/v3/raftpb"
)

// metaRemoved is the meta record holding the IDs of members removed from
// the group (JSON []uint64, ascending). It is written in the batch of the
// conf change that removes a member, so every replica that applied the
// removal agrees on it, and it travels in snapshots with the other meta
// records. Peers use it to refuse the raft traffic of a removed member
// that missed its own removal (see transport.RemovalHandler).
const metaRemoved = "removed"

// removedSet is an immutable set of removed member IDs, replaced (never
// mutated) by the raft goroutine after a commit.
type removedSet map[uint64]struct{}

// IsRemoved reports whether id was removed from the group by a conf change
// this replica applied (and not added again since). Safe for concurrent
// use and cheap: one atomic load and a lookup in a usually empty map.
func (sm *StateMachine) IsRemoved(id uint64) bool {
	s := sm.removed.Load()
	if s == nil || len(*s) == 0 {
		return false
	}
	_, ok := (*s)[id]
	return ok
}

// RemovedIDs returns the removed member IDs, ascending.
func (sm *StateMachine) RemovedIDs() []uint64 {
	s := sm.removed.Load()
	if s == nil {
		return nil
	}
	ids := make([]uint64, 0, len(*s))
	for id := range *s {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (sm *StateMachine) setRemoved(ids []uint64) {
	s := make(removedSet, len(ids))
	for _, id := range ids {
		s[id] = struct{}{}
	}
	sm.removed.Store(&s)
}

// updateRemoved returns the removed IDs after cc: a removed node is
// recorded; a node added again (which Service.Join refuses, so only an
// operator bypassing it could do so) is unmarked, so that peers never
// refuse a current member. changed reports whether the list changed.
func updateRemoved(ids []uint64, cc *pb.ConfChangeV2) (_ []uint64, changed bool) {
	for _, ch := range cc.GetChanges() {
		id := ch.GetNodeId()
		i, found := slices.BinarySearch(ids, id)
		switch ch.GetType() {
		case pb.ConfChangeRemoveNode:
			if !found {
				ids = slices.Insert(slices.Clone(ids), i, id)
				changed = true
			}
		case pb.ConfChangeAddNode, pb.ConfChangeAddLearnerNode:
			if found {
				ids = slices.Delete(slices.Clone(ids), i, i+1)
				changed = true
			}
		}
	}
	return ids, changed
}

func readRemoved(r storage.Reader, key []byte) ([]uint64, error) {
	var ids []uint64
	err := r.GetFunc(key, func(b []byte) error { return json.Unmarshal(b, &ids) })
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("statemachine: read removed members: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}
