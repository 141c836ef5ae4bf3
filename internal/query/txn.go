package query

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/cairndb/cairn/internal/command"
	"go.starlark.net/starlark"
)

// txn is the state of one execution of a script: the revision it reads
// at, the top-level keys it touched (its read set and write set) and the
// key listing it took.
type txn struct {
	ctx      context.Context
	store    Store
	rev      int64
	readOnly bool // writes raise ErrReadOnly (queries, db.at views)
	limits   *Options

	slots   map[string]*slot
	assigns int // counter giving new keys their iteration order

	listed []listedKey // the keyspace at rev, by create revision (nil until listed)
	// prefixes are the prefixes the script listed keys under ("" = every
	// key): the commit asserts that no key under them changed since rev.
	prefixes map[string]bool
	// storeErr is the first error of the store, so a script that fails
	// because of it reports the store's error (no leader, compacted ...).
	storeErr error
	// deferred is an error of an operation that cannot fail in Starlark
	// (len, iteration); the engine fails the script with it.
	deferred error
}

// slot is one top-level key the script touched.
type slot struct {
	key  string
	read bool              // fetched from the store: part of the read set
	kv   *command.KeyValue // the version at rev (nil: absent); keys only
	// value is the current value in the script (nil: absent or deleted).
	// Lists and dicts are live: in-place changes are writes.
	value starlark.Value
	// orig is the encoding of value as read, for mutable values, to detect
	// in-place changes at commit.
	orig     []byte
	assigned bool // set or deleted by the script
	order    int  // assignment order, for keys the script created
}

// listedKey is one key of the keyspace listing.
type listedKey struct {
	key    string
	create int64
}

func newTxn(ctx context.Context, store Store, rev int64, readOnly bool, limits *Options) *txn {
	return &txn{ctx: ctx, store: store, rev: rev, readOnly: readOnly, limits: limits, slots: map[string]*slot{}}
}

func (t *txn) deferErr(err error) {
	if t.deferred == nil {
		t.deferred = err
	}
}

func (t *txn) fail(err error) error {
	if t.storeErr == nil {
		t.storeErr = err
	}
	return err
}

// get returns the slot of key, reading it at t.rev on first use.
func (t *txn) get(key string) (*slot, error) {
	if s, ok := t.slots[key]; ok {
		return s, nil
	}
	kv, err := t.store.Get(t.ctx, []byte(key), t.rev)
	if err != nil {
		return nil, t.fail(err)
	}
	s := &slot{key: key, read: true}
	if kv != nil {
		v, err := decodeStored(kv)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		s.value = v
		switch v.(type) {
		case *starlark.List, *starlark.Dict:
			if s.orig, err = toJSON(v, 0); err != nil {
				return nil, fmt.Errorf("key %q: %w", key, err)
			}
		}
		kv.Value = nil
		s.kv = kv
	}
	t.slots[key] = s
	return s, nil
}

// decodeStored turns a stored value into a Starlark value: a document is
// parsed as JSON, plain bytes become a string (bytes when not UTF-8).
func decodeStored(kv *command.KeyValue) (starlark.Value, error) {
	if kv.Type == command.TypeDocument {
		return fromJSON(kv.Value)
	}
	if utf8.Valid(kv.Value) {
		return starlark.String(kv.Value), nil
	}
	return starlark.Bytes(kv.Value), nil
}

// set assigns key. The value is copied through its JSON form (so it is
// checked here, at the assignment, and later changes to the right-hand
// side do not leak into the stored value); strings and bytes are stored
// as plain values.
func (t *txn) set(key string, v starlark.Value) error {
	if t.readOnly {
		return fmt.Errorf("%w: cannot assign db[%q]", ErrReadOnly, key)
	}
	if err := t.checkKey(key); err != nil {
		return err
	}
	switch v.(type) {
	case starlark.String, starlark.Bytes:
	default:
		b, err := toJSON(v, command.MaxValueSize)
		if err != nil {
			return fmt.Errorf("db[%q]: %w", key, err)
		}
		if v, err = fromJSON(b); err != nil {
			return err
		}
	}
	s := t.slots[key]
	if s == nil {
		s = &slot{key: key}
		t.slots[key] = s
	}
	if s.value == nil && !s.existed() {
		t.assigns++
		s.order = t.assigns
	}
	s.value, s.assigned = v, true
	return nil
}

// del deletes key; a missing key is a KeyError, as in Python.
func (t *txn) del(key string) error {
	if t.readOnly {
		return fmt.Errorf("%w: cannot delete db[%q]", ErrReadOnly, key)
	}
	s, err := t.get(key)
	if err != nil {
		return err
	}
	if s.value == nil {
		return fmt.Errorf("key %q not in db", key)
	}
	s.value, s.assigned = nil, true
	return nil
}

func (s *slot) existed() bool { return s.kv != nil }

func (t *txn) checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("db keys must not be empty")
	case len(key) > t.limits.MaxKeySize:
		return fmt.Errorf("db key of %d bytes, limit %d", len(key), t.limits.MaxKeySize)
	}
	return nil
}

