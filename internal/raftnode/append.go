package raftnode

import (
	"fmt"

	"github.com/cairndb/cairn/internal/storage"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// appendLoop is raft's LocalAppendThread. It persists every queued
// MsgStorageAppend (entries, hard state, snapshot) in one Pebble batch with
// one fsync, then delivers the messages' responses: to this node through
// the local queue, to peers through the transport. Raft keeps accepting
// proposals while a sync is in flight, so the next batch grows meanwhile:
// the fsync is shared by everything that arrived during the previous one.
func (n *Node) appendLoop() {
	defer close(n.appendDone)
	var msgs []*pb.Message
	for {
		select {
		case <-n.appendq.ready():
		case <-n.stopc:
			return
		case <-n.failed:
			return
		}
		msgs = n.appendq.drain(msgs[:0])
		if len(msgs) == 0 {
			continue
		}
		if err := n.persist(msgs); err != nil {
			n.fail(err)
			return
		}
		clear(msgs)
	}
}

// persist writes msgs in one batch and delivers their responses.
func (n *Node) persist(msgs []*pb.Message) error {
	b := n.cfg.DB.NewBatch()
	defer b.Close()
	var snap *pb.Snapshot
	sync := false
	for _, m := range msgs {
		if s := m.GetSnapshot(); !raft.IsEmptySnap(s) {
			if err := n.restoreSnapshot(b, s); err != nil {
				return err
			}
			snap = s
		}
		if ents := m.GetEntries(); len(ents) > 0 {
			if err := n.cfg.Log.Append(b, ents); err != nil {
				return fmt.Errorf("raftnode: append: %w", err)
			}
		}
		if m.Term != nil { // the message carries a hard state
			hs := &pb.HardState{Term: new(m.GetTerm()), Vote: new(m.GetVote()), Commit: new(m.GetCommit())}
			if err := n.cfg.Log.SetHardState(b, hs); err != nil {
				return fmt.Errorf("raftnode: hard state: %w", err)
			}
		}
		// Writes must be durable before responses are delivered; a message
		// without responses needs no sync (raft's contract).
		sync = sync || len(m.GetResponses()) > 0
	}
	if err := n.stageCompaction(b); err != nil {
		return err
	}
	if !b.Empty() {
		if err := b.Commit(sync || snap != nil); err != nil {
			// A failed sync must never be acknowledged: the node stops.
			n.cfg.Log.DiscardPending()
			return fmt.Errorf("raftnode: persist: %w", err)
		}
		n.cfg.Log.MarkDurable()
	}
	if snap != nil {
		md := proto.Clone(snap.GetMetadata()).(*pb.SnapshotMetadata)
		n.localq.push(localItem{fn: func() { n.afterRestore(md) }})
	}
	var out []*pb.Message
	for _, m := range msgs {
		for _, r := range m.GetResponses() {
			if r.GetTo() == n.cfg.ID {
				n.localq.push(localItem{msg: r})
			} else {
				out = append(out, r)
			}
		}
	}
	if len(out) > 0 {
		n.cfg.Transport.Send(n.cfg.Group, out)
	}
	return nil
}

// stageCompaction adds a log truncation to b once the log has grown past
// the thresholds, keeping CatchUpEntries behind the applied index. State
// machine data up to the applied index was committed before this batch,
// and Pebble's one WAL makes it durable with this batch's sync.
func (n *Node) stageCompaction(b *storage.Batch) error {
	entries, bytes := n.cfg.Log.LogSize()
	applied := n.AppliedIndex()
	var index uint64
	switch {
	case bytes > n.cfg.CompactBytes:
		// Large entries: truncate everything applied, whatever the count;
		// a follower that needs more gets a snapshot.
		index = applied
	case entries > n.cfg.CompactEntries && applied > n.cfg.CatchUpEntries:
		index = applied - n.cfg.CatchUpEntries
	default:
		return nil
	}
	first, err := n.cfg.Log.FirstIndex()
	if err != nil || index < first {
		return err
	}
	if err := n.cfg.Log.Compact(b, index); err != nil {
		return fmt.Errorf("raftnode: compact log to %d: %w", index, err)
	}
	return nil
}
