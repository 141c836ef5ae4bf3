// Package concurrency builds distributed coordination on Cairn's leases
// and locks, in the style of etcd's clientv3/concurrency: a Session is a
// lease kept alive in the background, a Mutex a named lock held by a
// session (with a fencing token), an Election a leader election among
// sessions.
//
// A session that stops renewing (its process died or stalled) loses its
// lease after the TTL; its locks pass to the next waiter and writes
// fenced with its tokens are refused. See docs/LEASES.md.
package concurrency

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cairndb/cairn/client"
)

// DefaultTTL is the TTL of a session's lease unless WithTTL.
const DefaultTTL = 10 * time.Second

// ErrSessionExpired is returned by operations on a session whose lease is
// gone (it expired or was revoked).
var ErrSessionExpired = errors.New("concurrency: session expired")

// Session is a lease kept alive by a background goroutine until Close or
// until the lease is lost.
type Session struct {
	c      *client.Client
	id     int64
	ttl    time.Duration
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex // guards err
	err error      // why the session ended
}

type sessionOptions struct {
	ttl   time.Duration
	lease int64
	ctx   context.Context
}

// SessionOption configures NewSession.
type SessionOption func(*sessionOptions)

// WithTTL sets the session lease's TTL.
func WithTTL(ttl time.Duration) SessionOption { return func(o *sessionOptions) { o.ttl = ttl } }

// WithLease uses an existing lease instead of granting one.
func WithLease(id int64) SessionOption { return func(o *sessionOptions) { o.lease = id } }

// WithContext bounds the session: when ctx is done, keep-alives stop.
func WithContext(ctx context.Context) SessionOption { return func(o *sessionOptions) { o.ctx = ctx } }

// NewSession grants a lease (or adopts one) and keeps it alive.
func NewSession(c *client.Client, opts ...SessionOption) (*Session, error) {
	o := sessionOptions{ttl: DefaultTTL, ctx: context.Background()}
	for _, f := range opts {
		f(&o)
	}
	id := o.lease
	if id == 0 {
		r, err := c.Grant(o.ctx, o.ttl)
		if err != nil {
			return nil, err
		}
		id = r.ID
	}
	ctx, cancel := context.WithCancel(o.ctx)
	s := &Session{c: c, id: id, ttl: o.ttl, cancel: cancel, done: make(chan struct{})}
	go s.keepAlive(ctx)
	return s, nil
}

// keepAlive renews the lease every third of its TTL; a renewal that fails
// for a transient reason is retried sooner.
func (s *Session) keepAlive(ctx context.Context) {
	defer close(s.done)
	interval := max(s.ttl/3, 10*time.Millisecond)
	next := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			s.end(ctx.Err())
			return
		case <-time.After(next):
		}
		rctx, cancel := context.WithTimeout(ctx, interval)
		_, err := s.c.KeepAliveOnce(rctx, s.id)
		cancel()
		switch {
		case errors.Is(err, client.ErrLeaseNotFound):
			s.end(ErrSessionExpired)
			return
		case err != nil:
			next = interval / 4
		default:
			next = interval
		}
	}
}

func (s *Session) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// Client returns the session's client.
func (s *Session) Client() *client.Client { return s.c }

// Lease returns the session's lease ID.
func (s *Session) Lease() int64 { return s.id }

// TTL returns the session lease's TTL.
func (s *Session) TTL() time.Duration { return s.ttl }

// Done is closed when the session stops renewing its lease (Close, Orphan,
// the lease was lost, or the session's context ended).
func (s *Session) Done() <-chan struct{} { return s.done }

// Err reports why the session ended (ErrSessionExpired if the lease was
// lost), or nil while it is alive.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Orphan stops renewing the lease without revoking it: it expires after
// its TTL.
func (s *Session) Orphan() {
	s.cancel()
	<-s.done
}

// Close stops renewing and revokes the lease, deleting its keys and
// releasing its locks at once.
func (s *Session) Close() error {
	s.Orphan()
	ctx, cancel := context.WithTimeout(context.Background(), s.ttl)
	defer cancel()
	err := s.c.Revoke(ctx, s.id)
	if errors.Is(err, client.ErrLeaseNotFound) {
		return nil
	}
	return err
}
