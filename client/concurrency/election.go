package concurrency

import (
	"context"
	"errors"
	"time"

	"github.com/cairndb/cairn/client"
)

// ErrNoLeader is returned by Leader when no candidate has been elected.
var ErrNoLeader = errors.New("concurrency: election has no leader")

// ErrNotLeader is returned by Proclaim and Resign when this candidate
// does not lead.
var ErrNotLeader = errors.New("concurrency: not the leader")

// Election is a leader election among sessions: the leader is the holder
// of the lock "election/<name>" and publishes its value under the key
// "election/<name>/leader", attached to its session's lease (so it
// vanishes with the leader). Candidates are elected in FIFO order.
type Election struct {
	s   *Session
	m   *Mutex
	key []byte
}

// NewElection returns an election named name for session s.
func NewElection(s *Session, name string) *Election {
	return &Election{s: s, m: NewMutex(s, "election/"+name), key: []byte("election/" + name + "/leader")}
}

// Campaign waits until this candidate is elected (or ctx is done) and
// publishes val.
func (e *Election) Campaign(ctx context.Context, val string) error {
	if err := e.m.Lock(ctx); err != nil {
		return err
	}
	if err := e.Proclaim(ctx, val); err != nil {
		_ = e.m.Unlock(context.WithoutCancel(ctx))
		return err
	}
	return nil
}

// Proclaim publishes a new value as the leader, fenced by the election's
// lock: a deposed leader's proclamation fails with ErrNotLeader.
func (e *Election) Proclaim(ctx context.Context, val string) error {
	if e.m.Token() == 0 {
		return ErrNotLeader
	}
	_, err := e.m.Fenced(ctx, client.OpPut(e.key, []byte(val), client.WithLease(e.s.Lease())))
	if errors.Is(err, client.ErrFenced) {
		return ErrNotLeader
	}
	return err
}

// Resign gives up leadership.
func (e *Election) Resign(ctx context.Context) error {
	if e.m.Token() == 0 {
		return ErrNotLeader
	}
	if _, err := e.m.Fenced(ctx, client.OpDelete(e.key)); err != nil && !errors.Is(err, client.ErrFenced) {
		return err
	}
	return e.m.Unlock(ctx)
}

// Leader returns the current leader's value.
func (e *Election) Leader(ctx context.Context) (string, error) {
	r, err := e.s.Client().Get(ctx, e.key)
	if errors.Is(err, client.ErrKeyNotFound) {
		return "", ErrNoLeader
	}
	if err != nil {
		return "", err
	}
	return string(r.KVs[0].Value), nil
}

// observeInterval is how often Observe polls (until watch is available).
const observeInterval = 100 * time.Millisecond

// Observe sends the leader's value each time it changes ("" when there is
// no leader) until ctx is done; the channel is then closed. It polls.
func (e *Election) Observe(ctx context.Context) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		last, first := "", true
		for {
			v, err := e.Leader(ctx)
			if err == nil || errors.Is(err, ErrNoLeader) {
				if first || v != last {
					select {
					case ch <- v:
					case <-ctx.Done():
						return
					}
					last, first = v, false
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(observeInterval):
			}
		}
	}()
	return ch
}
