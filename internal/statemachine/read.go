package statemachine

import (
	"bytes"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/storage"
)

// Range serves a range read (see command.RangeRequest) from a consistent
// Pebble snapshot, without waiting for apply. It returns the result and the
// store revision the read was served at (as etcd's header revision: the
// current revision of the snapshot, also for reads at an older revision).
//
// Count is the number of keys in the range; KVs holds at most Limit of them
// in key order and More reports whether some were left out. CountOnly
// returns only Count; KeysOnly omits values. Errors wrap ErrInvalid,
// ErrCompacted (Revision below the compaction horizon) or
// ErrFutureRevision (Revision above the store's).
func (sm *StateMachine) Range(req *command.RangeRequest) (*command.RangeResult, int64, error) {
	return sm.RangeNow(req, 0)
}

// RangeNow is Range, but at the latest revision a key whose expiry is at
// or before now (Unix ms; 0: none) is left out, from KVs and from Count,
// so a limited range still returns up to Limit live keys.
func (sm *StateMachine) RangeNow(req *command.RangeRequest, now int64) (*command.RangeResult, int64, error) {
	if err := checkRange(req); err != nil {
		return nil, 0, err
	}
	snap := sm.db.NewSnapshot()
	defer snap.Close()
	rev, err := readInt64(snap, sm.keys.revision)
	if err != nil {
		return nil, 0, err
	}
	if req.Revision > 0 {
		if req.Revision > rev {
			return nil, rev, fmt.Errorf("statemachine: read at revision %d, current %d: %w", req.Revision, rev, ErrFutureRevision)
		}
		compacted, err := readInt64(snap, sm.keys.compacted)
		if err != nil {
			return nil, 0, err
		}
		if req.Revision < compacted {
			return nil, rev, fmt.Errorf("statemachine: read at revision %d, compacted up to %d: %w", req.Revision, compacted, ErrCompacted)
		}
	}
	if req.Revision > 0 {
		now = 0
	}
	res, err := sm.readRange(snap, req, now)
	if err != nil {
		return nil, 0, err
	}
	return res, rev, nil
}

// Get reads one key at revision rev (0 = latest). A missing key is
// (nil, revision, nil). At the latest revision it is a single Pebble Get
// outside any snapshot; the returned revision is then one the value is
// current at (the published revision, or the key's mod revision if the
// read raced with an apply that had committed but not yet published).
// Errors are as for Range.
func (sm *StateMachine) Get(key []byte, rev int64) (*command.KeyValue, int64, error) {
	if len(key) == 0 || rev < 0 {
		return nil, 0, fmt.Errorf("statemachine: get: %w", ErrInvalid)
	}
	if rev > 0 {
		res, cur, err := sm.Range(&command.RangeRequest{Key: key, Revision: rev})
		if err != nil || len(res.KVs) == 0 {
			return nil, cur, err
		}
		return res.KVs[0], cur, nil
	}
	// Load the revision before reading: the data is at least that new.
	cur := sm.revision.Load()
	var kv *command.KeyValue
	decode := func(b []byte) error {
		var rec record
		if err := decodeRecord(b, &rec); err != nil {
			return err
		}
		kv = rec.keyValue(key, false)
		return nil
	}
	lk := storage.LatestKey(sm.group, key)
	hit, gen, err := sm.cache.get(lk, decode)
	if !hit && err == nil {
		var buf []byte
		hit, err = newestVersion(sm.db, sm.group, key, &buf, func(b []byte) error {
			sm.cache.fill(lk, b, gen)
			return decode(b)
		})
	}
	if err != nil {
		return nil, 0, fmt.Errorf("statemachine: get %q: %w", key, err)
	}
	if !hit {
		return nil, cur, nil
	}
	cur = max(cur, kv.ModRevision)
	return kv, cur, nil
}

