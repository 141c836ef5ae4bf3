package transport

import (
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Defaults for the zero values of TCPConfig's tunables.
const (
	DefaultQueueSize         = 4096
	DefaultDialTimeout       = 5 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultBackoffMin        = 50 * time.Millisecond
	DefaultBackoffMax        = 2 * time.Second
	DefaultMaxFrameSize      = 64 << 20
	DefaultSnapshotChunkSize = 1 << 20
	DefaultSnapshotTimeout   = 10 * time.Minute
)

// TCPConfig configures NewTCP. ID and Handler are required, and exactly one
// of ListenAddr and Listener; every other zero field takes its default.
type TCPConfig struct {
	// ID is this node's raft ID. Peers put it in their handshake and a
	// connection addressed to another ID is refused. Must not be zero.
	ID uint64
	// ListenAddr is the host:port to accept peer connections on. Port 0
	// picks a free port; Addr reports it.
	ListenAddr string
	// Listener, if set, is used instead of ListenAddr. The transport owns
	// it from then on and closes it on Close.
	Listener net.Listener
	// Handler receives messages and delivery reports. See Handler for the
	// goroutines it is called from.
	Handler Handler
	// Logger receives connection-level events (never one per message).
	// Nil discards them.
	Logger *slog.Logger

	// QueueSize is the number of messages buffered per peer while the
	// peer's writer is busy. Messages beyond it are dropped and reported
	// unreachable. Default DefaultQueueSize.
	QueueSize int
	// DialTimeout bounds connecting to a peer, and reading the handshake of
	// an accepted connection. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// WriteTimeout bounds writing one batch to a peer; a peer that stops
	// reading for this long is disconnected. Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// BackoffMin and BackoffMax bound the jittered exponential delay
	// between reconnection attempts. Defaults DefaultBackoffMin and
	// DefaultBackoffMax.
	BackoffMin, BackoffMax time.Duration
	// MaxFrameSize is the largest frame accepted or sent, in bytes. It must
	// exceed the raft MaxSizePerMsg with room for overhead. Default
	// DefaultMaxFrameSize.
	MaxFrameSize int
	// SnapshotChunkSize is the size of the chunks a snapshot body is sent
	// in. Default DefaultSnapshotChunkSize.
	SnapshotChunkSize int
	// SnapshotTimeout bounds one snapshot transfer, on both sides.
	// Default DefaultSnapshotTimeout.
	SnapshotTimeout time.Duration
}

// withDefaults returns a copy of c with defaults applied, or an error
// wrapping ErrInvalidConfig.
func (c TCPConfig) withDefaults() (TCPConfig, error) {
	setDefault(&c.QueueSize, DefaultQueueSize)
	setDefault(&c.DialTimeout, DefaultDialTimeout)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	setDefault(&c.BackoffMin, DefaultBackoffMin)
	setDefault(&c.BackoffMax, DefaultBackoffMax)
	setDefault(&c.MaxFrameSize, DefaultMaxFrameSize)
	setDefault(&c.SnapshotChunkSize, DefaultSnapshotChunkSize)
	setDefault(&c.SnapshotTimeout, DefaultSnapshotTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, c.validate()
}

func (c *TCPConfig) validate() error {
	var problem string
	switch {
	case c.ID == 0:
		problem = "ID is zero"
	case c.Handler == nil:
		problem = "Handler is nil"
	case (c.ListenAddr == "") == (c.Listener == nil):
		problem = "exactly one of ListenAddr and Listener must be set"
	case c.QueueSize < 0, c.DialTimeout < 0, c.WriteTimeout < 0, c.SnapshotTimeout < 0,
		c.BackoffMin < 0, c.MaxFrameSize < 0, c.SnapshotChunkSize < 0:
		problem = "negative tunable"
	case c.BackoffMax < c.BackoffMin:
		problem = "BackoffMax < BackoffMin"
	case c.MaxFrameSize > 1<<31:
		problem = "MaxFrameSize exceeds 2 GiB"
	case c.SnapshotChunkSize+maxFrameHeader > c.MaxFrameSize:
		problem = "SnapshotChunkSize does not fit in MaxFrameSize"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidConfig, problem)
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