// list returns the keys of the keyspace (with the script's own creations
// and deletions) whose name starts with prefix, in creation order: keys
// that existed at t.rev by create revision (ties, from one txn, in key
// order), then the keys the script created, in assignment order.
func (t *txn) list(prefix string) ([]string, error) {
	if err := t.listStore(); err != nil {
		return nil, err
	}
	if t.prefixes == nil {
		t.prefixes = map[string]bool{}
	}
	t.prefixes[prefix] = true
	var keys []string
	seen := map[string]bool{}
	for _, lk := range t.listed {
		if len(prefix) > 0 && !hasPrefix(lk.key, prefix) {
			continue
		}
		seen[lk.key] = true
		if s, ok := t.slots[lk.key]; ok && s.value == nil {
			continue // deleted by the script
		}
		keys = append(keys, lk.key)
	}
	var created []*slot
	for k, s := range t.slots {
		if !seen[k] && s.value != nil && hasPrefix(k, prefix) {
			created = append(created, s)
		}
	}
	slices.SortFunc(created, func(a, b *slot) int { return a.order - b.order })
	for _, s := range created {
		keys = append(keys, s.key)
	}
	return keys, nil
}

func hasPrefix(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

// listStore lists the whole keyspace at t.rev once, in pages, refusing
// more than MaxKeys keys.
func (t *txn) listStore() error {
	if t.listed != nil {
		return nil
	}
	const page = 1000
	listed := []listedKey{}
	start := []byte{0}
	for {
		kvs, more, err := t.store.Keys(t.ctx, start, nil, t.rev, page)
		if err != nil {
			return t.fail(err)
		}
		for _, kv := range kvs {
			listed = append(listed, listedKey{key: string(kv.Key), create: kv.CreateRevision})
		}
		if len(listed) > t.limits.MaxKeys {
			return fmt.Errorf("%w: the keyspace has more than %d keys; a script may list at most %d",
				ErrTooManyKeys, t.limits.MaxKeys, t.limits.MaxKeys)
		}
		if !more || len(kvs) == 0 {
			break
		}
		start = append(bytes.Clone(kvs[len(kvs)-1].Key), 0)
	}
	slices.SortStableFunc(listed, func(a, b listedKey) int {
		switch {
		case a.create < b.create:
			return -1
		case a.create > b.create:
			return 1
		}
		return 0
	})
	t.listed = listed
	return nil
}

// request builds the commit of the script's writes: compares that nothing
// changed since t.rev under every prefix the script listed (which covers
// the keys it read there) and that every other key read still has the
// mod revision it had at t.rev, then the writes. It returns nil when the
// script wrote nothing.
func (t *txn) request() (*command.TxnRequest, error) {
	var ops []command.TxnOp
	keys := make([]string, 0, len(t.slots))
	for k := range t.slots {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic requests are easier to debug
	for _, k := range keys {
		op, err := t.slots[k].write()
		if err != nil {
			return nil, err
		}
		if op != nil {
			ops = append(ops, *op)
		}
	}
	if len(ops) == 0 {
		return nil, nil
	}
	if t.readOnly {
		return nil, fmt.Errorf("%w: the script changed a value read from db", ErrReadOnly)
	}
	req := &command.TxnRequest{Success: ops}
	prefixes := t.listedPrefixes()
	for _, p := range prefixes {
		// A range compare: a key created, changed or deleted under p after
		// t.rev (a phantom included) fails the commit.
		c := command.Compare{Key: []byte(p), Value: command.PrefixEnd([]byte(p)), Target: command.CompareUnchangedSince,
			Result: command.CompareEqual, Int: t.rev}
		if p == "" {
			c.Key = []byte{0} // every key: keys are never empty
		}
		req.Compares = append(req.Compares, c)
	}
	for _, k := range keys {
		s := t.slots[k]
		if !s.read || underAny(k, prefixes) {
			continue
		}
		var mod int64
		if s.kv != nil {
			mod = s.kv.ModRevision
		}
		req.Compares = append(req.Compares, command.Compare{Key: []byte(k), Target: command.CompareModRevision, Result: command.CompareEqual, Int: mod})
	}
	if len(req.Compares) > t.limits.MaxTxnKeys || len(req.Success) > t.limits.MaxTxnKeys {
		return nil, fmt.Errorf("%w: the transaction reads %d and writes %d keys, limit %d each",
			ErrTooManyKeys, len(req.Compares), len(req.Success), t.limits.MaxTxnKeys)
	}
	return req, nil
}

// listedPrefixes returns the prefixes the script listed, in order, without
// those under a shorter one.
func (t *txn) listedPrefixes() []string {
	all := make([]string, 0, len(t.prefixes))
	for p := range t.prefixes {
		all = append(all, p)
	}
	slices.Sort(all) // a prefix sorts before every string it prefixes
	var out []string
	for _, p := range all {
		if n := len(out); n > 0 && hasPrefix(p, out[n-1]) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// underAny reports whether k starts with one of prefixes.
func underAny(k string, prefixes []string) bool {
	for _, p := range prefixes {
		if hasPrefix(k, p) {
			return true
		}
	}
	return false
}

// write returns the op that stores the slot's final value, or nil when it
// is unchanged.
func (s *slot) write() (*command.TxnOp, error) {
	if s.value == nil {
		if s.assigned && s.existed() {
			return &command.TxnOp{Delete: &command.DeleteRequest{Key: []byte(s.key)}}, nil
		}
		return nil, nil
	}
	if !s.assigned && s.orig == nil {
		return nil, nil // an immutable value read and not assigned
	}
	put := &command.PutRequest{Key: []byte(s.key)}
	switch v := s.value.(type) {
	case starlark.String:
		put.Value = []byte(v)
	case starlark.Bytes:
		put.Value = []byte(v)
	default:
		b, err := toJSON(v, command.MaxValueSize)
		if err != nil {
			return nil, fmt.Errorf("db[%q]: %w", s.key, err)
		}
		if !s.assigned && bytes.Equal(b, s.orig) {
			return nil, nil
		}
		put.Value, put.Type = b, command.TypeDocument
		return &command.TxnOp{Put: put}, nil
	}
	return &command.TxnOp{Put: put}, nil
}
