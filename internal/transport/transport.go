// Package transport moves raft messages between nodes.
//
// A Transport keeps one long-lived, length-prefixed, batched stream per peer
// for ordinary messages, and streams snapshots on their own connections so a
// large snapshot never delays heartbeats. Every frame carries the raft group
// ID so one node can host many groups.
//
// Two implementations: TCP (tcp.go) for real nodes and Mem (mem.go) for
// in-process tests, which can partition, drop and delay messages.
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
// goroutines; implementations must not block for long.
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
