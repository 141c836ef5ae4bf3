package statemachine

import (
	"bytes"
	"slices"
	"testing"

	"github.com/cairndb/cairn/internal/raftnode"
	pb "go.etcd.io/raft/v3/raftpb"
)

func (e *env) confEntry(typ pb.ConfChangeType, node uint64) raftnode.Entry {
	ent := e.entry()
	ent.ConfChange = &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{{Type: new(typ), NodeId: new(node)}}}
	ent.ConfState = &pb.ConfState{Voters: []uint64{1}}
	return ent
}

func checkRemoved(t *testing.T, sm *StateMachine, want ...uint64) {
	t.Helper()
	if got := sm.RemovedIDs(); !slices.Equal(got, want) {
		t.Fatalf("removed IDs %v, want %v", got, want)
	}
	for id := uint64(1); id <= 5; id++ {
		if sm.IsRemoved(id) != slices.Contains(want, id) {
			t.Fatalf("IsRemoved(%d) = %v", id, sm.IsRemoved(id))
		}
	}
}

// TestRemovedIDs: a removal is recorded with the conf change, survives a
// restart and a snapshot, and is undone only by adding the ID again.
func TestRemovedIDs(t *testing.T) {
	e := newEnv(t)
	checkRemoved(t, e.sm)
	e.apply(e.confEntry(pb.ConfChangeAddNode, 1), e.confEntry(pb.ConfChangeAddNode, 2),
		e.confEntry(pb.ConfChangeAddNode, 3), e.confEntry(pb.ConfChangeAddLearnerNode, 4))
	checkRemoved(t, e.sm)
	// Removed before OnMembers reports the change (the server refuses the
	// removed peer as soon as it forgets it).
	e.apply(e.confEntry(pb.ConfChangeRemoveNode, 3))
	checkRemoved(t, e.sm, 3)
	e.apply(e.confEntry(pb.ConfChangeRemoveNode, 4), e.confEntry(pb.ConfChangeRemoveNode, 3))
	checkRemoved(t, e.sm, 3, 4)

	e.close()
	e.open()
	checkRemoved(t, e.sm, 3, 4)

	stream, index := snapshotBytes(t, e)
	dst := newEnv(t)
	dst.restoreStream(t, bytes.NewReader(stream), index)
	checkRemoved(t, dst.sm, 3, 4)

	// Adding an ID again (Service.Join refuses it; raft would not) unmarks
	// it, so no peer refuses a current member.
	e.apply(e.confEntry(pb.ConfChangeAddLearnerNode, 4))
	checkRemoved(t, e.sm, 3)
	e.close()
	e.open()
	checkRemoved(t, e.sm, 3)
}
