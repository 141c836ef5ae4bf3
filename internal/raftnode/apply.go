package raftnode

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairndb/cairn/internal/storage"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// send hands messages to the transport; snapshots go on their own stream.
func (n *Node) send(msgs []*pb.Message) {
	if len(msgs) == 0 {
		return
	}
	out := msgs[:0:0]
	for _, m := range msgs {
		if m.GetType() == pb.MessageType_MsgSnap {
			n.sendSnapshot(m)
			continue
		}
		out = append(out, m)
	}
	if len(out) > 0 {
		n.cfg.Transport.Send(n.cfg.Group, out)
	}
}

// sendSnapshot opens a point-in-time stream of the state machine and sends
// it with m. The stream must reflect exactly the index raft put in m; both
// are taken on the raft goroutine before this Ready's entries are applied,
// so they agree, and a mismatch is reported as a failed snapshot.
func (n *Node) sendSnapshot(m *pb.Message) {
	body, index, err := n.cfg.StateMachine.OpenSnapshot()
	if err == nil && index != m.GetSnapshot().GetMetadata().GetIndex() {
		body.Close()
		err = fmt.Errorf("state machine at %d, snapshot message at %d", index, m.GetSnapshot().GetMetadata().GetIndex())
	}
	if err != nil {
		n.log.Warn("cannot send snapshot", "to", fmt.Sprintf("%x", m.GetTo()), "err", err)
		n.loop.rn.ReportSnapshot(m.GetTo(), raft.SnapshotFailure)
		return
	}
	n.log.Info("sending snapshot", "to", fmt.Sprintf("%x", m.GetTo()), "index", index)
	n.cfg.Transport.SendSnapshot(n.cfg.Group, m, body)
}

// restoreSnapshot adds to b the writes that install a received snapshot.
func (n *Node) restoreSnapshot(b *storage.Batch, snap *pb.Snapshot) error {
	md := snap.GetMetadata()
	path := string(snap.GetData())
	if filepath.Dir(path) != filepath.Clean(n.cfg.SnapshotDir) {
		return fmt.Errorf("raftnode: snapshot data %q is not a staged snapshot", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("raftnode: open staged snapshot: %w", err)
	}
	defer f.Close()
	if err := n.cfg.StateMachine.Restore(b, f, md.GetIndex(), md.GetConfState()); err != nil {
		return fmt.Errorf("raftnode: restore snapshot at %d: %w", md.GetIndex(), err)
	}
	if err := n.cfg.Log.ApplySnapshot(b, snap); err != nil {
		return fmt.Errorf("raftnode: apply snapshot to log: %w", err)
	}
	return nil
}

// afterRestore runs once a snapshot's batch is durable.
func (n *Node) afterRestore(snap *pb.Snapshot) error {
	md := snap.GetMetadata()
	if err := n.cfg.StateMachine.Reload(); err != nil {
		return fmt.Errorf("raftnode: reload after snapshot: %w", err)
	}
	n.loop.confState = proto.Clone(md.GetConfState()).(*pb.ConfState)
	n.cfg.Log.SetSnapshotPoint(md.GetIndex(), md.GetTerm(), n.loop.confState)
	n.applied.publish(md.GetIndex())
	if err := resetSnapshotDir(n.cfg.SnapshotDir); err != nil {
		n.log.Warn("cannot clear staged snapshots", "err", err)
	}
	n.log.Info("installed snapshot", "index", md.GetIndex(), "term", md.GetTerm())
	return nil
}

// apply hands committed entries to the state machine, applying conf
// changes to raft in log order.
func (n *Node) apply(committed []*pb.Entry) error {
	if len(committed) == 0 {
		return nil
	}
	ls := n.loop
	ents := ls.entries[:0]
	var confApplied []string
	for _, e := range committed {
		ent := Entry{Index: e.GetIndex(), Term: e.GetTerm()}
		switch e.GetType() {
		case pb.EntryType_EntryNormal:
			props, err := splitFramed(e.GetData(), nil)
			if err != nil {
				// Deterministic on every node: skip the entry's proposals.
				n.log.Error("skipping malformed entry", "index", ent.Index, "err", err)
			}
			ent.Proposals = props
		case pb.EntryType_EntryConfChange, pb.EntryType_EntryConfChangeV2:
			cc, err := decodeConfChange(e)
			if err != nil {
				return err
			}
			ls.confState = ls.rn.ApplyConfChange(cc)
			ent.ConfChange = cc
			ent.ConfState = ls.confState
			confApplied = append(confApplied, string(cc.GetContext()))
		}
		ents = append(ents, ent)
	}
	if err := n.cfg.StateMachine.Apply(ents); err != nil {
		return fmt.Errorf("raftnode: apply: %w", err)
	}
	last := ents[len(ents)-1]
	n.cfg.Log.SetSnapshotPoint(last.Index, last.Term, ls.confState)
	n.applied.publish(last.Index)
	for _, key := range confApplied {
		for _, ch := range ls.confWaiters[key] {
			close(ch)
		}
		delete(ls.confWaiters, key)
	}
	clear(ents)
	ls.entries = ents[:0]
	return nil
}

func decodeConfChange(e *pb.Entry) (*pb.ConfChangeV2, error) {
	if e.GetType() == pb.EntryType_EntryConfChange {
		var cc pb.ConfChange
		if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
			return nil, fmt.Errorf("raftnode: decode conf change at %d: %w", e.GetIndex(), err)
		}
		return cc.AsV2(), nil
	}
	var cc pb.ConfChangeV2
	if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
		return nil, fmt.Errorf("raftnode: decode conf change at %d: %w", e.GetIndex(), err)
	}
	return &cc, nil
}

// maybeCompact truncates the log once it has grown past the thresholds,
// keeping CatchUpEntries behind the applied index. State machine data up to
// the applied index was written before this synced batch, and Pebble's one
// WAL makes it durable with it.
func (n *Node) maybeCompact() error {
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
	b := n.cfg.DB.NewBatch()
	defer b.Close()
	if err := n.cfg.Log.Compact(b, index); err != nil {
		return fmt.Errorf("raftnode: compact log to %d: %w", index, err)
	}
	if err := b.Commit(true); err != nil {
		n.cfg.Log.DiscardPending()
		return fmt.Errorf("raftnode: compact log: %w", err)
	}
	n.cfg.Log.MarkDurable()
	n.log.Debug("compacted raft log", "index", index)
	return nil
}
