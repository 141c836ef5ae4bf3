package statemachine

import (
	"bytes"
	"fmt"

	"github.com/cairndb/cairn/internal/storage"
)

// compactor is the goroutine that physically removes history versions
// below the compaction horizon. Apply only raises MetaCompacted (reads
// below it fail from then on) and wakes the compactor; the compactor then
// makes passes over the history namespace, each pass to a fixed horizon,
// in small batches committed without sync. When a pass completes it writes
// the compactDone meta record in its last batch, so a restart only redoes
// an unfinished pass.
//
// The goroutine owns its state and takes no lock. It is driven by channels:
// wake (a new horizon), pause/resume (Restore and Reload: the restored data
// must not lose versions to a batch computed from the old data), sync
// (tests: wait until idle) and stop (Close). Control messages are handled
// between batches, so each waits for at most one batch.
//
// It only ever deletes history versions with revisions <= the committed
// horizon, which apply never writes (new versions get revisions above the
// store revision >= horizon), so it cannot race with apply.
type compactor struct {
	sm      *StateMachine
	wakeC   chan struct{} // capacity 1: a pending wake-up
	pauseC  chan chan struct{}
	resumeC chan struct{}
	syncC   chan chan error
	stopC   chan struct{}
	doneC   chan struct{}
}

func newCompactor(sm *StateMachine) *compactor {
	return &compactor{
		sm:      sm,
		wakeC:   make(chan struct{}, 1),
		pauseC:  make(chan chan struct{}),
		resumeC: make(chan struct{}),
		syncC:   make(chan chan error),
		stopC:   make(chan struct{}),
		doneC:   make(chan struct{}),
	}
}

// wake tells the compactor the horizon may have moved. It never blocks.
func (c *compactor) wake() {
	select {
	case c.wakeC <- struct{}{}:
	default:
	}
}

// pause returns once the compactor has finished its current batch and will
// write nothing more until resume.
func (c *compactor) pause() {
	ack := make(chan struct{})
	select {
	case c.pauseC <- ack:
		<-ack
	case <-c.doneC:
	}
}

// resume re-reads the compactor's progress from the database and lets it
// continue.
func (c *compactor) resume() {
	select {
	case c.resumeC <- struct{}{}:
	case <-c.doneC:
	}
}

// sync waits until the compactor is idle (every horizon compacted, or
// paused) and returns the error of its last batch, if any.
func (c *compactor) sync() error {
	reply := make(chan error, 1)
	select {
	case c.syncC <- reply:
		return <-reply
	case <-c.doneC:
		return ErrClosed
	}
}

func (c *compactor) stop() {
	close(c.stopC)
	<-c.doneC
}

// compactorState is the goroutine's own state.
type compactorState struct {
	done    int64        // horizon of the last completed pass
	pass    *compactPass // the pass in progress, if any
	paused  bool
	failed  error // last batch error; no retry until the next wake
	waiters []chan error
}

// closedC is always ready: the "work" case of the run loop's select, armed
// only while there is work.
var closedC = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (c *compactor) run() {
	defer close(c.doneC)
	var s compactorState
	c.reload(&s)
	for {
		if !s.paused && s.failed == nil && s.pass == nil {
			if h := c.sm.compacted.Load(); h > s.done {
				s.pass = &compactPass{horizon: h}
			}
		}
		var work <-chan struct{}
		if !s.paused && s.pass != nil {
			work = closedC
		} else {
			for _, w := range s.waiters {
				w <- s.failed
			}
			s.waiters = s.waiters[:0]
		}
		select {
		case <-c.stopC:
			return
		case <-c.wakeC:
			s.failed = nil
		case ack := <-c.pauseC:
			s.paused, s.pass = true, nil
			close(ack)
		case <-c.resumeC:
			s.paused, s.failed = false, nil
			c.reload(&s)
		case w := <-c.syncC:
			s.waiters = append(s.waiters, w)
		case <-work:
			finished, err := c.step(s.pass)
			switch {
			case err != nil:
				c.sm.log.Error("statemachine: compaction failed", "horizon", s.pass.horizon, "err", err)
				s.failed, s.pass = err, nil
			case finished:
				s.done, s.pass = s.pass.horizon, nil
			}
		}
	}
}

