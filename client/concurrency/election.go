package concurrency

import (
	"context"
	"errors"
	"slices"
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

// observeRetry is how long Observe waits before reading the leader again
// after an error (the cluster unreachable, a compacted watch).
const observeRetry = 100 * time.Millisecond

// Observe sends the leader's value each time it changes ("" when there is
// no leader) until ctx is done; the channel is then closed. It reads the
// leader once, then watches the leader key from the revision after that
// read, so no change is missed; if the watch ends (its start revision was
// compacted, the cluster is unreachable) it reads again and resumes.
func (e *Election) Observe(ctx context.Context) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		o := observer{ch: ch, first: true}
		for ctx.Err() == nil {
			// An exact one-key range answers an absent key with the
			// revision it was absent at (a plain Get answers 404).
			r, err := e.s.Client().Get(ctx, e.key, client.WithRange(append(slices.Clip(e.key), 0)))
			if err != nil {
				if !sleepCtx(ctx, observeRetry) {
					return
				}
				continue
			}
			v := ""
			if len(r.KVs) > 0 {
				v = string(r.KVs[0].Value)
			}
			if !o.send(ctx, v) {
				return
			}
			for ev := range e.s.Client().Watch(ctx, e.key, client.WithRevision(r.Revision+1)) {
				switch ev.Type {
				case "put":
					v = string(ev.Value)
				case "delete", "expire":
					v = ""
				default:
					continue // progress; an error ends the watch
				}
				if !o.send(ctx, v) {
					return
				}
			}
			if !sleepCtx(ctx, observeRetry) {
				return
			}
		}
	}()
	return ch
}

// observer delivers an election's leader values, each change once.
type observer struct {
	ch    chan<- string
	last  string
	first bool
}

// send delivers v unless it is the value last delivered; false when ctx
// ended first.
func (o *observer) send(ctx context.Context, v string) bool {
	if !o.first && v == o.last {
		return true
	}
	select {
	case o.ch <- v:
		o.last, o.first = v, false
		return true
	case <-ctx.Done():
		return false
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
