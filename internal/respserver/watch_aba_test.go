package respserver_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cairndb/cairn/internal/testcluster"
	"github.com/redis/go-redis/v9"
)

// TestWatchABA: with go-redis on a cluster, a watched key that changes
// between WATCH and EXEC, through another node, and ends up as it was
// (missing, then created and deleted; or deleted and recreated with the
// same value) aborts EXEC, as in Redis; a change of another key does not.
func TestWatchABA(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{})
	rdbs := clients(t, c, 3)
	ctx := context.Background()
	mine, other := rdbs[0], rdbs[1]
	for _, tc := range []struct {
		name    string
		setup   []string // SET these keys to "v" before WATCH
		meddle  [][]any  // commands another client runs between WATCH and EXEC
		aborted bool
	}{
		{name: "missing, created and deleted",
			meddle: [][]any{{"set", "aba", "1"}, {"del", "aba"}}, aborted: true},
		{name: "deleted and recreated", setup: []string{"aba"},
			meddle: [][]any{{"del", "aba"}, {"set", "aba", "v"}}, aborted: true},
		{name: "another key changed", setup: []string{"aba"},
			meddle: [][]any{{"set", "aba-other", "1"}, {"del", "aba-other"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range tc.setup {
				if err := mine.Set(ctx, k, "v", 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			err := mine.Watch(ctx, func(tx *redis.Tx) error {
				for _, cmd := range tc.meddle {
					if err := other.Do(ctx, cmd...).Err(); err != nil {
						return err
					}
				}
				_, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
					pipe.Set(ctx, "aba-result", tc.name, 0)
					return nil
				})
				return err
			}, "aba")
			switch {
			case tc.aborted && !errors.Is(err, redis.TxFailedErr):
				t.Fatalf("EXEC: %v, want an aborted EXEC", err)
			case !tc.aborted && err != nil:
				t.Fatalf("EXEC: %v", err)
			}
			if err := mine.Del(ctx, "aba").Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