// checkRange validates the request-only parts of a range.
func checkRange(req *command.RangeRequest) error {
	switch {
	case len(req.Key) == 0:
		return fmt.Errorf("statemachine: range: empty key: %w", ErrInvalid)
	case req.Limit < 0:
		return fmt.Errorf("statemachine: range: negative limit: %w", ErrInvalid)
	case req.Revision < 0:
		return fmt.Errorf("statemachine: range: negative revision: %w", ErrInvalid)
	}
	return nil
}

// readRange serves a validated range from r: each key's newest history
// version for revision 0, else its newest version at or below the
// revision. The caller has checked the revision against
// the horizon and the store revision as r sees them. With now > 0 (Unix
// ms), a read of the latest revision skips keys whose expiry has passed
// (lazyexpiry.go); history is served as stored.
func (sm *StateMachine) readRange(r storage.Reader, req *command.RangeRequest, now int64) (*command.RangeResult, error) {
	c := collector{req: req, res: &command.RangeResult{}, now: now}
	var err error
	if req.Revision == 0 {
		err = sm.rangeLatest(r, &c)
	} else {
		err = sm.rangeAt(r, &c, req.Revision)
	}
	if err != nil {
		return nil, err
	}
	c.res.More = !req.CountOnly && c.res.Count > int64(len(c.res.KVs))
	return c.res, nil
}

// collector accumulates matching keys: all are counted, at most Limit are
// returned.
type collector struct {
	req *command.RangeRequest
	res *command.RangeResult
	rec record
	now int64  // hide keys expired at this time (Unix ms; 0 = none)
	key []byte // scratch: a decoded user key (add copies it)
}

// hidden reports whether a latest record is expired at c.now.
func (c *collector) hidden(rec []byte) (bool, error) {
	if c.now <= 0 {
		return false, nil
	}
	exp, err := recordExpiry(rec)
	return exp > 0 && exp <= c.now, err
}

// wants reports whether the next matching key goes into KVs.
func (c *collector) wants() bool {
	return !c.req.CountOnly && (c.req.Limit == 0 || int64(len(c.res.KVs)) < c.req.Limit)
}

// add counts a matching key and, if wanted, decodes its record.
func (c *collector) add(userKey, rec []byte) error {
	c.res.Count++
	if !c.wants() {
		return nil
	}
	if err := decodeRecord(rec, &c.rec); err != nil {
		return err
	}
	c.res.KVs = append(c.res.KVs, c.rec.keyValue(userKey, c.req.KeysOnly))
	return nil
}

// latestBounds returns the history bounds of the versions of the user keys
// in [key, end), and false if the span is empty.
func (sm *StateMachine) latestBounds(key, end []byte) (lower, upper []byte, ok bool) {
	if isEndOfKeyspace(end) {
		lower, upper = storage.HistoryRangeSpan(sm.group, key, nil)
		return lower, upper, true
	}
	if bytes.Compare(end, key) <= 0 {
		return nil, nil, false
	}
	lower, upper = storage.HistoryRangeSpan(sm.group, key, end)
	return lower, upper, true
}

