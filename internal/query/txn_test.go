package query

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
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
				_, err := Run(context.Background(), st, script, Options{MaxAttempts: 1000})
				if err != nil && (w+i)%5 != 0 {
					errs <- fmt.Errorf("worker %d: %w", w, err)
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
	t.Logf("%d commits, %d conflicts", st.commits, st.conflict)
}
