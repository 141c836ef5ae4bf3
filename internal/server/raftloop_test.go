package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
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
