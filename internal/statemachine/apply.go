package statemachine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/membership"
	"github.com/cairndb/cairn/internal/raftnode"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/watch"
	pb "go.etcd.io/raft/v3/raftpb"
)

// applier is the apply state, owned by the raft goroutine. Its buffers are
// reused across calls.
type applier struct {
	sm    *StateMachine
	batch *storage.Batch // indexed: requests read the writes of earlier ones

	// rev and compacted track the store during one Apply call; they are
	// published to sm after the batch commits.
	rev       int64
	compacted int64
	results   []*command.Result

	// changes counts change-index entries written (recordChange); redo is
	// the redo stack (undo.go), read from the store once per Open/Reload.
	changes    uint64
	redo       []undoPair
	redoLoaded bool

	// pending holds the latest records written by the current Apply call
	// (nil: deleted), by latest key: they shadow the latest cache until the
	// batch commits and they are moved into it.
	pending map[string][]byte

	keyBuf  []byte // latest key
	histBuf []byte // history key
	spanBuf []byte // bounds of a key's versions (newestVersion)
	valBuf  []byte // encoded record
	mutBuf  []byte // new value built by a mutate
	idxBuf  []byte // lease namespace key (lease.go)

	// Change collection for watches (changes.go).
	chg changeCollector

	// scanBudget is what the current txn's span compares may still read of
	// the change index (unchanged.go).
	scanBudget int

	// getLatest's output, kept here so the GetFunc callback is allocated
	// once. got.value aliases gotVal.
	got    record
	gotVal []byte
	getFn  func([]byte) error

	// Lazy expiry (lazyexpiry.go): now is the clock of the request being
	// applied (command.Request.Now; 0 = none); expiryFn reads a record's
	// expiry into gotExp.
	now      int64
	gotExp   int64
	expiryFn func([]byte) error

	// dd holds the proposers' dedup windows (dedup.go).
	dd dedupState
}

func (a *applier) init(sm *StateMachine) {
	a.sm = sm
	a.batch = sm.db.NewIndexedBatch()
	a.pending = make(map[string][]byte)
	a.getFn = func(b []byte) error {
		if err := decodeRecord(b, &a.got); err != nil {
			return err
		}
		a.gotVal = append(a.gotVal[:0], a.got.value...)
		a.got.value = a.gotVal
		return nil
	}
	a.expiryFn = func(b []byte) (err error) {
		a.gotExp, err = recordExpiry(b)
		return err
	}
}

// Apply applies committed entries in order (see raftnode.StateMachine).
// Entries at or below the applied index are skipped. All effects, the
// applied index, revision, compaction horizon, conf state and members are
// written in one batch, committed without sync; then the in-memory state is
// published, then OnResult is called for each result and OnMembers if the
// membership changed. An error (storage failure, corrupt data, a gap in
// the log) leaves nothing applied and should stop the node.
func (sm *StateMachine) Apply(entries []raftnode.Entry) error {
	return sm.ap.apply(entries)
}

