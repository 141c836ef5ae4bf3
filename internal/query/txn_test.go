package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairndb/cairn/internal/command"
)

// TestConflictRetries forces a concurrent write between a script's read
// and its commit: the commit fails its compare, the script runs again at
// the new revision and the increment is not lost.
func TestConflictRetries(t *testing.T) {
	st := newMemStore()
	run(t, st, nil, "db['n'] = 0")
	first := true
	st.beforeCommit = func() {
		if first {
			first = false
			st.put("n", "10", 1)
		}
	}
	res, err := Run(context.Background(), st, "db['n'] += 1\ndb['n']", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || string(res.Value) != "11" || !res.Committed {
		t.Fatalf("attempts %d value %s committed %v", res.Attempts, res.Value, res.Committed)
	}
	st.beforeCommit = func() { st.put("n", "0", 1) }
	_, err = Run(context.Background(), st, "db['n'] += 1", Options{MaxAttempts: 3})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("want ErrConflict, got %v", err)
	}
}

// TestKeyListingConflicts: a script that listed the keyspace conflicts
// with a concurrent delete of a listed key.
func TestKeyListingConflicts(t *testing.T) {
	st := newMemStore()
	run(t, st, nil, "db['a'] = 1\ndb['b'] = 2")
	first := true
	st.beforeCommit = func() {
		if first {
			first = false
			st.commit(delTxn("b"))
		}
	}
	res, err := Run(context.Background(), st, "db['count'] = len(db)", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 {
		t.Fatalf("attempts %d", res.Attempts)
	}
	if got, _ := run(t, st, nil, "db['count']"); got != "1" {
		t.Fatalf("count = %s", got)
	}
}

// TestSerializable runs concurrent read-increment-write scripts and
// transfers; every increment lands exactly once and transfers keep the
// total, while scripts that fail commit nothing.
func TestSerializable(t *testing.T) {
	st := newMemStore()
	run(t, st, nil, "db['n'] = 0\ndb['a'] = 100\ndb['b'] = 100")
	// Goroutines may happen not to overlap (one core), so force one
	// conflict: before the first script commits, another client rewrites
	// n with the value it holds (a compare-and-swap, so no increment is
	// lost). That script has read n, so its commit fails and it retries.
	var touch sync.Once
	st.beforeCommit = func() {
		touch.Do(func() {
			for {
				st.mu.Lock()
				kv := st.at("n", st.rev)
				st.mu.Unlock()
				res, err := st.commit(&command.TxnRequest{
					Compares: []command.Compare{{Key: []byte("n"), Target: command.CompareModRevision, Result: command.CompareEqual, Int: kv.ModRevision}},
					Success:  []command.TxnOp{{Put: &command.PutRequest{Key: []byte("n"), Value: kv.Value, Type: kv.Type}}},
				})
				if err != nil {
					panic(err)
				}
				if res.Txn.Succeeded {
					return
				}
			}
		})
	}
	var attempts atomic.Int64
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				script := "db['n'] += 1\nx = db['a']\ndb['a'] = x - 1\ndb['b'] += 1"
				if (w+i)%5 == 0 {
					script = "db['n'] += 100\nfail('no')" // commits nothing
				}
				res, err := Run(context.Background(), st, script, Options{MaxAttempts: 1000})
				if err != nil && (w+i)%5 != 0 {
					errs <- fmt.Errorf("worker %d: %w", w, err)
				}
				if err == nil {
					attempts.Add(int64(res.Attempts))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ok := workers * each * 4 / 5
	want := fmt.Sprintf(`[%d, %d, 200]`, ok, ok)
	if got, _ := run(t, st, nil, "[db['n'], db['b'] - 100, db['a'] + db['b']]"); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if retries := attempts.Load() - int64(ok); retries <= 0 || st.conflict == 0 {
		t.Fatalf("%d retries, %d conflicts: the forced conflict did not retry", retries, st.conflict)
	}
	t.Logf("%d commits, %d conflicts", st.commits, st.conflict)
}

// TestPhantomDetected: a script lists keys and writes what it counted; a
// key created by another client between its read and its commit (a
// phantom: it was not in the listing, so no per-key compare can see it)
// makes the commit fail, and the script runs again and counts it.
func TestPhantomDetected(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		create       string // created between the first run's read and its commit
		attempts     int
		want         string
	}{
		{"len", "db['count'] = len([k for k in db if k != 'count'])", "item/c", 2, "3"},
		{"for", "n = 0\nfor k in db:\n  if k.startswith('item/'):\n    n += 1\ndb['count'] = n", "item/c", 2, "3"},
		{"prefix", "db['count'] = len(db.keys('item/'))", "item/c", 2, "3"},
		{"items", "db['count'] = len(db.items('item/'))", "item/c", 2, "3"},
		{"outside the prefix", "db['count'] = len(db.keys('item/'))", "other", 1, "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore()
			run(t, st, nil, "db['item/a'] = 1\ndb['item/b'] = 2")
			first := true
			st.beforeCommit = func() {
				if first {
					first = false
					st.put(tc.create, "x", 0)
				}
			}
			res, err := Run(context.Background(), st, tc.script, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Attempts != tc.attempts {
				t.Errorf("attempts %d, want %d", res.Attempts, tc.attempts)
			}
			st.beforeCommit = nil
			if got, _ := run(t, st, nil, "db['count']"); got != tc.want {
				t.Errorf("count = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestPhantomCreateDelete: a key created and deleted again under a listed
// prefix between the read and the commit also fails the commit (the
// keyspace changed meanwhile, even if it looks the same at commit).
func TestPhantomCreateDelete(t *testing.T) {
	st := newMemStore()
	run(t, st, nil, "db['item/a'] = 1")
	first := true
	st.beforeCommit = func() {
		if first {
			first = false
			st.put("item/z", "x", 0)
			st.commit(delTxn("item/z"))
		}
	}
	res, err := Run(context.Background(), st, "db['count'] = len(db.keys('item/'))", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 {
		t.Fatalf("attempts %d, want 2", res.Attempts)
	}
}

// TestListingOneCompare: a listing is one range compare, whatever the
// number of keys, and covers the keys read under it: a writing script may
// list and read more keys than the compare limit.
func TestListingOneCompare(t *testing.T) {
	st := newMemStore()
	const n = 1500
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "db['k%04d'] = %d\n", i, i)
	}
	if _, err := Run(context.Background(), st, b.String(), Options{MaxTxnKeys: 2 * n}); err != nil {
		t.Fatal(err)
	}
	var txn *command.TxnRequest
	store := &recordingStore{memStore: st, last: &txn}
	res, err := Run(context.Background(), store, "s = 0\nfor v in db.values('k'):\n  s += v\ndb['sum'] = s\ndb['n'] = len(db)", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Committed || len(txn.Compares) != 1 {
		t.Fatalf("committed %v with %d compares", res.Committed, len(txn.Compares))
	}
	c := txn.Compares[0]
	if c.Target != command.CompareUnchangedSince || string(c.Key) != "\x00" || string(c.Value) != "\x00" || c.Int != res.Revision-1 {
		t.Fatalf("compare %+v", c)
	}
	// len(db) counted the new "sum".
	if got, _ := run(t, st, nil, "[db['n'], db['sum']]"); got != fmt.Sprintf("[%d, %d]", n+1, n*(n-1)/2) {
		t.Fatalf("got %s", got)
	}
}

// recordingStore keeps the last txn committed through it.
type recordingStore struct {
	*memStore
	last **command.TxnRequest
}

func (r *recordingStore) Commit(ctx context.Context, t *command.TxnRequest) (*command.Result, error) {
	*r.last = t
	return r.memStore.Commit(ctx, t)
}
