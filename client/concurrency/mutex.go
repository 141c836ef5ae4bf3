package concurrency

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cairndb/cairn/client"
)

// ErrLocked is returned by TryLock when another session holds the lock.
var ErrLocked = errors.New("concurrency: mutex is locked by another session")

// waitSlice bounds one blocking acquire request, below the server's
// request timeout; Lock repeats it (keeping its place in the queue).
const waitSlice = 3 * time.Second

// Mutex is a named distributed lock held by a Session. Waiters are served
// in FIFO order. Each acquisition gets a fencing token, larger than every
// earlier one of the lock: pass it with writes (Client.Fenced) so that a
// holder that lost the lock without noticing (paused past its TTL) cannot
// overwrite the new holder's data.
type Mutex struct {
	s    *Session
	name []byte

	mu    sync.Mutex // guards token
	token int64
}

// NewMutex returns a mutex named name held through session s.
func NewMutex(s *Session, name string) *Mutex {
	return &Mutex{s: s, name: []byte(name)}
}

// Lock waits until the mutex is held or ctx is done. On failure the
// session leaves the queue.
func (m *Mutex) Lock(ctx context.Context) error {
	c := m.s.Client()
	var token int64
	for {
		if err := m.s.Err(); err != nil {
			return err
		}
		wait := waitSlice
		if d, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(d))
		}
		if wait <= 0 {
			break
		}
		r, err := c.Lock(ctx, m.name, m.s.Lease(), max(wait, time.Millisecond), true)
		switch {
		case errors.Is(err, client.ErrLeaseNotFound):
			return ErrSessionExpired
		case err != nil && ctx.Err() == nil:
			// Transient (failover): retry; the waiter keeps its place.
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
			continue
		case err != nil:
		case r.Held:
			m.mu.Lock()
			m.token = r.Token
			m.mu.Unlock()
			return nil
		default:
			token = r.Token
		}
		if ctx.Err() != nil {
			break
		}
	}
	if token != 0 {
		uctx, cancel := context.WithTimeout(context.Background(), waitSlice)
		defer cancel()
		_ = c.Unlock(uctx, m.name, token)
	}
	return fmt.Errorf("concurrency: lock %q: %w", m.name, ctx.Err())
}

// TryLock takes the mutex if it is free, else fails with ErrLocked.
func (m *Mutex) TryLock(ctx context.Context) error {
	r, err := m.s.Client().Lock(ctx, m.name, m.s.Lease(), 0, false)
	switch {
	case errors.Is(err, client.ErrLockBusy):
		return ErrLocked
	case errors.Is(err, client.ErrLeaseNotFound):
		return ErrSessionExpired
	case err != nil:
		return err
	}
	m.mu.Lock()
	m.token = r.Token
	m.mu.Unlock()
	return nil
}

// Unlock releases the mutex.
func (m *Mutex) Unlock(ctx context.Context) error {
	m.mu.Lock()
	token := m.token
	m.token = 0
	m.mu.Unlock()
	if token == 0 {
		return errors.New("concurrency: unlock of an unlocked mutex")
	}
	return m.s.Client().Unlock(ctx, m.name, token)
}

// Token returns the fencing token of the current acquisition (0 when not
// held).
func (m *Mutex) Token() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.token
}

// Name returns the lock's name.
func (m *Mutex) Name() string { return string(m.name) }

// Fenced applies ops only if this mutex's acquisition still holds the
// lock (see Client.Fenced); client.ErrFenced means it was lost.
func (m *Mutex) Fenced(ctx context.Context, ops ...client.Op) (*client.FenceResponse, error) {
	return m.s.Client().Fenced(ctx, m.name, m.Token(), ops...)
}
