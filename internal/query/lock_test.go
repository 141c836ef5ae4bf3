package query

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var errBusy = errors.New("lock busy")

// lockStore is a memStore with a FIFO lock table (one lock per name,
// held by leases), recording commits and unlocks in order.
type lockStore struct {
	*memStore
	mu      sync.Mutex
	waiters map[string][][2]int64 // name -> (token, lease), FIFO
	next    int64
	changed chan struct{}
	events  []string
}

func newLockStore() *lockStore {
	ls := &lockStore{memStore: newMemStore(), waiters: map[string][][2]int64{}, next: 100, changed: make(chan struct{})}
	ls.beforeCommit = func() { ls.event("commit") }
	return ls
}

func (l *lockStore) event(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *lockStore) takeEvents() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.events
	l.events = nil
	return e
}

func (l *lockStore) Lock(ctx context.Context, name string, lease int64, wait time.Duration) (int64, error) {
	l.mu.Lock()
	token := int64(0)
	for _, w := range l.waiters[name] {
		if w[1] == lease {
			token = w[0]
		}
	}
	if token == 0 {
		l.next++
		token = l.next
		l.waiters[name] = append(l.waiters[name], [2]int64{token, lease})
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if l.waiters[name][0][0] == token {
			l.mu.Unlock()
			return token, nil
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
			l.mu.Lock()
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		_ = l.Unlock(context.Background(), name, token)
		return 0, errBusy
	}
}

func (l *lockStore) Unlock(ctx context.Context, name string, token int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, "unlock")
	l.waiters[name] = slices.DeleteFunc(l.waiters[name], func(w [2]int64) bool { return w[0] == token })
	close(l.changed)
	l.changed = make(chan struct{})
	return nil
}

func (l *lockStore) LockHolder(ctx context.Context, name string) (int64, int64, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.waiters[name]) == 0 {
		return 0, 0, false, nil
	}
	w := l.waiters[name][0]
	return w[0], w[1], true, nil
}

func (l *lockStore) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.waiters[DBLockName])
}

// holder returns the lease holding the db lock, 0 when it is free.
func (l *lockStore) holder(t *testing.T) int64 {
	t.Helper()
	_, lease, _, _ := l.LockHolder(context.Background(), DBLockName)
	return lease
}

func runLease(st Store, lease int64, script string) (string, error) {
	res, err := Run(context.Background(), st, script, Options{Lease: lease})
	if err != nil {
		return "", err
	}
	return string(res.Value), nil
}

func TestLockNeeds(t *testing.T) {
	ls := newLockStore()
	for _, tc := range []struct {
		st    Store
		opts  Options
		want  string
		isErr error
	}{
		{ls, Options{}, "needs a session: use cairn shell or pass a lease", ErrScript},
		{newMemStore(), Options{Lease: 1}, "locks are not available", ErrNotAvailable},
		{ls, Options{Lease: 1, ReadOnly: true}, "read-only", ErrReadOnly},
	} {
		for _, script := range []string{"db.lock()", "db.unlock()", "db.locked(lambda: 1)"} {
			_, err := Run(context.Background(), tc.st, script, tc.opts)
			if err == nil || !errors.Is(err, tc.isErr) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s with %+v: got %v, want %q", script, tc.opts, err, tc.want)
			}
		}
	}
	if _, err := runLease(ls, 1, "db.lock(timeout=-1)"); err == nil || !strings.Contains(err.Error(), "timeout must be") {
		t.Errorf("negative timeout: %v", err)
	}
	if h := ls.holder(t); h != 0 {
		t.Fatalf("lock held by %d after failed scripts", h)
	}
}