func (c *compactor) reload(s *compactorState) {
	done, err := readInt64(c.sm.db, c.sm.keys.compactDone)
	if err != nil {
		c.sm.log.Error("statemachine: read compaction progress", "err", err)
		done = 0 // redo a full pass: deleting is idempotent
	}
	s.done, s.pass = done, nil
}

// compactPass is one pass over the history namespace to a fixed horizon.
// Between batches it remembers where to resume, including when it is in
// the middle of a key's versions.
type compactPass struct {
	horizon int64
	next    []byte // history key to resume at; nil: the start of the namespace
	// inKey is the version prefix of the key whose versions below the kept
	// one are being deleted; tomb is that key's kept-but-tombstone version,
	// deleted only after all versions beneath it (so no batch boundary can
	// let an older version reappear).
	inKey []byte
	tomb  []byte
	// scratch
	prefix, seek []byte
}

// step deletes up to CompactBatchSize versions (examining at most 8 times
// as many keys) in one batch and reports whether the pass is complete.
func (c *compactor) step(p *compactPass) (finished bool, err error) {
	sm := c.sm
	limit := sm.opts.CompactBatchSize
	lower, upper := storage.HistorySpan(sm.group)
	if p.next != nil {
		lower = p.next
	}
	b := sm.db.NewBatch()
	defer b.Close()
	it := sm.db.NewIter(lower, upper)
	deletes, steps := 0, 0
	valid := it.First()
	for valid && deletes < limit && steps < 8*limit {
		steps++
		k := it.Key()
		if p.inKey != nil {
			if isVersionOf(k, p.inKey) {
				b.Delete(k)
				deletes++
				valid = it.Next()
				continue
			}
			p.finishKey(b)
			continue
		}
		prefix, ok := storage.HistoryVersionPrefix(k)
		if !ok {
			it.Close()
			return false, fmt.Errorf("statemachine: compaction: history key %q: %w", k, ErrCorrupt)
		}
		p.prefix = append(p.prefix[:0], prefix...)
		p.seek = storage.AppendHistoryVersion(append(p.seek[:0], p.prefix...), uint64(p.horizon))
		valid = it.SeekGE(p.seek)
		if !valid || !isVersionOf(it.Key(), p.prefix) {
			continue // no version <= horizon: at the next user key
		}
		// The newest version <= horizon: kept, unless a tombstone.
		p.inKey = bytes.Clone(p.prefix)
		if isTombstone(it.Value()) {
			p.tomb = bytes.Clone(it.Key())
		}
		valid = it.Next()
	}
	if valid {
		p.next = bytes.Clone(it.Key())
	} else {
		finished = true
		p.finishKey(b)
	}
	if err := it.Close(); err != nil {
		return false, fmt.Errorf("statemachine: compaction: %w", err)
	}
	if finished {
		// The change index below the horizon goes with the pass: watches
		// from there are refused (ErrCompacted) since the horizon rose.
		b.DeleteRange(storage.ChangeSpan(sm.group, 0, uint64(p.horizon)+1))
		putInt64(b, sm.keys.compactDone, p.horizon)
	}
	if b.Empty() {
		return finished, nil
	}
	if err := b.Commit(false); err != nil {
		return false, fmt.Errorf("statemachine: compaction: %w", err)
	}
	return finished, nil
}

// finishKey ends the current key: its tombstone goes in the same batch as
// (or after) the last of the versions beneath it.
func (p *compactPass) finishKey(b *storage.Batch) {
	if p.tomb != nil {
		b.Delete(p.tomb)
	}
	p.inKey, p.tomb = nil, nil
}