func (a *applier) apply(entries []raftnode.Entry) (err error) {
	sm := a.sm
	startApplied := sm.applied.Load()
	applied := startApplied
	a.rev = sm.revision.Load()
	a.compacted = sm.compacted.Load()
	startRev, startCompacted := a.rev, a.compacted
	a.results = a.results[:0]
	a.chg.begin(sm.opts.Changes)
	defer func() {
		if err != nil {
			// Nothing of this call was committed: in-memory state built
			// from it (the redo stack) is re-read from the store.
			a.redoLoaded = false
		}
		a.endDedup(err != nil)
		a.batch.Reset()
		a.chg.dropPending()
		clear(a.pending)
		clear(a.results[:cap(a.results)]) // drop references to delivered results
		a.chg.end(sm.opts.Changes, sm.revision.Load())
	}()

	var members []membership.Member
	var confState *pb.ConfState
	var removed []uint64
	membersChanged, removedChanged := false, false
	for i := range entries {
		e := &entries[i]
		if e.Index <= applied {
			continue
		}
		if e.Index != applied+1 {
			return fmt.Errorf("statemachine: entry %d follows applied index %d: gap in the log", e.Index, applied)
		}
		for _, p := range e.Proposals {
			if err := a.applyProposal(e.Index, p); err != nil {
				return err
			}
		}
		if e.ConfChange != nil {
			if !membersChanged {
				members = sm.Members()
				confState = sm.ConfState()
				removed = sm.RemovedIDs()
			}
			var err error
			if members, confState, err = a.applyConfChange(e, members, confState); err != nil {
				return err
			}
			membersChanged = true
			var changed bool
			if removed, changed = updateRemoved(removed, e.ConfChange); changed {
				b, err := json.Marshal(removed)
				if err != nil {
					return fmt.Errorf("statemachine: encode removed members: %w", err)
				}
				a.batch.Set(sm.keys.removed, b)
				removedChanged = true
			}
		}
		applied = e.Index
	}
	if applied == startApplied {
		return nil
	}
	a.flushChanges()
	a.flushDedup()
	putUint64(a.batch, sm.keys.applied, applied)
	if a.rev != startRev {
		putInt64(a.batch, sm.keys.revision, a.rev)
	}
	if a.compacted != startCompacted {
		putInt64(a.batch, sm.keys.compacted, a.compacted)
	}
	if err := a.batch.Commit(false); err != nil {
		return fmt.Errorf("statemachine: apply up to %d: %w", applied, err)
	}
	// Before the applied index is published: readers that wait for it must
	// find these records in the cache (see latestCache).
	for k, rec := range a.pending {
		sm.cache.update(k, rec)
	}

	sm.revision.Store(a.rev)
	sm.compacted.Store(a.compacted)
	sm.applied.Store(applied)
	if membersChanged {
		sm.setMembers(members, confState)
	}
	if removedChanged {
		sm.setRemoved(removed)
	}
	if a.compacted != startCompacted {
		sm.comp.wake()
	}
	a.chg.commit(sm.opts.Changes, a.rev)
	if sm.opts.OnResult != nil {
		for _, r := range a.results {
			sm.opts.OnResult(r)
		}
	}
	if membersChanged && sm.opts.OnMembers != nil {
		sm.opts.OnMembers(slices.Clone(members))
	}
	return nil
}

func (a *applier) applyProposal(index uint64, p []byte) error {
	req, err := command.DecodeRequest(p)
	if err != nil {
		// Deterministic on every node: the entry is permanently in the log.
		a.sm.log.Error("statemachine: skipping undecodable proposal", "index", index, "err", err)
		return nil
	}
	res := &command.Result{ID: req.ID}
	if req.ID != 0 {
		// Before anything the request could change (dedup.go).
		code, high, err := a.dedup(req.ID)
		if err != nil {
			return err
		}
		if code != "" {
			res.Err, res.Revision = code, a.rev
			if code == command.ErrCodeStaleRequest {
				res.Stale = &command.StaleResult{High: high}
			}
			a.results = append(a.results, res)
			return nil
		}
	}
	a.chg.op = "" // writes get their default event names unless a mutate names them
	changesBefore := a.changes
	a.now = req.Now
	if err := a.expireDue(req); err != nil {
		return err
	}
	switch {
	case req.Put != nil:
		err = a.applyPut(res, req.Put)
	case req.Delete != nil:
		err = a.applyDelete(res, req.Delete)
	case req.Txn != nil:
		err = a.applyTxn(res, req.Txn)
	case req.Compact != nil:
		a.applyCompact(res, req.Compact)
	case req.Mutate != nil:
		err = a.applyMutate(res, req.Mutate)
	case req.Doc != nil:
		err = a.applyDoc(res, req.Doc)
	case req.LeaseGrant != nil:
		err = a.applyLeaseGrant(res, req.LeaseGrant)
	case req.LeaseRevoke != nil:
		err = a.applyLeaseRevoke(res, req.LeaseRevoke)
	case req.LeaseKeepAlive != nil:
		err = a.applyLeaseKeepAlive(res, req.LeaseKeepAlive)
	case req.Expire != nil:
		err = a.applyExpire(res, req.Expire)
	case req.Lock != nil:
		err = a.applyLock(res, req.Lock)
	case req.Fence != nil:
		err = a.applyFence(res, req.Fence)
	case req.Publish != nil:
		a.applyPublish(res, req.Publish)
	case req.Undo != nil:
		err = a.applyUndo(res, req.Undo)
	default:
		res.Err = command.ErrCodeInvalid
	}
	if err == nil && req.Undo == nil && a.changes != changesBefore {
		err = a.clearRedo() // a new change: nothing to redo any more
	}
	if err != nil {
		return err
	}
	res.Revision = a.rev
	a.results = append(a.results, res)
	return nil
}

