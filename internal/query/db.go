package query

import (
	"fmt"
	"sort"

	"go.starlark.net/starlark"
)

// DB is the Starlark value of the keyspace root: a dict-like mapping from
// top-level keys to their values at the script's revision, read lazily.
type DB struct {
	tx *txn
	// at is set on views made by db.at(rev): read-only, outside the read set.
	at bool
	// lock is the run's database lock state (nil on db.at views).
	lock *dbLock
}

var (
	_ starlark.HasSetKey = (*DB)(nil)
	_ starlark.Iterable  = (*DB)(nil)
	_ starlark.Sequence  = (*DB)(nil)
	_ starlark.Container = (*DB)(nil)
	_ starlark.HasAttrs  = (*DB)(nil)
)

func (d *DB) String() string {
	if d.at {
		return fmt.Sprintf("<db at revision %d>", d.tx.rev)
	}
	return fmt.Sprintf("<db revision %d>", d.tx.rev)
}
func (d *DB) Type() string          { return "db" }
func (d *DB) Freeze()               {}
func (d *DB) Truth() starlark.Bool  { return starlark.True }
func (d *DB) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: db") }

// key converts a Starlark index into a db key.
func key(k starlark.Value) (string, error) {
	switch k := k.(type) {
	case starlark.String:
		return string(k), nil
	case starlark.Bytes:
		return string(k), nil
	}
	return "", fmt.Errorf("db keys are strings or bytes, not %s", k.Type())
}

// keyValue converts a db key into a Starlark value: a string, or bytes
// when it is not valid UTF-8.
func keyValue(k string) starlark.Value {
	if isUTF8(k) {
		return starlark.String(k)
	}
	return starlark.Bytes(k)
}

// Get implements d[k].
func (d *DB) Get(k starlark.Value) (starlark.Value, bool, error) {
	ks, err := key(k)
	if err != nil {
		return nil, false, err
	}
	s, err := d.tx.get(ks)
	if err != nil || s.value == nil {
		return nil, false, err
	}
	return s.value, true, nil
}

// SetKey implements d[k] = v.
func (d *DB) SetKey(k, v starlark.Value) error {
	ks, err := key(k)
	if err != nil {
		return err
	}
	return d.tx.set(ks, v)
}

// Has implements k in d.
func (d *DB) Has(k starlark.Value) (bool, error) {
	_, found, err := d.Get(k)
	return found, err
}

// Len is the number of top-level keys (it lists the keyspace).
func (d *DB) Len() int {
	keys, err := d.tx.list("")
	if err != nil {
		d.tx.deferErr(err) // Len cannot fail: the engine fails the script after it ends
		return 0
	}
	return len(keys)
}

// Iterate yields the top-level keys in creation order. Iterate cannot
// fail: a listing error yields nothing, and the engine fails the script
// when it ends.
func (d *DB) Iterate() starlark.Iterator {
	keys, err := d.tx.list("")
	if err != nil {
		d.tx.deferErr(err)
	}
	return &keyIter{keys: keys}
}

type keyIter struct {
	keys []string
}

func (it *keyIter) Next(p *starlark.Value) bool {
	if len(it.keys) == 0 {
		return false
	}
	*p = keyValue(it.keys[0])
	it.keys = it.keys[1:]
	return true
}

func (it *keyIter) Done() {}

// items returns the (key, value) pairs of the keys starting with prefix.
func (d *DB) items(prefix string) ([]starlark.Tuple, error) {
	keys, err := d.tx.list(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]starlark.Tuple, 0, len(keys))
	for _, k := range keys {
		s, err := d.tx.get(k)
		if err != nil {
			return nil, err
		}
		if s.value != nil {
			out = append(out, starlark.Tuple{keyValue(k), s.value})
		}
	}
	return out, nil
}

// Items implements starlark.IterableMapping for conversions.
func (d *DB) Items() []starlark.Tuple {
	items, _ := d.items("")
	return items
}

var dbMethods = map[string]*starlark.Builtin{
	"keys":     starlark.NewBuiltin("keys", dbKeys),
	"values":   starlark.NewBuiltin("values", dbValues),
	"items":    starlark.NewBuiltin("items", dbItems),
	"get":      starlark.NewBuiltin("get", dbGet),
	"pop":      starlark.NewBuiltin("pop", dbPop),
	"revision": starlark.NewBuiltin("revision", dbRevision),
	"at":       starlark.NewBuiltin("at", dbAt),
	"history":  starlark.NewBuiltin("history", dbHistory),
	"save":     starlark.NewBuiltin("save", dbSave),
	"undo":     starlark.NewBuiltin("undo", dbUndo),
	"redo":     starlark.NewBuiltin("redo", dbRedo),
	"lock":     starlark.NewBuiltin("lock", dbLockMethod),
	"unlock":   starlark.NewBuiltin("unlock", dbUnlock),
	"locked":   starlark.NewBuiltin("locked", dbLocked),
}

// Methods lists the db methods (the shell completes them).
func Methods() []string {
	names := make([]string, 0, len(dbMethods))
	for n := range dbMethods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (d *DB) Attr(name string) (starlark.Value, error) {
	b := dbMethods[name]
	if b == nil {
		return nil, nil
	}
	return b.BindReceiver(d), nil
}

func (d *DB) AttrNames() []string { return Methods() }
