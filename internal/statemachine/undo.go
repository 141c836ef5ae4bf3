package statemachine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/watch"
)

// Undo and redo, cluster-wide and deterministic.
//
// A change is a revision that wrote keys (it has entries in the change
// index). The done list is every change, newest first, except undo writes
// and changes already undone; the redo stack holds the undone changes,
// most recent on top, each with the revision of the undo that reverted it.
//
//   - Undo takes the newest change on the done list, r, and writes, at a new
//     revision U, the version each key r touched had just before r (a delete
//     if it did not exist). U is marked as an undo write and r as undone,
//     and (r, U) is pushed on the redo stack.
//   - Redo pops (r, U) and writes, at a new revision, the version each key
//     had at r. That revision is an ordinary change: the next undo reverts
//     it (which restores the state U had produced).
//   - Any other change clears the redo stack, as an editor does.
//
// Both refuse, changing nothing, if a key they would restore no longer
// holds what the change left in it (for undo: the version written at r;
// for redo: the version U wrote) — some later write would be lost.
// Content is compared (existence, value type and value), not revisions, so
// a redo after undoing two changes in a row sees the state the second
// undo's revert left and is allowed.
//
// Only changes within the retained history (above the compaction horizon)
// can be undone. Marks are a few bytes per undo and are not compacted.

const (
	// maxUndoScan bounds the change-index entries an undo examines to find
	// its target (the done list can have long undone stretches).
	maxUndoScan = 100000
	// maxUndoKeys bounds the keys one undo or redo rewrites.
	maxUndoKeys = 10000
	// maxRedoDepth bounds the redo stack; the oldest entries are dropped.
	maxRedoDepth = 1000
)

// undoPair is one redo-stack entry: change r was undone at revision u.
type undoPair struct{ r, u int64 }