func (a *applier) applyPut(res *command.Result, p *command.PutRequest) error {
	if len(p.Key) == 0 {
		res.Err = command.ErrCodeInvalid
		return nil
	}
	if p.Lease != 0 {
		if _, found, err := a.leaseTTL(p.Lease); err != nil || !found {
			if err == nil {
				res.Err = command.ErrCodeLeaseNotFound
			}
			return err
		}
	}
	pr, err := a.put(p, a.rev+1)
	if err != nil {
		return err
	}
	a.rev++
	res.Put = pr
	return nil
}

func (a *applier) applyDelete(res *command.Result, d *command.DeleteRequest) error {
	if len(d.Key) == 0 {
		res.Err = command.ErrCodeInvalid
		return nil
	}
	dr, err := a.delete(d, a.rev+1)
	if err != nil {
		return err
	}
	if dr.Deleted > 0 {
		a.rev++
	}
	res.Delete = dr
	return nil
}

func (a *applier) applyCompact(res *command.Result, c *command.CompactRequest) {
	switch {
	case c.Revision < 0:
		res.Err = command.ErrCodeInvalid
	case c.Revision > a.rev:
		res.Err = command.ErrCodeFutureRev
	case c.Revision > a.compacted:
		a.compacted = c.Revision
	}
}

func (a *applier) applyTxn(res *command.Result, t *command.TxnRequest) error {
	if code := validateTxn(t); code != "" {
		res.Err = code
		return nil
	}
	ok := true
	a.scanBudget = maxUnchangedScan
	for i := range t.Compares {
		holds, err := a.compare(&t.Compares[i])
		if err != nil {
			return err
		}
		if !holds {
			ok = false
			break
		}
	}
	ops := t.Failure
	if ok {
		ops = t.Success
	}
	if leasesOK, err := a.checkLeases(ops); err != nil || !leasesOK {
		if !leasesOK {
			res.Err = command.ErrCodeLeaseNotFound
		}
		return err
	}
	for i := range ops {
		if r := ops[i].Range; r != nil && r.Revision > 0 {
			if r.Revision > a.rev {
				res.Err = command.ErrCodeFutureRev
				return nil
			}
			if r.Revision < a.compacted {
				res.Err = command.ErrCodeCompacted
				return nil
			}
		}
	}

	rev := a.rev + 1
	wrote := false
	tr := &command.TxnResult{Succeeded: ok}
	if len(ops) > 0 {
		tr.Results = make([]command.TxnOpResult, len(ops))
	}
	for i := range ops {
		op, out := &ops[i], &tr.Results[i]
		var err error
		switch {
		case op.Put != nil:
			out.Put, err = a.put(op.Put, rev)
			wrote = true
		case op.Delete != nil:
			out.Delete, err = a.delete(op.Delete, rev)
			if err == nil && out.Delete.Deleted > 0 {
				wrote = true
			}
		case op.Range != nil:
			out.Range, err = a.sm.readRange(a.batch, op.Range, a.now)
		case op.Mutate != nil:
			out.Mutate, err = a.mutate(op.Mutate, rev)
			if err == nil && out.Mutate.Written {
				wrote = true
			}
		case op.Doc != nil:
			out.Doc, err = a.doc(op.Doc, rev)
			if err == nil && out.Doc.Written {
				wrote = true
			}
		case op.Expire != nil:
			var w bool
			out.Expire, w, err = a.expire(op.Expire, rev)
			wrote = wrote || w
		}
		if err != nil {
			return err
		}
	}
	if wrote {
		a.rev = rev
	}
	res.Txn = tr
	return nil
}

