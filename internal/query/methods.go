package query

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

func isUTF8(s string) bool { return utf8.ValidString(s) }

func receiver(b *starlark.Builtin) *DB { return b.Receiver().(*DB) }

// db.keys(prefix="") lists the top-level keys (starting with prefix) in
// creation order.
func dbKeys(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var prefix string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "prefix?", &prefix); err != nil {
		return nil, err
	}
	keys, err := receiver(b).tx.list(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]starlark.Value, len(keys))
	for i, k := range keys {
		out[i] = keyValue(k)
	}
	return starlark.NewList(out), nil
}

// db.values(prefix="")
func dbValues(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var prefix string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "prefix?", &prefix); err != nil {
		return nil, err
	}
	items, err := receiver(b).items(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]starlark.Value, len(items))
	for i, kv := range items {
		out[i] = kv[1]
	}
	return starlark.NewList(out), nil
}

// db.items(prefix="")
func dbItems(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var prefix string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "prefix?", &prefix); err != nil {
		return nil, err
	}
	items, err := receiver(b).items(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]starlark.Value, len(items))
	for i, kv := range items {
		out[i] = kv
	}
	return starlark.NewList(out), nil
}

// db.get(key, default=None)
func dbGet(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var k starlark.Value
	var dflt starlark.Value = starlark.None
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &k, &dflt); err != nil {
		return nil, err
	}
	v, found, err := receiver(b).Get(k)
	if err != nil {
		return nil, err
	}
	if !found {
		return dflt, nil
	}
	return v, nil
}

// db.pop(key[, default]) deletes key and returns its value.
func dbPop(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var k, dflt starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &k, &dflt); err != nil {
		return nil, err
	}
	d := receiver(b)
	v, found, err := d.Get(k)
	if err != nil {
		return nil, err
	}
	if !found {
		if dflt != nil {
			return dflt, nil
		}
		return nil, fmt.Errorf("pop: key %s not in db", k)
	}
	ks, _ := key(k)
	return v, d.tx.del(ks)
}

// db.revision() is the revision the script reads at.
func dbRevision(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.MakeInt64(receiver(b).tx.rev), nil
}

// db.at(rev) is a read-only view of the keyspace at an older revision.
// Its reads are not part of the transaction's read set: a past revision
// does not change.
func dbAt(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var rev int64
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &rev); err != nil {
		return nil, err
	}
	d := receiver(b)
	if rev <= 0 || rev > d.tx.rev {
		return nil, fmt.Errorf("at: revision %d is not in 1..%d (the script's revision)", rev, d.tx.rev)
	}
	return &DB{tx: newTxn(d.tx.ctx, d.tx.store, rev, true, d.tx.limits), at: true}, nil
}

// db.history(key) lists the versions of key, newest first, as dicts
// {"revision", "version", "value"}: those of its current life (since it
// was last created) that retention still keeps, at most MaxHistory.
func dbHistory(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var k starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &k); err != nil {
		return nil, err
	}
	ks, err := key(k)
	if err != nil {
		return nil, err
	}
	tx := receiver(b).tx
	var out []starlark.Value
	rev := tx.rev
	for len(out) < tx.limits.MaxHistory && rev > 0 {
		kv, err := tx.store.Get(tx.ctx, []byte(ks), rev)
		if errors.Is(err, ErrCompacted) {
			break
		}
		if err != nil {
			return nil, tx.fail(err)
		}
		if kv == nil {
			break
		}
		v, err := decodeStored(kv)
		if err != nil {
			return nil, err
		}
		d := starlark.NewDict(3)
		_ = d.SetKey(starlark.String("revision"), starlark.MakeInt64(kv.ModRevision))
		_ = d.SetKey(starlark.String("version"), starlark.MakeInt64(kv.Version))
		_ = d.SetKey(starlark.String("value"), v)
		out = append(out, d)
		rev = kv.ModRevision - 1
	}
	return starlark.NewList(out), nil
}

// db.save() returns once every earlier write is committed and applied
// here (a linearizable barrier); every commit is already durable.
func dbSave(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	tx := receiver(b).tx
	if _, err := tx.store.ReadRevision(tx.ctx, false); err != nil {
		return nil, tx.fail(err)
	}
	return starlark.None, nil
}

func dbUndo(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return undoRedo(b, args, kwargs, Undoer.Undo)
}

func dbRedo(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return undoRedo(b, args, kwargs, Undoer.Redo)
}

// undoRedo calls the store's Undo or Redo when it has them. They act at
// once, outside the script's transaction.
func undoRedo(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, f func(Undoer, context.Context) error) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	tx := receiver(b).tx
	u, ok := tx.store.(Undoer)
	if !ok {
		return nil, fmt.Errorf("db.%s: undo/redo is %w on this server", b.Name(), ErrNotAvailable)
	}
	if tx.readOnly {
		return nil, fmt.Errorf("db.%s: %w", b.Name(), ErrReadOnly)
	}
	if err := f(u, tx.ctx); err != nil {
		return nil, tx.fail(err)
	}
	return starlark.None, nil
}
