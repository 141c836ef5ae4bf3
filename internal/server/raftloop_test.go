package server

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/raftlog"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cairndb/cairn/internal/storage"
	pb "go.etcd.io/raft/v3/raftpb"
)

// A lone voter's own append acknowledgement commits entries inside
// Advance; the raft loop must handle that follow-up Ready at once rather
// than on the next tick. With ticks effectively disabled, writes complete
// only if it does.
func TestSingleNodeCommitsWithoutTicks(t *testing.T) {
	cfg := testConfig(t.TempDir(), nil)
	cfg.TickInterval = time.Hour
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Campaign twice: the first applies the bootstrap conf change, the
	// second is accepted once nothing is pending.
	for s.Node().Leader() == 0 {
		if err := s.Node().Campaign(ctx); err != nil {
			t.Fatalf("campaign: %v", err)
		}
	}
	for i := range 200 {
		wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := s.Service().Put(wctx, &command.PutRequest{Key: []byte(fmt.Sprint("k", i)), Value: []byte("v")})
		wcancel()
		if err != nil {
			t.Fatalf("put %d: %v (applied %d, commit %d)", i, err, s.Node().AppliedIndex(), s.Node().CommitIndex())
		}
	}
}

// After a crash the applied index can exceed the persisted commit index
// (applies and commit-only hard state updates are not synced). The node
// must repair the commit index on restart instead of refusing to start.
func TestRestartWithAppliedBeyondPersistedCommit(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(context.Background(), testConfig(dir, nil))
	if err != nil {
		t.Fatal(err)
	}
	waitLeader(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 5 {
		if _, err := s.Service().Put(ctx, &command.PutRequest{Key: []byte(fmt.Sprint("k", i)), Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
	}
	applied := s.Node().AppliedIndex()
	s.Stop()

	// Rewind the persisted commit index, as a crash can leave it.
	db, err := storage.Open(filepath.Join(dir, "db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log, err := raftlog.Open(db, 0)
	if err != nil {
		t.Fatal(err)
	}
	hs, _, _ := log.InitialState()
	b := db.NewBatch()
	if err := log.SetHardState(b, &pb.HardState{Term: new(hs.GetTerm()), Vote: new(hs.GetVote()), Commit: new(applied - 3)}); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	b.Close()
	log.MarkDurable()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Start(context.Background(), testConfig(dir, nil))
	if err != nil {
		t.Fatalf("restart with applied %d > commit %d: %v", applied, applied-3, err)
	}
	defer s.Stop()
	waitLeader(t, s)
	res, _, err := s.Service().Range(ctx, &command.RangeRequest{Key: []byte("k4")}, service.ReadOptions{})
	if err != nil || len(res.KVs) != 1 {
		t.Fatalf("read after repair: %v %v", res, err)
	}
}