// setLatest records rec (nil: deleted) as the latest record at lk (a
// storage.LatestKey, which names the record in memory only). Every change of
// a latest record goes through here, so the latest cache sees it. It writes
// nothing to the store: the caller writes the same record (or a tombstone)
// as the key's newest history version in the same batch, and that version
// is the latest record.
func (a *applier) setLatest(lk, rec []byte) {
	if rec == nil {
		a.pending[string(lk)] = nil
		return
	}
	a.pending[string(lk)] = bytes.Clone(rec)
}

// getLatest reads the latest record of the user key whose latest key is lk
// into a.got: this Apply call's writes first, then the latest cache, then
// the key's newest history version through the batch. It reports whether
// the key exists.
func (a *applier) getLatest(lk []byte) (bool, error) {
	found, err := a.lookupLatest(lk, a.getFn)
	if !found {
		a.got = record{}
	}
	return found, err
}

// lookupLatest finds the latest record at lk as getLatest does and passes
// it to fn (which must not retain it). It reports whether the key exists.
func (a *applier) lookupLatest(lk []byte, fn func([]byte) error) (bool, error) {
	if rec, ok := a.pending[string(lk)]; ok {
		if rec == nil {
			return false, nil
		}
		return true, fn(rec)
	}
	hit, gen, err := a.sm.cache.get(lk, fn)
	if hit || err != nil {
		return hit, err
	}
	k, err := storage.LatestUserKey(lk)
	if err != nil {
		return false, err
	}
	found, err := newestVersion(a.batch, a.sm.group, k, &a.spanBuf, func(b []byte) error {
		a.sm.cache.fill(lk, b, gen)
		return fn(b)
	})
	if err != nil {
		return false, fmt.Errorf("statemachine: read %q: %w", k, err)
	}
	return found, nil
}

