// Package transport moves raft messages between nodes.
//
// A Transport keeps one long-lived, length-prefixed, batched stream per peer
// for ordinary messages, and streams snapshots on their own connections so a
// large snapshot never delays heartbeats. Every frame carries the raft group
// ID so one node can host many groups.
//
// Two implementations: TCP (tcp.go) for real nodes and Mem (mem.go) for
// in-process tests, which can partition, drop and delay messages.
//
// # Delivery
//
// Delivery is best effort, as raft expects: messages may be lost (queue
// full, connection down, peer restarting) but a single stream never
// reorders them. Whenever the transport knows a message was lost it calls
// Handler.ReportUnreachable so raft can fall back to probing; raft
// retransmits what matters.
//
// # Wire format
//
// Every TCP connection is opened by the sender and starts with a 22-byte
// handshake:
//
//	magic "CRFT" (4) | version 1 (1) | kind (1) | from (8) | to (8)
//
// kind is 1 for a message stream and 2 for a snapshot; from and to are raft
// IDs, big-endian. The receiver closes the connection on a bad magic,
// unknown version or kind, or a `to` that is not its own ID. Frames follow:
//
//	length uint32 BE | type (1) | group uvarint | payload
//
// where length counts the bytes after itself and must not exceed
// MaxFrameSize. Types:
//
//	1 message         payload: proto raftpb.Message
//	2 snapshot header payload: proto raftpb.Message (MsgSnap)
//	3 snapshot chunk  payload: the next bytes of the snapshot body
//	4 snapshot end    payload: CRC-32C of the body (uint32 BE) | body length (uint64 BE)
//
// A stream connection carries only type 1 frames, in one direction; the
// sender batches them and flushes once per batch. The receiver writes
// nothing on a stream, with one exception: when its Handler implements
// RemovalHandler and reports the sender as removed from the cluster, it
// writes the single byte 'R' (0x52, "refused: member removed") and closes
// the connection, at the handshake or at the first frame read after it
// learned of the removal; frames from a removed sender are dropped. A
// sender reading that byte tells its own RemovalHandler. (A sender that
// does not know the byte sees a closed connection, as before.) A snapshot
// connection from a removed sender is answered the same way instead of
// with an ack, and the transfer fails. A snapshot connection
// carries one header, any number of chunks and one end frame; the receiver
// then answers one byte, 1 if the handler accepted the snapshot and the
// checksum matched, 0 otherwise, and the connection is closed.
package transport

import (
	"io"

	pb "go.etcd.io/raft/v3/raftpb"
)

// Transport sends raft messages to peers. All methods are safe for
// concurrent use. Send and SendSnapshot never block on the network.
type Transport interface {
	// Send queues messages for delivery. A message to an unknown peer, or one
	// that does not fit in the peer's queue, is dropped and the handler's
	// ReportUnreachable is called for that peer.
	Send(group uint64, msgs []*pb.Message)
	// SendSnapshot streams a MsgSnap followed by body (the state machine's
	// data) to m.To, then closes body. The outcome is reported through the
	// handler's ReportSnapshot.
	SendSnapshot(group uint64, m *pb.Message, body io.ReadCloser)
	// AddPeer adds or updates the peer address of raft node id.
	AddPeer(id uint64, addr string)
	// RemovePeer forgets a peer and closes its connections.
	RemovePeer(id uint64)
	// Close stops every goroutine and closes every connection.
	Close() error
}

// Handler receives what peers send. The transport calls it from its own
// goroutines, several at once (one per inbound connection, per snapshot
// transfer); implementations must be safe for concurrent use and must not
// block for long. ReportUnreachable may also be called synchronously from
// Send on the caller's goroutine, so it must never block. No method is
// called after Transport.Close returns.
type Handler interface {
	// Receive delivers an ordinary message for group.
	Receive(group uint64, m *pb.Message)
	// ReceiveSnapshot delivers a MsgSnap together with the stream of its
	// data. It returns after consuming body; an error aborts the transfer.
	ReceiveSnapshot(group uint64, m *pb.Message, body io.Reader) error
	// ReportUnreachable tells raft a message to peer `to` could not be sent.
	ReportUnreachable(group, to uint64)
	// ReportSnapshot tells raft whether a snapshot stream to `to` finished.
	ReportSnapshot(group, to uint64, failed bool)
}

// RemovalHandler is optionally implemented by a Handler that knows which
// members were removed from the cluster (replicated state: every member
// that applied a removal agrees). The transport then refuses the traffic of
// removed members and tells a removed member that a peer refused it, so a
// member removed while partitioned, paused or lagging (which never applies
// its own removal, since the leader stops replicating to it) learns of it.
// Both methods are called from the transport's goroutines and must not
// block.
type RemovalHandler interface {
	// IsRemoved reports whether the member with raft ID id was removed.
	// It is called for every message received, so it must be cheap.
	IsRemoved(id uint64) bool
	// Removed reports that peer `by`, which knows this node as removed,
	// refused its traffic.
	Removed(by uint64)
}

// removalHandler returns h as a RemovalHandler, or nil.
func removalHandler(h Handler) RemovalHandler {
	rh, _ := h.(RemovalHandler)
	return rh
}
