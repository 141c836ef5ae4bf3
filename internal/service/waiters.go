package service

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/internal/command"
)

// idGenerator makes request IDs unique across the cluster: the top 24 bits
// come from the node ID and the rest is a counter seeded from the clock,
// so IDs don't repeat across restarts either.
type idGenerator struct {
	prefix  uint64
	counter atomic.Uint64
}

func (g *idGenerator) init(nodeID uint64) {
	g.prefix = (nodeID ^ nodeID>>24 ^ nodeID>>48) & 0xffffff << 40
	g.counter.Store(uint64(time.Now().UnixNano()) & (1<<40 - 1))
}

func (g *idGenerator) next() uint64 {
	return g.prefix | g.counter.Add(1)&(1<<40-1)
}

// resultWaiters routes state machine results to the goroutines that
// proposed them. Sharded to keep lock contention low under load.
type resultWaiters struct {
	shards [16]struct {
		mu sync.Mutex // guards m
		m  map[uint64]chan *command.Result
	}
}

func (w *resultWaiters) shard(id uint64) int { return int(id % uint64(len(w.shards))) }

func (w *resultWaiters) register(id uint64) chan *command.Result {
	ch := make(chan *command.Result, 1)
	s := &w.shards[w.shard(id)]
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[uint64]chan *command.Result)
	}
	s.m[id] = ch
	s.mu.Unlock()
	return ch
}

func (w *resultWaiters) cancel(id uint64) {
	s := &w.shards[w.shard(id)]
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

func (w *resultWaiters) deliver(r *command.Result) {
	s := &w.shards[w.shard(r.ID)]
	s.mu.Lock()
	ch, ok := s.m[r.ID]
	delete(s.m, r.ID)
	s.mu.Unlock()
	if ok {
		ch <- r // buffered; the only send
	}
}

// revisionWaiters lets stale reads with a min_revision wait until the
// local state machine has caught up.
type revisionWaiters struct {
	rev atomic.Int64
	mu  sync.Mutex // guards ch
	ch  chan struct{}
}

func (w *revisionWaiters) publish(rev int64) {
	if rev <= w.rev.Load() {
		return
	}
	w.rev.Store(rev)
	w.mu.Lock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
	w.mu.Unlock()
}

// wait blocks until current() >= rev.
func (w *revisionWaiters) wait(ctx context.Context, rev int64, current func() int64) error {
	for {
		w.mu.Lock()
		if current() >= rev {
			w.mu.Unlock()
			return nil
		}
		if w.ch == nil {
			w.ch = make(chan struct{})
		}
		ch := w.ch
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