// newestVersion calls fn with the latest record of user key k as r sees it
// — its newest history version — and reports whether the key exists (has
// versions, the newest not a tombstone). fn must not retain the record.
// buf is scratch space for the iterator bounds.
func newestVersion(r storage.Reader, group uint64, k []byte, buf *[]byte, fn func([]byte) error) (bool, error) {
	b := storage.AppendHistoryPrefix((*buf)[:0], group, k)
	n := len(b)
	b = storage.AppendHistoryVersionsEnd(b)
	*buf = b
	it := r.NewIter(b[:n:n], b)
	found := false
	var err error
	// A prefix seek: bloom filters skip the sstables holding no version.
	if it.SeekPrefixGE(b[:n:n]) {
		if v := it.Value(); it.Error() == nil && !isTombstone(v) {
			found = true
			err = fn(v)
		}
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return found && err == nil, err
}

// put writes p at revision rev with p's value type, without expiry.
func (a *applier) put(p *command.PutRequest, rev int64) (*command.PutResult, error) {
	return a.putFull(p, p.Type, 0, rev)
}

// putTyped writes p at revision rev with value type vtype, without expiry.
func (a *applier) putTyped(p *command.PutRequest, vtype command.ValueType, rev int64) (*command.PutResult, error) {
	return a.putFull(p, vtype, 0, rev)
}

// putExp writes p at revision rev with p's value type and expiry exp (Unix
// ms, 0 = none).
func (a *applier) putExp(p *command.PutRequest, exp, rev int64) (*command.PutResult, error) {
	return a.putFull(p, p.Type, exp, rev)
}

// putFull writes p at revision rev with value type vtype and expiry exp.
// Every write of a live version goes through here.
func (a *applier) putFull(p *command.PutRequest, vtype command.ValueType, exp, rev int64) (*command.PutResult, error) {
	a.keyBuf = storage.AppendLatestKey(a.keyBuf[:0], a.sm.group, p.Key)
	found, err := a.getLatest(a.keyBuf)
	if err != nil {
		return nil, err
	}
	res := &command.PutResult{}
	rec := record{create: rev, mod: rev, version: 1, lease: p.Lease, vtype: vtype, expire: exp, value: p.Value}
	var oldLease, oldExp int64
	if found {
		oldLease, oldExp = a.got.lease, a.got.expire
		rec.create = a.got.create
		rec.version = a.got.version + 1
		if p.PrevKV {
			res.PrevKV = a.got.keyValue(p.Key, false)
		}
	}
	a.valBuf = appendRecord(a.valBuf[:0], &rec)
	a.setLatest(a.keyBuf, a.valBuf)
	a.histBuf = storage.AppendHistoryKey(a.histBuf[:0], a.sm.group, p.Key, uint64(rev))
	a.batch.Set(a.histBuf, a.valBuf)
	a.reindex(p.Key, oldLease, oldExp, rec.lease, rec.expire)
	a.recordChange(watch.Put, p.Key, rev)
	if a.chg.collect {
		var prev []byte
		var ptype command.ValueType
		if found {
			prev, ptype = a.got.value, a.got.vtype
		}
		a.chg.add(watch.Put, p.Key, p.Value, vtype, prev, ptype, found, rev)
	}
	return res, nil
}

// delete deletes the keys d selects at revision rev.
func (a *applier) delete(d *command.DeleteRequest, rev int64) (*command.DeleteResult, error) {
	res := &command.DeleteResult{}
	if len(d.End) == 0 {
		a.keyBuf = storage.AppendLatestKey(a.keyBuf[:0], a.sm.group, d.Key)
		found, err := a.getLatest(a.keyBuf)
		if err != nil || !found {
			return res, err
		}
		if d.PrevKV {
			res.PrevKVs = []*command.KeyValue{a.got.keyValue(d.Key, false)}
		}
		if err := a.deleteKey(d.Key, rev, watch.Delete); err != nil {
			return nil, err
		}
		res.Deleted = 1
		return res, nil
	}

	lower, upper, ok := a.sm.latestBounds(d.Key, d.End)
	if !ok {
		return res, nil
	}
	// Collect first: the batch is written while the keys are deleted.
	var keys [][]byte
	err := scanLatest(a.batch, lower, upper, func(hk, v []byte) error {
		uk, _, err := storage.DecodeHistoryKey(hk)
		if err != nil {
			return err
		}
		keys = append(keys, uk)
		if d.PrevKV {
			var rec record
			if err := decodeRecord(v, &rec); err != nil {
				return err
			}
			res.PrevKVs = append(res.PrevKVs, rec.keyValue(uk, false))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("statemachine: delete range: %w", err)
	}
	for _, k := range keys {
		if err := a.deleteKey(k, rev, watch.Delete); err != nil {
			return nil, err
		}
	}
	res.Deleted = int64(len(keys))
	return res, nil
}

// deleteKey writes a tombstone version of k: from then on its latest
// record is absent.
// cause is watch.Delete for a request's delete, watch.Expire when a lease
// or TTL ran out: watchers and keyspace notifications see it. It reads the
// record first, to drop it from the lease and expiry indexes and to give
// watchers the previous value.
func (a *applier) deleteKey(k []byte, rev int64, cause watch.EventType) error {
	a.keyBuf = storage.AppendLatestKey(a.keyBuf[:0], a.sm.group, k)
	found, err := a.getLatest(a.keyBuf)
	if err != nil {
		return err
	}
	if a.chg.collect {
		var prev []byte
		var ptype command.ValueType
		if found {
			prev, ptype = a.chg.copy(a.got.value), a.got.vtype
		}
		a.chg.add(cause, k, nil, 0, prev, ptype, found, rev)
	}
	a.reindex(k, a.got.lease, a.got.expire, 0, 0)
	a.setLatest(a.keyBuf, nil)
	a.valBuf = appendRecord(a.valBuf[:0], &record{tombstone: true, mod: rev})
	a.histBuf = storage.AppendHistoryKey(a.histBuf[:0], a.sm.group, k, uint64(rev))
	a.batch.Set(a.histBuf, a.valBuf)
	a.recordChange(cause, k, rev)
	return nil
}

// compare evaluates c against the latest state (through the batch). A
// missing key has value nil, version 0, create and mod revision 0.
func (a *applier) compare(c *command.Compare) (bool, error) {
	if c.Target == command.CompareUnchangedSince {
		return a.unchangedSince(c.Key, c.Value, c.Int)
	}
	a.keyBuf = storage.AppendLatestKey(a.keyBuf[:0], a.sm.group, c.Key)
	found, err := a.getLive(a.keyBuf) // an expired key is absent (lazyexpiry.go)
	if err != nil {
		return false, err
	}
	var cmp int
	switch c.Target {
	case command.CompareValue:
		cmp = bytes.Compare(a.got.value, c.Value)
	case command.CompareVersion:
		cmp = cmpInt(a.got.version, c.Int)
	case command.CompareCreateRevision:
		cmp = cmpInt(a.got.create, c.Int)
	case command.CompareModRevision:
		cmp = cmpInt(a.got.mod, c.Int)
	case command.CompareExists:
		var exists int64
		if found {
			exists = 1
		}
		cmp = cmpInt(exists, c.Int)
	}
	switch c.Result {
	case command.CompareEqual:
		return cmp == 0, nil
	case command.CompareNotEqual:
		return cmp != 0, nil
	case command.CompareLess:
		return cmp < 0, nil
	default: // CompareGreater (validated)
		return cmp > 0, nil
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// validateTxn returns the error code of a malformed txn, or "". Both
// branches are checked whichever runs, so the outcome does not depend on
// the data.
func validateTxn(t *command.TxnRequest) string {
	for i := range t.Compares {
		if !command.ValidCompare(&t.Compares[i]) {
			return command.ErrCodeInvalid
		}
	}
	for _, ops := range [2][]command.TxnOp{t.Success, t.Failure} {
		if code := validateOps(ops); code != "" {
			return code
		}
	}
	for _, ops := range [2][]command.TxnOp{t.Success, t.Failure} {
		if duplicateWrites(ops) {
			return command.ErrCodeDuplicateKey
		}
	}
	return ""
}

func validateOps(ops []command.TxnOp) string {
	for i := range ops {
		op := &ops[i]
		switch {
		case op.Put != nil:
			if len(op.Put.Key) == 0 {
				return command.ErrCodeInvalid
			}
		case op.Delete != nil:
			if len(op.Delete.Key) == 0 {
				return command.ErrCodeInvalid
			}
		case op.Range != nil:
			if checkRange(op.Range) != nil {
				return command.ErrCodeInvalid
			}
		case op.Mutate != nil:
			if !validMutate(op.Mutate) {
				return command.ErrCodeInvalid
			}
		case op.Doc != nil:
			if !validDoc(op.Doc) {
				return command.ErrCodeInvalid
			}
		case op.Expire != nil:
			if !validExpire(op.Expire) {
				return command.ErrCodeInvalid
			}
		default:
			return command.ErrCodeInvalid
		}
	}
	return ""
}

// duplicateWrites reports whether a branch writes one key twice: two puts
// of a key, or a put of a key a delete in the branch covers (as etcd;
// overlapping deletes are allowed). Mutate ops are not counted: they apply
// in order and may write a key several times (see command.TxnRequest).
func duplicateWrites(ops []command.TxnOp) bool {
	var puts [][]byte
	for i := range ops {
		if p := ops[i].Put; p != nil {
			puts = append(puts, p.Key)
		}
	}
	if len(puts) == 0 {
		return false
	}
	slices.SortFunc(puts, bytes.Compare)
	for i := 1; i < len(puts); i++ {
		if bytes.Equal(puts[i-1], puts[i]) {
			return true
		}
	}
	for i := range ops {
		d := ops[i].Delete
		if d == nil {
			continue
		}
		// The first put key >= d.Key is the only candidate in the span.
		j, _ := slices.BinarySearchFunc(puts, d.Key, bytes.Compare)
		if j < len(puts) && inSpan(puts[j], d.Key, d.End) {
			return true
		}
	}
	return false
}

// inSpan reports whether k is selected by key/end (end empty: k == key;
// end "\x00": k >= key; else key <= k < end).
func inSpan(k, key, end []byte) bool {
	switch {
	case len(end) == 0:
		return bytes.Equal(k, key)
	case isEndOfKeyspace(end):
		return bytes.Compare(k, key) >= 0
	default:
		return bytes.Compare(k, key) >= 0 && bytes.Compare(k, end) < 0
	}
}

func isEndOfKeyspace(end []byte) bool { return len(end) == 1 && end[0] == 0 }

// applyConfChange applies a conf change entry to members and persists the
// new ConfState and member list in the batch.
func (a *applier) applyConfChange(e *raftnode.Entry, members []membership.Member, cs *pb.ConfState) ([]membership.Member, *pb.ConfState, error) {
	members = updateMembers(members, e.ConfChange, func(msg string, args ...any) {
		a.sm.log.Warn(msg, append([]any{"index", e.Index}, args...)...)
	})
	if e.ConfState != nil {
		cs = e.ConfState
		b, err := encodeConfState(cs)
		if err != nil {
			return nil, nil, fmt.Errorf("statemachine: encode conf state: %w", err)
		}
		a.batch.Set(a.sm.keys.confState, b)
	} else {
		a.sm.log.Warn("statemachine: conf change entry without conf state", "index", e.Index)
	}
	b, err := json.Marshal(members)
	if err != nil {
		return nil, nil, fmt.Errorf("statemachine: encode members: %w", err)
	}
	a.batch.Set(a.sm.keys.members, b)
	return members, cs, nil
}

// updateMembers returns a new member list (ordered by ID) with the changes
// of cc applied. The context, if any, is one encoded Member describing the
// node being added or updated; a change for another node keeps what is
// known of it (a promotion needs no context).
func updateMembers(members []membership.Member, cc *pb.ConfChangeV2, warn func(string, ...any)) []membership.Member {
	members = slices.Clone(members)
	var ctx *membership.Member
	if len(cc.GetContext()) > 0 {
		m, err := membership.Decode(cc.GetContext())
		if err != nil {
			warn("statemachine: conf change context does not decode", "err", err)
		} else {
			ctx = &m
		}
	}
	changes := cc.GetChanges()
	for _, ch := range changes {
		id := ch.GetNodeId()
		i := slices.IndexFunc(members, func(m membership.Member) bool { return m.ID == id })
		m := membership.Member{ID: id}
		if i >= 0 {
			m = members[i]
		}
		describes := ctx != nil && (ctx.ID == id || (ctx.ID == 0 && len(changes) == 1))
		switch ch.GetType() {
		case pb.ConfChangeAddNode, pb.ConfChangeAddLearnerNode:
			if describes {
				m = *ctx
				m.ID = id
			}
			m.Learner = ch.GetType() == pb.ConfChangeAddLearnerNode
		case pb.ConfChangeUpdateNode:
			if describes {
				learner := m.Learner
				m = *ctx
				m.ID, m.Learner = id, learner
			}
		case pb.ConfChangeRemoveNode:
			if i >= 0 {
				members = slices.Delete(members, i, i+1)
			}
			continue
		default:
			warn("statemachine: unknown conf change type", "type", ch.GetType())
			continue
		}
		if i >= 0 {
			members[i] = m
		} else {
			members = append(members, m)
		}
	}
	slices.SortFunc(members, func(x, y membership.Member) int { return cmpUint64(x.ID, y.ID) })
	return members
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
