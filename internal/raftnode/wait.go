package raftnode

import (
	"context"
	"sync"
	"sync/atomic"
)

// appliedWaiters lets goroutines wait until the applied index reaches a
// value. The raft goroutine publishes the applied index and wakes waiters.
type appliedWaiters struct {
	applied atomic.Uint64

	mu sync.Mutex // guards waiters
	// waiters maps an index to the channels to close once it is applied.
	waiters map[uint64][]chan struct{}
}

func (w *appliedWaiters) wait(ctx context.Context, stopped <-chan struct{}, index uint64) error {
	if w.applied.Load() >= index {
		return nil
	}
	ch := make(chan struct{})
	w.mu.Lock()
	if w.applied.Load() >= index { // re-check under the lock: publish races with us
		w.mu.Unlock()
		return nil
	}
	if w.waiters == nil {
		w.waiters = make(map[uint64][]chan struct{})
	}
	w.waiters[index] = append(w.waiters[index], ch)
	w.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stopped:
		return ErrStopped
	}
}

// publish records index as applied and wakes every waiter at or below it.
func (w *appliedWaiters) publish(index uint64) {
	w.applied.Store(index)
	w.mu.Lock()
	for i, chs := range w.waiters {
		if i <= index {
			for _, ch := range chs {
				close(ch)
			}
			delete(w.waiters, i)
		}
	}
	w.mu.Unlock()
}
