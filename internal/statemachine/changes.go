package statemachine

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/watch"
)

// Changes for watches.
//
// Every write the central helpers make (put, deleteKey) also writes
// ChangeKey(g, rev, key) -> event type in the same batch: the change index
// that replays read in revision order (Changes below). The entry holds
// one byte; values come from the key's history at read time.
//
// For live delivery, when the ChangeSink (the watch hub) has watchers or
// subscribers, the applier also collects each change as a watch.Event
// (key, value and previous value copied into one arena per Apply call)
// and each published message, and hands them to the sink after the
// batch commits and before results are delivered. With nobody watching
// nothing is collected and nothing allocated.

// ChangeSink receives committed changes: internal/watch.Hub implements
// it. Begin and Committed are called from the raft goroutine around every
// Apply call; Reset at Open and after Reload.
type ChangeSink interface {
	// Begin reports whether this Apply should collect events.
	Begin() bool
	// Committed hands over the store revision and, when Begin asked, the
	// collected events and messages (the sink keeps them); it returns the
	// number of local receivers of each message.
	Committed(rev int64, events []watch.Event, msgs []watch.Message) []int
	// Reset says the store was loaded at rev (open, snapshot restore).
	Reset(rev int64)
}

var _ ChangeSink = (*watch.Hub)(nil)

// changeCollector is the applier's change collection state.
type changeCollector struct {
	collect bool
	op      string // keyspace event name of the writes being applied; "" = the type's default
	events  []watch.Event
	msgs    []watch.Message
	pubRes  []*command.PublishResult // the result of each msg
	arena   []byte                   // keys and values of events; never reused once handed over
	done    bool

	// The change index entries of the apply, written to the batch together
	// (flushChanges) rather than as each write happens: they are
	// revision-ordered, so written one after another they are neighbours
	// in the memtable, where Pebble's inserter reuses the previous
	// insert's position instead of walking the skiplist from the top (a
	// cache miss per level; memtable inserts were the top non-syscall cost
	// in write profiles).
	pendingKeys []byte  // the entries' keys, concatenated
	pendingEnds []int32 // end of each key in pendingKeys
	pendingType []byte  // event type of each entry
}

func (c *changeCollector) begin(sink ChangeSink) {
	c.collect = sink != nil && sink.Begin()
	c.done = false
}

// commit hands the collected changes to the sink.
func (c *changeCollector) commit(sink ChangeSink, rev int64) {
	if sink == nil {
		return
	}
	c.done = true
	c.canonical()
	receivers := sink.Committed(rev, c.events, c.msgs)
	for i, r := range c.pubRes {
		if i < len(receivers) {
			r.Receivers = int64(receivers[i])
		}
	}
	c.reset()
}

func cmpEvent(x, y watch.Event) int {
	if x.Revision != y.Revision {
		return cmpInt(x.Revision, y.Revision)
	}
	return bytes.Compare(x.Key, y.Key)
}

// end closes the Begin of an Apply that committed nothing (or failed).
func (c *changeCollector) end(sink ChangeSink, rev int64) {
	if sink != nil && !c.done {
		sink.Committed(rev, nil, nil)
	}
	c.reset()
}

func (c *changeCollector) reset() {
	c.collect = false
	c.events, c.msgs, c.pubRes, c.arena = nil, nil, nil, nil
}

// copy returns b copied into the arena (nil for nil).
func (c *changeCollector) copy(b []byte) []byte {
	if b == nil {
		return nil
	}
	if cap(c.arena)-len(c.arena) < len(b) {
		c.arena = make([]byte, 0, max(4096, 2*len(b)))
	}
	n := len(c.arena)
	c.arena = append(c.arena, b...)
	return c.arena[n:len(c.arena):len(c.arena)]
}

// add collects one change.
// vtype and ptype are the value types of value and prev.
func (c *changeCollector) add(t watch.EventType, key, value []byte, vtype command.ValueType, prev []byte, ptype command.ValueType, prevExists bool, rev int64) {
	ev := watch.Event{Revision: rev, Type: t, Key: c.copy(key), Value: c.copy(value), ValueType: vtype, PrevExists: prevExists, Op: c.op}
	if prevExists {
		ev.PrevValue, ev.PrevType = c.copy(prev), ptype
	}
	c.events = append(c.events, ev)
}

// canonical puts the events in (revision, key) order, as the change index
// has them, and merges the writes of one key in one revision (a txn may
// mutate a key several times) into one: the last write, with the value
// before the first, as history keeps only the last write of a revision.
// The merged event keeps the keyspace event names of all the writes, in
// order (Event.Ops): Redis sends one notification per write.
func (c *changeCollector) canonical() {
	if !slices.IsSortedFunc(c.events, cmpEvent) {
		slices.SortStableFunc(c.events, cmpEvent)
	}
	out := c.events[:0]
	for i := range c.events {
		ev := c.events[i]
		if n := len(out); n > 0 && cmpEvent(out[n-1], ev) == 0 {
			first := &out[n-1]
			ev.PrevValue, ev.PrevType, ev.PrevExists = first.PrevValue, first.PrevType, first.PrevExists
			ops := first.Ops
			if ops == nil {
				ops = []string{first.OpName()}
			}
			ev.Ops = append(ops, ev.OpName())
			out[n-1] = ev
			continue
		}
		out = append(out, ev)
	}
	clear(c.events[len(out):])
	c.events = out
}

