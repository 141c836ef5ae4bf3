package query

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/cairndb/cairn/internal/command"
)

// countingStore records the reads a script makes.
type countingStore struct {
	*memStore
	mu    sync.Mutex
	gets  []string // keys, in call order
	lists int
}

func (c *countingStore) Get(ctx context.Context, key []byte, rev int64) (*command.KeyValue, error) {
	c.mu.Lock()
	c.gets = append(c.gets, string(key))
	c.mu.Unlock()
	return c.memStore.Get(ctx, key, rev)
}

func (c *countingStore) Keys(ctx context.Context, start, end []byte, rev int64, limit int) ([]*command.KeyValue, bool, error) {
	c.mu.Lock()
	c.lists++
	c.mu.Unlock()
	return c.memStore.Keys(ctx, start, end, rev, limit)
}

// TestLazyReads: a script fetches only the keys it touches, once each, and
// lists the keyspace only when it iterates or measures db.
func TestLazyReads(t *testing.T) {
	ms := newMemStore()
	run(t, ms, nil, "db['x'] = 3\ndb['l'] = list(range(10))\ndb['other'] = {'big': 'x' * 1000}\ndb['y'] = 'a'")
	for _, c := range []struct {
		script string
		gets   []string
		lists  int
	}{
		{"db['x']", []string{"x"}, 0},
		{"'x' in db", []string{"x"}, 0},
		{"'nope' in db", []string{"nope"}, 0},
		{"db['l'][4]", []string{"l"}, 0},
		{"db['l'][4] + db['l'][5] + db['x']", []string{"l", "x"}, 0},
		{"db.get('y', 1)", []string{"y"}, 0},
		{"len(db['l'])", []string{"l"}, 0},
		{"len(db)", nil, 1},
		{"[k for k in db]", nil, 1},
	} {
		cs := &countingStore{memStore: ms}
		if _, err := Run(context.Background(), cs, c.script, Options{}); err != nil {
			t.Fatalf("%s: %v", c.script, err)
		}
		if !slices.Equal(cs.gets, c.gets) || cs.lists != c.lists {
			t.Errorf("%s: gets %q, %d listings; want %q, %d", c.script, cs.gets, cs.lists, c.gets, c.lists)
		}
	}
}
