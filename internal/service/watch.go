package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/document"
	"github.com/cairndb/cairn/internal/watch"
)

// ErrUnsupported: a request the node understands but cannot serve (a
// watch on a node built without a watch hub).
var ErrUnsupported = errors.New("not supported yet")

// WatchRequest selects what a watch delivers (see watch.Request). Path,
// if set, is a JSON path inside the document at Key (any spelling package
// document accepts): the watch then delivers only the changes of Key that
// change what the path selects (watch.PathFilter). A path watch is on one
// key, not a prefix, and replaces Request.Filter.
type WatchRequest struct {
	watch.Request
	Path string
}

// Hub is the node's watch hub, nil if the node was built without one.
func (s *Service) Hub() *watch.Hub { return s.cfg.Hub }

// Watch starts a watch on this node. A watch "from now" (Start 0) first
// passes a linearizable barrier, so it sees every write acknowledged
// before it began. A Start below the compaction horizon fails on the
// first Next with an error wrapping both ErrCompacted and a
// *watch.CompactedError naming the oldest revision available.
func (s *Service) Watch(ctx context.Context, r WatchRequest) (*watch.Watcher, error) {
	if s.cfg.Hub == nil {
		return nil, fmt.Errorf("%w: this node has no watch hub", ErrUnsupported)
	}
	if r.Path != "" {
		f, err := pathFilter(r.Prefix, r.Path)
		if err != nil {
			return nil, err
		}
		r.Filter = f
	}
	if !r.Prefix {
		if err := validateKey(r.Key); err != nil {
			return nil, err
		}
	} else if len(r.Key) > MaxKeySize {
		return nil, fmt.Errorf("%w: prefix of %d bytes (max %d)", ErrKeyTooLarge, len(r.Key), MaxKeySize)
	}
	if r.Start < 0 {
		return nil, fmt.Errorf("%w: negative start revision", ErrInvalid)
	}
	if c := s.sm.CompactRevision(); r.Start > 0 && r.Start <= c {
		return nil, TranslateWatchErr(&watch.CompactedError{Requested: r.Start, Oldest: c + 1})
	}
	if r.Start == 0 {
		bctx, cancel := s.withTimeout(ctx)
		err := s.readBarrier(bctx, ReadOptions{})
		cancel()
		if err != nil {
			return nil, err
		}
	}
	w, err := s.cfg.Hub.Watch(r.Request)
	if err != nil {
		return nil, TranslateWatchErr(err)
	}
	return w, nil
}

// pathFilter builds the filter of a watch on a JSON path.
func pathFilter(prefix bool, path string) (func(*watch.Event) bool, error) {
	if prefix {
		return nil, fmt.Errorf("%w: a path watch selects one document key; it cannot be combined with a prefix", ErrInvalid)
	}
	if len(path) > document.MaxPathLen {
		return nil, fmt.Errorf("%w: path of %d bytes, limit %d", ErrInvalid, len(path), document.MaxPathLen)
	}
	f, err := watch.PathFilter(path)
	if err != nil {
		return nil, fmt.Errorf("%w: path: %w", ErrInvalid, err)
	}
	return f, nil
}

// TranslateWatchErr maps the watch package's errors onto the service's
// sentinels, keeping the watch error (and its details) in the chain.
func TranslateWatchErr(err error) error {
	switch {
	case errors.Is(err, watch.ErrCompacted):
		return fmt.Errorf("%w: %w", ErrCompacted, err)
	case errors.Is(err, watch.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	case errors.Is(err, watch.ErrClosed):
		return fmt.Errorf("%w: %w", ErrStopped, err)
	}
	return err
}

// Publish sends message to the subscribers of channel on every node,
// through raft, and returns how many subscriptions on this node received
// it (Redis Cluster would count the whole cluster's: see docs/WATCH.md).
func (s *Service) Publish(ctx context.Context, channel, message []byte) (int64, error) {
	if len(channel) > MaxKeySize {
		return 0, fmt.Errorf("%w: channel of %d bytes (max %d)", ErrKeyTooLarge, len(channel), MaxKeySize)
	}
	if len(message) > MaxValueSize {
		return 0, fmt.Errorf("%w: message of %d bytes (max %d)", ErrValueTooLarge, len(message), MaxValueSize)
	}
	res, err := s.propose(ctx, &command.Request{Publish: &command.PublishRequest{Channel: channel, Message: message}})
	if err != nil {
		return 0, err
	}
	if err := resultErr(res); err != nil {
		return 0, err
	}
	if res.Publish == nil {
		return 0, nil
	}
	return res.Publish.Receivers, nil
}

// Subscribe returns an empty pub/sub subscription on this node's hub.
// match decides whether a pattern matches a channel.
func (s *Service) Subscribe(match func(pattern, channel []byte) bool, buffer int) (*watch.Subscription, error) {
	if s.cfg.Hub == nil {
		return nil, fmt.Errorf("%w: this node has no watch hub", ErrUnsupported)
	}
	return s.cfg.Hub.Subscribe(match, buffer), nil
}

// SubscriptionCounts returns this node's pub/sub subscription counts:
// subscriptions per channel and distinct patterns (PUBSUB).
func (s *Service) SubscriptionCounts() (map[string]int, int, error) {
	if s.cfg.Hub == nil {
		return nil, 0, fmt.Errorf("%w: this node has no watch hub", ErrUnsupported)
	}
	channels, patterns := s.cfg.Hub.SubscriptionCounts()
	return channels, patterns, nil
}