// recordChange records the change index entry of a write of key at rev;
// flushChanges writes it to the batch.
func (a *applier) recordChange(t watch.EventType, key []byte, rev int64) {
	a.changes++
	c := &a.chg
	c.pendingKeys = storage.AppendChangeKey(c.pendingKeys, a.sm.group, uint64(rev), key)
	c.pendingEnds = append(c.pendingEnds, int32(len(c.pendingKeys)))
	c.pendingType = append(c.pendingType, byte(t))
}

// flushChanges writes the recorded change index entries to the batch, in
// the order recorded. Anything that reads the change index through the
// batch calls it first.
func (a *applier) flushChanges() {
	c := &a.chg
	start := int32(0)
	for i, end := range c.pendingEnds {
		a.batch.Set(c.pendingKeys[start:end], c.pendingType[i:i+1])
		start = end
	}
	c.dropPending()
}

// dropPending forgets recorded entries (written, or the apply failed).
func (c *changeCollector) dropPending() {
	c.pendingKeys = c.pendingKeys[:0]
	c.pendingEnds = c.pendingEnds[:0]
	c.pendingType = c.pendingType[:0]
}

// applyPublish hands a published message to the sink; it changes nothing
// stored.
func (a *applier) applyPublish(res *command.Result, p *command.PublishRequest) {
	pr := &command.PublishResult{}
	res.Publish = pr
	if !a.chg.collect {
		return
	}
	a.chg.msgs = append(a.chg.msgs, watch.Message{Channel: p.Channel, Payload: p.Message})
	a.chg.pubRes = append(a.chg.pubRes, pr)
}

// Changes implements watch.Source: it reads the change index between from
// and to (inclusive) on one Pebble snapshot, with values from history.
func (sm *StateMachine) Changes(from, to int64, match func(key []byte) bool, withPrev bool, limit int) ([]watch.Event, int64, error) {
	snap := sm.db.NewSnapshot()
	defer snap.Close()
	// Loaded after the snapshot: the compactor deletes only below a
	// horizon published before it starts, so the snapshot holds every
	// change above this one.
	if c := sm.compacted.Load(); from <= c {
		return nil, 0, &watch.CompactedError{Requested: from, Oldest: c + 1}
	}
	if from < 1 {
		from = 1
	}
	if to < from {
		return nil, to + 1, nil
	}
	lower, upper := storage.ChangeSpan(sm.group, uint64(from), uint64(to)+1)
	it := snap.NewIter(lower, upper)
	defer it.Close()
	var hist *storage.Iter
	defer func() {
		if hist != nil {
			hist.Close()
		}
	}()
	var events []watch.Event
	var histKey []byte
	next := to + 1
	for valid := it.First(); valid; valid = it.Next() {
		urev, key, err := storage.DecodeChangeKey(it.Key())
		if err != nil {
			return nil, 0, fmt.Errorf("statemachine: change index: %w", ErrCorrupt)
		}
		rev := int64(urev)
		if len(events) >= limit && rev != events[len(events)-1].Revision {
			next = rev
			break
		}
		if !match(key) {
			continue
		}
		v := it.Value()
		if len(v) != 1 || !watch.EventType(v[0]).Valid() {
			return nil, 0, fmt.Errorf("statemachine: change index entry at %d: %w", rev, ErrCorrupt)
		}
		ev := watch.Event{Revision: rev, Type: watch.EventType(v[0]), Key: append([]byte(nil), key...)}
		if ev.Type == watch.Put || withPrev {
			if hist == nil {
				hl, hu := storage.HistorySpan(sm.group)
				hist = snap.NewIter(hl, hu)
			}
			histKey = storage.AppendHistoryKey(histKey[:0], sm.group, key, urev)
			if err := readVersions(hist, histKey, &ev, withPrev); err != nil {
				return nil, 0, err
			}
		}
		events = append(events, ev)
	}
	if err := it.Error(); err != nil {
		return nil, 0, fmt.Errorf("statemachine: read changes: %w", err)
	}
	return events, next, nil
}

// readVersions fills ev's value from the history version at histKey and,
// with prev, its previous value from the version beneath.
func readVersions(hist *storage.Iter, histKey []byte, ev *watch.Event, prev bool) error {
	if !hist.SeekGE(histKey) || string(hist.Key()) != string(histKey) {
		return fmt.Errorf("statemachine: history of %q at %d missing: %w", ev.Key, ev.Revision, ErrCorrupt)
	}
	var r record
	if err := decodeRecord(hist.Value(), &r); err != nil {
		return err
	}
	if ev.Type == watch.Put {
		ev.Value, ev.ValueType = append([]byte(nil), r.value...), r.vtype
	}
	if !prev {
		return nil
	}
	prefix, _ := storage.HistoryVersionPrefix(histKey)
	if !hist.Next() || !isVersionOf(hist.Key(), prefix) {
		return hist.Error()
	}
	if err := decodeRecord(hist.Value(), &r); err != nil {
		return err
	}
	if !r.tombstone {
		ev.PrevValue, ev.PrevType, ev.PrevExists = append([]byte{}, r.value...), r.vtype, true
	}
	return nil
}