// scanLatest calls fn, in key order, with the latest record of every user
// key whose versions are in the history span [lower, upper) as r sees it:
// each key's newest version, unless it is a tombstone. fn gets that
// version's history key and record, valid only during the call, and must
// not use the iterator's reader to write.
func scanLatest(r storage.Reader, lower, upper []byte, fn func(histKey, rec []byte) error) error {
	it := r.NewIter(lower, upper)
	for valid := it.First(); valid; valid = it.NextHistoryKey() {
		v := it.Value()
		if v == nil && it.Error() != nil {
			break
		}
		if isTombstone(v) {
			continue
		}
		if err := fn(it.Key(), v); err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

func (sm *StateMachine) rangeLatest(r storage.Reader, c *collector) error {
	req := c.req
	if len(req.End) == 0 {
		var buf []byte
		_, err := newestVersion(r, sm.group, req.Key, &buf, func(v []byte) error {
			if hide, err := c.hidden(v); hide || err != nil {
				return err
			}
			return c.add(req.Key, v)
		})
		return err
	}
	lower, upper, ok := sm.latestBounds(req.Key, req.End)
	if !ok {
		return nil
	}
	err := scanLatest(r, lower, upper, func(hk, v []byte) error {
		if c.now > 0 {
			if hide, err := c.hidden(v); hide || err != nil {
				return err
			}
		}
		if !c.wants() {
			c.res.Count++ // no need to load the value
			return nil
		}
		var err error
		if c.key, _, err = storage.AppendDecodedHistoryKey(c.key[:0], hk); err != nil {
			return err
		}
		return c.add(c.key, v)
	})
	if err != nil {
		return fmt.Errorf("statemachine: range: %w", err)
	}
	return nil
}

// rangeAt reads history: for each user key in the span, the newest version
// with revision <= rev, unless it is a tombstone. Per key it seeks to that
// version, then past the key's remaining versions.
func (sm *StateMachine) rangeAt(r storage.Reader, c *collector, rev int64) error {
	req := c.req
	var lower, upper []byte
	switch {
	case len(req.End) == 0:
		lower, upper = storage.HistoryKeySpan(sm.group, req.Key)
	case isEndOfKeyspace(req.End):
		lower = storage.AppendHistoryPrefix(nil, sm.group, req.Key)
		_, upper = storage.HistorySpan(sm.group)
	case bytes.Compare(req.End, req.Key) <= 0:
		return nil
	default:
		lower = storage.AppendHistoryPrefix(nil, sm.group, req.Key)
		upper = storage.AppendHistoryPrefix(nil, sm.group, req.End)
	}
	it := r.NewIter(lower, upper)
	var prefix, seek []byte
	valid := it.First()
	for valid {
		p, ok := storage.HistoryVersionPrefix(it.Key())
		if !ok {
			it.Close()
			return fmt.Errorf("statemachine: history key %q: %w", it.Key(), ErrCorrupt)
		}
		prefix = append(prefix[:0], p...)
		seek = storage.AppendHistoryVersion(append(seek[:0], prefix...), uint64(rev))
		valid = it.SeekGE(seek)
		if !valid || !isVersionOf(it.Key(), prefix) {
			continue // no version <= rev: it is at the next user key
		}
		switch v := it.Value(); {
		case isTombstone(v): // deleted as of rev
		case !c.wants():
			c.res.Count++
		default:
			var err error
			c.key, _, err = storage.AppendDecodedHistoryKey(c.key[:0], it.Key())
			if err == nil {
				err = c.add(c.key, v)
			}
			if err != nil {
				it.Close()
				return err
			}
		}
		valid = it.SeekGE(storage.AppendHistoryVersionsEnd(prefix))
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("statemachine: range: %w", err)
	}
	return nil
}

// isVersionOf reports whether history key k is a version of the user key
// whose version prefix is prefix.
func isVersionOf(k, prefix []byte) bool {
	return len(k) == len(prefix)+8 && bytes.HasPrefix(k, prefix)
}

// GetMany reads the latest version of each key from one consistent
// snapshot (Redis's MGET and EXISTS are atomic), in the order given;
// missing keys are nil. It returns the snapshot's revision.
func (sm *StateMachine) GetMany(keys [][]byte) ([]*command.KeyValue, int64, error) {
	for _, k := range keys {
		if len(k) == 0 {
			return nil, 0, fmt.Errorf("statemachine: get: empty key: %w", ErrInvalid)
		}
	}
	snap := sm.db.NewSnapshot()
	defer snap.Close()
	rev, err := readInt64(snap, sm.keys.revision)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*command.KeyValue, len(keys))
	var buf []byte
	var rec record
	for i, k := range keys {
		_, err := newestVersion(snap, sm.group, k, &buf, func(b []byte) error {
			if err := decodeRecord(b, &rec); err != nil {
				return err
			}
			out[i] = rec.keyValue(k, false)
			return nil
		})
		if err != nil {
			return nil, 0, fmt.Errorf("statemachine: get %q: %w", k, err)
		}
	}
	return out, rev, nil
}
