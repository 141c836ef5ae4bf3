package transport

import "errors"

var (
	// ErrClosed is returned for work cut short because the transport was
	// closed.
	ErrClosed = errors.New("transport: closed")
	// ErrInvalidConfig is wrapped by NewTCP when TCPConfig is unusable.
	ErrInvalidConfig = errors.New("transport: invalid config")
	// ErrBadHandshake means a connection did not start with a valid
	// handshake addressed to this node.
	ErrBadHandshake = errors.New("transport: bad handshake")
	// ErrBadFrame means a frame could not be decoded or was not expected at
	// that point of the stream.
	ErrBadFrame = errors.New("transport: malformed frame")
	// ErrFrameTooLarge means a frame exceeds the configured MaxFrameSize.
	ErrFrameTooLarge = errors.New("transport: frame too large")
	// ErrSnapshotTruncated is returned by a snapshot body reader when the
	// stream ends before the sender's end frame.
	ErrSnapshotTruncated = errors.New("transport: snapshot stream truncated")
	// ErrSnapshotChecksum is returned by a snapshot body reader when the
	// body does not match the checksum or length in the end frame.
	ErrSnapshotChecksum = errors.New("transport: snapshot checksum mismatch")
	// ErrSnapshotRejected means the receiver did not acknowledge a snapshot.
	ErrSnapshotRejected = errors.New("transport: snapshot rejected by receiver")
	// ErrUnknownPeer means a message was addressed to a peer never added.
	ErrUnknownPeer = errors.New("transport: unknown peer")
	// errConnLost means the peer closed an outbound stream connection.
	errConnLost = errors.New("transport: connection closed by peer")
)