// loadRedo reads the redo stack into a.redo once per Open or Reload.
func (a *applier) loadRedo() error {
	if a.redoLoaded {
		return nil
	}
	a.redo = a.redo[:0]
	err := a.batch.GetFunc(storage.UndoKey(a.sm.group, storage.UndoStack, 0), func(b []byte) error {
		for len(b) > 0 {
			r, n := binary.Varint(b)
			if n <= 0 {
				return fmt.Errorf("statemachine: redo stack: %w", ErrCorrupt)
			}
			u, m := binary.Varint(b[n:])
			if m <= 0 {
				return fmt.Errorf("statemachine: redo stack: %w", ErrCorrupt)
			}
			a.redo = append(a.redo, undoPair{r, u})
			b = b[n+m:]
		}
		return nil
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	a.redoLoaded = true
	return nil
}

func (a *applier) saveRedo() {
	key := storage.UndoKey(a.sm.group, storage.UndoStack, 0)
	if len(a.redo) == 0 {
		a.batch.Delete(key)
		return
	}
	var b []byte
	for _, p := range a.redo {
		b = binary.AppendVarint(b, p.r)
		b = binary.AppendVarint(b, p.u)
	}
	a.batch.Set(key, b)
}

// clearRedo empties the redo stack after an ordinary change.
func (a *applier) clearRedo() error {
	if err := a.loadRedo(); err != nil {
		return err
	}
	if len(a.redo) > 0 {
		a.redo = a.redo[:0]
		a.saveRedo()
	}
	return nil
}

func (a *applier) marked(kind byte, rev uint64) (bool, error) {
	_, err := a.batch.Get(storage.UndoKey(a.sm.group, kind, rev))
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (a *applier) applyUndo(res *command.Result, u *command.UndoRequest) error {
	if err := a.loadRedo(); err != nil {
		return err
	}
	ur := &command.UndoResult{}
	res.Undo = ur
	rev := a.rev + 1
	var code string
	var err error
	if u.Redo {
		code, err = a.redoLast(ur, rev)
	} else {
		code, err = a.undoLast(ur, rev)
	}
	if err != nil {
		return err
	}
	if code != "" {
		res.Err = code
		return nil
	}
	a.rev = rev
	return nil
}

// undoTarget finds the newest change on the done list and the keys it
// touched; 0 if there is none within the retained history. Revisions
// whose only writes are expiries (a lease or TTL ran out) are not changes
// anyone made: they are skipped, and undoing past them is refused by the
// conflict check, as resurrecting an expired key would be wrong.
func (a *applier) undoTarget() (int64, [][]byte, string, error) {
	a.flushChanges() // the iterator must see this apply's entries
	lower, upper := storage.ChangeSpan(a.sm.group, uint64(a.compacted)+1, uint64(a.rev)+1)
	it := a.batch.NewIter(lower, upper)
	defer it.Close()
	var (
		cur     uint64   // revision being gathered
		keys    [][]byte // its keys
		byUser  bool     // it has a write other than an expiry
		scanned int
	)
	// decide reports whether the gathered revision is the target.
	decide := func() (bool, error) {
		if cur == 0 || !byUser {
			return false, nil
		}
		for _, kind := range []byte{storage.UndoWrite, storage.UndoUndone} {
			if m, err := a.marked(kind, cur); err != nil || m {
				return false, err
			}
		}
		return true, nil
	}
	for valid := it.Last(); valid && scanned < maxUndoScan; valid = it.Prev() {
		scanned++
		r, uk, err := storage.DecodeChangeKey(it.Key())
		if err != nil {
			return 0, nil, "", err
		}
		if r != cur {
			if ok, err := decide(); err != nil || ok {
				return int64(cur), keys, "", err
			}
			cur, keys, byUser = r, keys[:0], false
		}
		if len(keys) == maxUndoKeys {
			return 0, nil, command.ErrCodeTooLarge, nil
		}
		keys = append(keys, bytes.Clone(uk))
		if v := it.Value(); len(v) != 1 || watch.EventType(v[0]) != watch.Expire {
			byUser = true
		}
	}
	if scanned == maxUndoScan {
		return 0, nil, "", nil // cur may be cut short: nothing within reach
	}
	if ok, err := decide(); err != nil || ok {
		return int64(cur), keys, "", err
	}
	return 0, nil, "", nil
}

func (a *applier) undoLast(ur *command.UndoResult, rev int64) (string, error) {
	target, keys, code, err := a.undoTarget()
	if err != nil || code != "" {
		return code, err
	}
	if target == 0 {
		return command.ErrCodeNothingToUndo, nil
	}
	ur.Target = target
	restore := make([]version, len(keys))
	for i, k := range keys {
		if code, err := a.checkUnchanged(ur, k, target); err != nil || code != "" {
			return code, err
		}
		if restore[i], err = a.versionAt(k, target-1); err != nil {
			return "", err
		}
	}
	if err := a.restore(keys, restore, rev); err != nil {
		return "", err
	}
	ur.Keys = int64(len(keys))
	a.batch.Set(storage.UndoKey(a.sm.group, storage.UndoWrite, uint64(rev)), binary.AppendVarint(nil, target))
	a.batch.Set(storage.UndoKey(a.sm.group, storage.UndoUndone, uint64(target)), binary.AppendVarint(nil, rev))
	a.redo = append(a.redo, undoPair{target, rev})
	if len(a.redo) > maxRedoDepth {
		a.redo = append(a.redo[:0], a.redo[len(a.redo)-maxRedoDepth:]...)
	}
	a.saveRedo()
	return "", nil
}

func (a *applier) redoLast(ur *command.UndoResult, rev int64) (string, error) {
	if len(a.redo) == 0 {
		return command.ErrCodeNothingToRedo, nil
	}
	top := a.redo[len(a.redo)-1]
	ur.Target = top.r
	if top.r <= a.compacted {
		return command.ErrCodeCompacted, nil
	}
	// The keys the undo at top.u rewrote are the keys change top.r touched.
	a.flushChanges() // the iterator must see this apply's entries
	lower, upper := storage.ChangeSpan(a.sm.group, uint64(top.u), uint64(top.u)+1)
	it := a.batch.NewIter(lower, upper)
	var keys [][]byte
	for valid := it.First(); valid; valid = it.Next() {
		_, uk, err := storage.DecodeChangeKey(it.Key())
		if err != nil {
			it.Close()
			return "", err
		}
		keys = append(keys, bytes.Clone(uk))
	}
	if err := it.Close(); err != nil {
		return "", fmt.Errorf("statemachine: redo: %w", err)
	}
	restore := make([]version, len(keys))
	for i, k := range keys {
		if code, err := a.checkUnchanged(ur, k, top.u); err != nil || code != "" {
			return code, err
		}
		var err error
		if restore[i], err = a.versionAt(k, top.r); err != nil {
			return "", err
		}
	}
	if err := a.restore(keys, restore, rev); err != nil {
		return "", err
	}
	ur.Keys = int64(len(keys))
	a.redo = a.redo[:len(a.redo)-1]
	a.saveRedo()
	return "", nil
}

// version is a key's state at some revision: absent, or a live record
// (whose value the version owns).
type version struct {
	live bool
	rec  record
}

// versionAt returns k's version as of revision rev, through the batch.
func (a *applier) versionAt(k []byte, rev int64) (version, error) {
	prefix := storage.AppendHistoryPrefix(nil, a.sm.group, k)
	lower := storage.AppendHistoryVersion(bytes.Clone(prefix), uint64(rev))
	it := a.batch.NewIter(lower, storage.AppendHistoryVersionsEnd(prefix))
	var v version
	if it.First() {
		if err := decodeRecord(it.Value(), &v.rec); err != nil {
			it.Close()
			return version{}, err
		}
		v.live = !v.rec.tombstone
		v.rec.value = bytes.Clone(v.rec.value)
	}
	if err := it.Close(); err != nil {
		return version{}, fmt.Errorf("statemachine: read history of %q: %w", k, err)
	}
	return v, nil
}

// checkUnchanged reports ErrCodeUndoConflict (naming k in ur) unless k's
// latest state is the one it had at revision at.
func (a *applier) checkUnchanged(ur *command.UndoResult, k []byte, at int64) (string, error) {
	then, err := a.versionAt(k, at)
	if err != nil {
		return "", err
	}
	a.keyBuf = storage.AppendLatestKey(a.keyBuf[:0], a.sm.group, k)
	found, err := a.getLatest(a.keyBuf)
	if err != nil {
		return "", err
	}
	same := found == then.live
	if same && found {
		same = a.got.vtype == then.rec.vtype && bytes.Equal(a.got.value, then.rec.value)
	}
	if !same {
		ur.ConflictKey = bytes.Clone(k)
		return command.ErrCodeUndoConflict, nil
	}
	return "", nil
}

// restore writes each key's version at rev: the record's value, type and
// expiry, and its lease if that still exists; a delete for an absent one.
func (a *applier) restore(keys [][]byte, vs []version, rev int64) error {
	for i, k := range keys {
		v := vs[i]
		if !v.live {
			a.keyBuf = storage.AppendLatestKey(a.keyBuf[:0], a.sm.group, k)
			found, err := a.getLatest(a.keyBuf)
			if err != nil {
				return err
			}
			if found {
				if err := a.deleteKey(k, rev, watch.Delete); err != nil {
					return err
				}
			}
			continue
		}
		lease := v.rec.lease
		if _, ok, err := a.leaseTTL(lease); err != nil {
			return err
		} else if !ok {
			lease = 0
		}
		p := &command.PutRequest{Key: k, Value: v.rec.value, Lease: lease}
		if _, err := a.putFull(p, v.rec.vtype, v.rec.expire, rev); err != nil {
			return err
		}
	}
	return nil
}
