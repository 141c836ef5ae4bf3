package raftnode

import (
	"sync"

	pb "go.etcd.io/raft/v3/raftpb"
)

// localItem is a message to step into raft, or a function to run, on the
// raft goroutine.
type localItem struct {
	msg *pb.Message
	fn  func()
}

// queue is an unbounded FIFO between two goroutines. Storage messages and
// their responses must never be dropped or reordered, and the raft
// goroutine must never block handing them over, so it cannot be a
// bounded channel.
type queue[T any] struct {
	mu     sync.Mutex // guards items
	items  []T
	signal chan struct{} // has a value while items is non-empty
}

func newQueue[T any]() *queue[T] { return &queue[T]{signal: make(chan struct{}, 1)} }

func (q *queue[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// ready is readable when items may be waiting.
func (q *queue[T]) ready() <-chan struct{} { return q.signal }

// drain takes every queued item, appending to dst.
func (q *queue[T]) drain(dst []T) []T {
	q.mu.Lock()
	dst = append(dst, q.items...)
	clear(q.items)
	q.items = q.items[:0]
	q.mu.Unlock()
	return dst
}
