package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"go.starlark.net/starlark"
)

// DBLockName is the name of the database-wide lock of db.lock(): an
// ordinary named lock (docs/LEASES.md), so a program can take the same
// lock through the lock API to cooperate with shells.
const DBLockName = "db"

// DefaultLockTimeout is how long db.lock() waits unless told; it is also
// bounded by the request's deadline.
const DefaultLockTimeout = 10 * time.Second

// ErrNoSession is raised by db.lock() and friends when the run has no
// lease (Options.Lease) to hold the lock with.
var ErrNoSession = errors.New("db.lock() needs a session: use cairn shell or pass a lease")

// Locker is implemented by a Store that supports db.lock(), db.unlock()
// and db.locked(). Its locks are held by leases and served FIFO.
type Locker interface {
	// Lock queues lease as a waiter of lock name and waits up to wait for
	// it (0: only if free); it returns the holder's fencing token. The
	// same lease locking again gets its existing token. A waiter that
	// gives up leaves the queue.
	Lock(ctx context.Context, name string, lease int64, wait time.Duration) (token int64, err error)
	// Unlock removes the waiter token (the holder or a waiter).
	Unlock(ctx context.Context, name string, token int64) error
	// LockHolder returns the holder's token and lease (linearizable); ok
	// is false when the lock is free.
	LockHolder(ctx context.Context, name string) (token, lease int64, ok bool, err error)
}

// dbLock is the database lock state of one Run, kept across the attempts
// of a script that conflicts: lock acquisitions act at once (and are
// idempotent per lease), releases are deferred until the run ends, after
// the script's commit, so whoever takes the lock next sees its writes.
type dbLock struct {
	store Store
	lease int64
	// release is the token to release when the run ends (0: none); each
	// attempt starts with none.
	release int64
}

// end releases the lock if the script asked for it, after its commit.
// A failed release after a commit is reported in the output (the writes
// are committed); otherwise it fails the run.
func (l *dbLock) end(ctx context.Context, res *Result, err error) (*Result, error) {
	if l.release == 0 {
		return res, err
	}
	lk := l.store.(Locker) // release is only set when the store is one
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	uerr := lk.Unlock(rctx, DBLockName, l.release)
	switch {
	case uerr == nil || err != nil:
		return res, err
	case res != nil && res.Committed:
		res.Output += fmt.Sprintf("warning: the writes committed, but releasing the database lock failed (call db.unlock() again): %v\n", uerr)
		return res, nil
	}
	return nil, fmt.Errorf("query: releasing the database lock: %w", uerr)
}

// locker returns the store's Locker for method name, or the error to raise.
func (d *DB) locker(name string) (Locker, error) {
	lk, ok := d.tx.store.(Locker)
	switch {
	case !ok:
		return nil, fmt.Errorf("db.%s: locks are %w on this server", name, ErrNotAvailable)
	case d.tx.readOnly || d.lock == nil:
		return nil, fmt.Errorf("db.%s: %w (locking needs a script that may write)", name, ErrReadOnly)
	case d.lock.lease == 0:
		return nil, fmt.Errorf("db.%s: %w", name, ErrNoSession)
	}
	return lk, nil
}

// lockWait converts a timeout argument (None, or seconds) into how long to
// wait, bounded by the run's deadline less a margin to commit in.
func (d *DB) lockWait(name string, timeout starlark.Value) (time.Duration, error) {
	wait := DefaultLockTimeout
	if timeout != nil && timeout != starlark.None {
		secs, ok := starlark.AsFloat(timeout)
		if !ok || math.IsNaN(secs) || secs < 0 || secs > 1e6 {
			return 0, fmt.Errorf("db.%s: timeout must be a number of seconds >= 0, not %s", name, timeout)
		}
		wait = time.Duration(secs * float64(time.Second))
	}
	if dl, ok := d.tx.ctx.Deadline(); ok {
		left := time.Until(dl)
		left -= min(time.Second, left/5)
		wait = max(0, min(wait, left))
	}
	return wait, nil
}

// holds reports whether the run's lease holds the lock, and its token.
func (d *DB) holds(lk Locker) (int64, bool, error) {
	token, lease, ok, err := lk.LockHolder(d.tx.ctx, DBLockName)
	if err != nil {
		return 0, false, d.tx.fail(err)
	}
	return token, ok && lease == d.lock.lease, nil
}

// acquire takes the lock (or finds it already held) and cancels a
// pending release.
func (d *DB) acquire(name string, lk Locker, timeout starlark.Value) (int64, error) {
	wait, err := d.lockWait(name, timeout)
	if err != nil {
		return 0, err
	}
	token, err := lk.Lock(d.tx.ctx, DBLockName, d.lock.lease, wait)
	if err != nil {
		return 0, d.tx.fail(fmt.Errorf("db.%s: database lock not acquired within %v: %w", name, wait, err))
	}
	if d.lock.release == token {
		d.lock.release = 0
	}
	return token, nil
}

// db.lock(timeout=None) takes the database lock for the run's session
// and returns its fencing token. It waits, in FIFO order, up to timeout
// seconds (default 10, bounded by the request's deadline). Locking again
// while holding it returns the same token.
func dbLockMethod(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var timeout starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "timeout?", &timeout); err != nil {
		return nil, err
	}
	d := receiver(b)
	lk, err := d.locker(b.Name())
	if err != nil {
		return nil, err
	}
	token, err := d.acquire(b.Name(), lk, timeout)
	if err != nil {
		return nil, err
	}
	return starlark.MakeInt64(token), nil
}

// db.unlock() releases the database lock the session holds, when the
// script ends (after its commit). It fails if the session does not hold
// it.
func dbUnlock(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	d := receiver(b)
	lk, err := d.locker(b.Name())
	if err != nil {
		return nil, err
	}
	token, held, err := d.holds(lk)
	if err != nil {
		return nil, err
	}
	if !held || d.lock.release == token {
		return nil, errors.New("db.unlock: this session does not hold the database lock")
	}
	d.lock.release = token
	return starlark.None, nil
}

// db.locked(fn, timeout=None) calls fn() holding the database lock and
// returns its value. It releases the lock when the script ends (after its
// commit), also when fn fails, unless the session held it before.
func dbLocked(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Callable
	var timeout starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "fn", &fn, "timeout?", &timeout); err != nil {
		return nil, err
	}
	d := receiver(b)
	lk, err := d.locker(b.Name())
	if err != nil {
		return nil, err
	}
	held, heldBefore, err := d.holds(lk)
	if err != nil {
		return nil, err
	}
	heldBefore = heldBefore && d.lock.release != held // not if db.unlock() was called
	token, err := d.acquire(b.Name(), lk, timeout)
	if err != nil {
		return nil, err
	}
	v, err := starlark.Call(thread, fn, nil, nil)
	if !heldBefore {
		d.lock.release = token
	}
	return v, err
}