func TestLockUnlock(t *testing.T) {
	ls := newLockStore()
	tok, err := runLease(ls, 1, "db.lock()")
	if err != nil || tok != "101" {
		t.Fatalf("lock: %q %v", tok, err)
	}
	// Idempotent per lease; the same lease may unlock in a later script.
	if again, err := runLease(ls, 1, "db.lock(timeout=0)"); err != nil || again != tok {
		t.Fatalf("lock again: %q %v", again, err)
	}
	// Another session gives up after its timeout, and leaves the queue.
	start := time.Now()
	if _, err := runLease(ls, 2, "db.lock(timeout=0.05)"); !errors.Is(err, errBusy) || !strings.Contains(err.Error(), "not acquired within 50ms") {
		t.Fatalf("second session: %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("gave up after %v", d)
	}
	if _, err := runLease(ls, 2, "db.unlock()"); err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Fatalf("unlock by another session: %v", err)
	}
	// Sessions without the lock read and write freely.
	if _, err := runLease(ls, 0, "db['free'] = 1"); err != nil {
		t.Fatal(err)
	}
	ls.takeEvents()
	// The release follows the commit of the script's writes.
	if _, err := runLease(ls, 1, "db['x'] = 1\ndb.unlock()\ndb['y'] = 2"); err != nil {
		t.Fatal(err)
	}
	if ev := ls.takeEvents(); !slices.Equal(ev, []string{"commit", "unlock"}) {
		t.Fatalf("events %v", ev)
	}
	if h := ls.holder(t); h != 0 {
		t.Fatalf("held by %d after unlock", h)
	}
	if _, err := runLease(ls, 1, "db.unlock()"); err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Fatalf("second unlock: %v", err)
	}
	// Unlock then lock again in one script keeps it; unlocking twice fails.
	if _, err := runLease(ls, 1, "t = db.lock()\ndb.unlock()\nt == db.lock()"); err != nil {
		t.Fatal(err)
	}
	if h := ls.holder(t); h != 1 {
		t.Fatalf("holder %d, want 1", h)
	}
	if _, err := runLease(ls, 1, "db.unlock()\ndb.unlock()"); err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Fatalf("double unlock: %v", err)
	}
	// The script failed, but db.unlock() was called: the lock is released.
	if h := ls.holder(t); h != 0 {
		t.Fatalf("held by %d after a failed script that unlocked", h)
	}
	if _, err := runLease(ls, 1, "db.lock()"); err != nil {
		t.Fatal(err)
	}
	// The second session waiting for the lock gets it when it is released.
	got := make(chan error, 1)
	go func() {
		_, err := runLease(ls, 2, "db.lock(timeout=5)")
		got <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for ls.queued() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // wait until the second session is queued
	}
	if _, err := runLease(ls, 1, "db.unlock()"); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil || ls.holder(t) != 2 {
		t.Fatalf("waiter: %v, holder %d", err, ls.holder(t))
	}
}

func TestLocked(t *testing.T) {
	ls := newLockStore()
	ls.put("x", "1", 1)
	if v, err := runLease(ls, 1, "db.locked(lambda: db['x'] + 1)"); err != nil || v != "2" {
		t.Fatalf("locked: %q %v", v, err)
	}
	if h := ls.holder(t); h != 0 {
		t.Fatalf("held by %d after db.locked", h)
	}
	// fn fails: the lock is released anyway and nothing is written.
	ls.takeEvents()
	_, err := runLease(ls, 1, "def f():\n  db['x'] = 5\n  fail('boom')\ndb.locked(f)")
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("failing fn: %v", err)
	}
	if ev := ls.takeEvents(); !slices.Equal(ev, []string{"unlock"}) || ls.holder(t) != 0 {
		t.Fatalf("events %v, holder %d", ev, ls.holder(t))
	}
	if v, _ := runLease(ls, 0, "db['x']"); v != "1" {
		t.Fatalf("x = %s after a failed script", v)
	}
	// Writes in fn commit before the release.
	if _, err := runLease(ls, 1, "def g():\n  db['x'] = 7\ndb.locked(g, timeout=1)"); err != nil {
		t.Fatal(err)
	}
	if ev := ls.takeEvents(); !slices.Equal(ev, []string{"commit", "unlock"}) {
		t.Fatalf("events %v", ev)
	}
	// Reentrant: a lock held before db.locked stays held.
	if _, err := runLease(ls, 1, "db.lock()\ndb.locked(lambda: 1)"); err != nil {
		t.Fatal(err)
	}
	if h := ls.holder(t); h != 1 {
		t.Fatalf("holder %d, want 1", h)
	}
	// Another session's db.locked fails while it is held.
	if _, err := runLease(ls, 2, "db.locked(lambda: 1, timeout=0)"); !errors.Is(err, errBusy) {
		t.Fatalf("locked by another session: %v", err)
	}
	if _, err := runLease(ls, 1, "db.unlock()\ndb.locked(lambda: 1)"); err != nil {
		t.Fatal(err)
	}
	if h := ls.holder(t); h != 0 {
		t.Fatalf("held by %d after unlock + locked", h)
	}
}

// TestUnlockConflict: a script that unlocks and conflicts runs again
// holding the lock, and releases it once, after the commit that succeeds.
func TestUnlockConflict(t *testing.T) {
	ls := newLockStore()
	ls.put("n", "0", 1)
	if _, err := runLease(ls, 1, "db.lock()"); err != nil {
		t.Fatal(err)
	}
	conflicts := 2
	ls.beforeCommit = func() {
		ls.event("commit")
		if conflicts > 0 {
			conflicts--
			ls.put("n", "10", 1)
		}
	}
	res, err := Run(context.Background(), ls, "db['n'] += 1\ndb.unlock()", Options{Lease: 1})
	if err != nil || res.Attempts != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	if ev := ls.takeEvents(); !slices.Equal(ev, []string{"commit", "commit", "commit", "unlock"}) {
		t.Fatalf("events %v", ev)
	}
	if v, _ := runLease(ls, 0, "db['n']"); v != "11" || ls.holder(t) != 0 {
		t.Fatalf("n = %s, holder %d", v, ls.holder(t))
	}
}
