package watch

import (
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
)

// EventType says what happened to a key. The values of Put, Delete and
// Expire are stored in the change index; do not renumber them.
type EventType uint8

const (
	// Put: the key was written (created or updated).
	Put EventType = 1
	// Delete: the key was deleted by a request.
	Delete EventType = 2
	// Expire: the key was deleted because its lease or TTL ran out.
	Expire EventType = 3
	// Progress is not a change: it tells an idle watcher that every change
	// it selects up to Event.Revision has been delivered.
	Progress EventType = 4
)

func (t EventType) String() string {
	switch t {
	case Put:
		return "put"
	case Delete:
		return "delete"
	case Expire:
		return "expire"
	case Progress:
		return "progress"
	}
	return fmt.Sprintf("EventType(%d)", uint8(t))
}

// Valid reports whether t is a change type (Put, Delete or Expire).
func (t EventType) Valid() bool { return t >= Put && t <= Expire }

// Event is one change to one key at one revision (or a progress
// notification). Keys and values are owned by whoever holds the event;
// they must not be modified (they may be shared by several watchers).
type Event struct {
	Revision int64
	Type     EventType
	Key      []byte
	// Value is the new value of a Put.
	Value []byte
	// PrevValue is the value before the change, when the watch asked for
	// it and the key existed (PrevExists).
	PrevValue  []byte
	PrevExists bool
	// ValueType and PrevType say how Value and PrevValue are interpreted
	// (plain bytes or a JSON document); a path filter needs them. Like
	// PrevValue, PrevType is only meaningful with PrevExists.
	ValueType command.ValueType
	PrevType  command.ValueType
	// Op is the Redis keyspace event name of the write ("set", "del",
	// "expired", "incrby", "append", "rename_from" ...). Live events carry
	// the exact name; replayed events carry the name of their Type.
	Op string
	// Ops lists the keyspace event names of every write of the key in
	// the event's revision, in order, when there were several (MULTI
	// SET k a / SET k b, MSET k 1 k 2, SET k v EX 10 = "set" then
	// "expire"): a watcher sees one event per key and revision, a
	// keyspace subscriber one notification per write, as Redis sends.
	// Nil for a single write (OpName is its name) and for replayed events.
	Ops []string
}

// OpName returns Event.Op, or the default name of the event's type.
func (e *Event) OpName() string {
	if e.Op != "" {
		return e.Op
	}
	return DefaultOp(e.Type)
}

// DefaultOp is the keyspace event name of a change type.
func DefaultOp(t EventType) string {
	switch t {
	case Put:
		return "set"
	case Delete:
		return "del"
	case Expire:
		return "expired"
	}
	return ""
}

// Message is one pub/sub message, or one keyspace notification.
type Message struct {
	// Pattern is the pattern that matched for a pattern subscription
	// (PSUBSCRIBE), nil for a channel subscription.
	Pattern []byte
	Channel []byte
	Payload []byte
}

// Sentinel errors. A watch ends with one of them (wrapped); all but
// ErrInvalid can be resumed from a later revision.
var (
	// ErrCompacted: the start revision is older than the compaction
	// horizon. The error is a *CompactedError naming the oldest revision
	// still available.
	ErrCompacted = errors.New("watch: revision has been compacted")
	// ErrSlowConsumer: the watcher fell too far behind the live stream and
	// was cancelled. The error is a *ResumeError naming the revision to
	// resume from.
	ErrSlowConsumer = errors.New("watch: watcher fell too far behind (slow consumer)")
	// ErrReset: the node's state was replaced by a snapshot from the
	// leader, so its live stream has a gap. The error is a *ResumeError.
	ErrReset = errors.New("watch: node state was replaced by a snapshot")
	// ErrClosed: the hub is shut down (the node is stopping).
	ErrClosed = errors.New("watch: closed")
	// ErrInvalid: a malformed watch request.
	ErrInvalid = errors.New("watch: invalid request")
)

// CompactedError reports a start revision below the compaction horizon.
type CompactedError struct {
	Requested int64 // the revision asked for
	Oldest    int64 // the oldest revision a watch can start from
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("watch: revision %d has been compacted; the oldest available revision is %d", e.Requested, e.Oldest)
}

func (e *CompactedError) Unwrap() error { return ErrCompacted }

// CompactRevision is the compaction horizon (the HTTP API reports it).
func (e *CompactedError) CompactRevision() int64 { return e.Oldest - 1 }

// ResumeError ends a watch that can be resumed: a new watch from Revision
// (with the same key selection) continues without a gap or duplicate.
type ResumeError struct {
	Cause    error // ErrSlowConsumer or ErrReset
	Revision int64
}

func (e *ResumeError) Error() string {
	return fmt.Sprintf("%v; resume from revision %d", e.Cause, e.Revision)
}

func (e *ResumeError) Unwrap() error { return e.Cause }
