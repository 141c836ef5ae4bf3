package statemachine

import (
	"testing"

	"github.com/cairndb/cairn/internal/command"
)

// TestUndoRefusesPastAnExpiry: an expiry is not a change anyone can undo,
// and undoing the write before it would resurrect the expired key, so the
// undo is refused naming the key, and nothing is written.
func TestUndoRefusesPastAnExpiry(t *testing.T) {
	e := newEnv(t)
	put := func(k, v string) {
		e.oneT(t, &command.Request{Put: &command.PutRequest{Key: []byte(k), Value: []byte(v)}})
	}
	put("k", "1")
	put("k", "2")
	if r := e.oneT(t, &command.Request{Expire: &command.ExpireRequest{Op: command.ExpireSet, Key: []byte("k"), At: 5000, Now: 1000}}); r.Err != "" {
		t.Fatalf("expire: %+v", r)
	}
	if r := e.oneT(t, &command.Request{Expire: &command.ExpireRequest{Op: command.ExpireReap, Key: []byte("k"), At: 5000}}); r.Err != "" || !r.Expire.Deleted {
		t.Fatalf("reap: %+v %+v", r, r.Expire)
	}
	rev := e.sm.Revision()
	r := e.oneT(t, &command.Request{Undo: &command.UndoRequest{}})
	if r.Err != command.ErrCodeUndoConflict || string(r.Undo.ConflictKey) != "k" || r.Undo.Target != 3 {
		t.Fatalf("undo past an expiry: err=%q %+v", r.Err, r.Undo)
	}
	if e.sm.Revision() != rev {
		t.Fatalf("a refused undo moved the revision %d -> %d", rev, e.sm.Revision())
	}
	if kv, _, _ := e.sm.Get([]byte("k"), 0); kv != nil {
		t.Fatalf("a refused undo wrote %q", kv.Value)
	}
	// A redo stack survives a snapshot (it is replicated state).
	put("j", "1")
	if r := e.oneT(t, &command.Request{Undo: &command.UndoRequest{}}); r.Err != "" {
		t.Fatalf("undo j: %+v", r)
	}
	e.close()
	e.open()
	if r := e.oneT(t, &command.Request{Undo: &command.UndoRequest{Redo: true}}); r.Err != "" || r.Undo.Keys != 1 {
		t.Fatalf("redo after reopen: err=%q %+v", r.Err, r.Undo)
	}
	if kv, _, _ := e.sm.Get([]byte("j"), 0); kv == nil || string(kv.Value) != "1" {
		t.Fatalf("j after redo: %v", kv)
	}
}

// TestUndoKeepsTypeAndExpiry: a restored version keeps its value type
// (documents stay documents) and expiry.
func TestUndoKeepsTypeAndExpiry(t *testing.T) {
	e := newEnv(t)
	e.oneT(t, &command.Request{Put: &command.PutRequest{Key: []byte("d"), Value: []byte(`{"a":1}`), Type: command.TypeDocument}})
	e.oneT(t, &command.Request{Expire: &command.ExpireRequest{Op: command.ExpireSet, Key: []byte("d"), At: 9000, Now: 1000}})
	e.oneT(t, &command.Request{Put: &command.PutRequest{Key: []byte("d"), Value: []byte("plain")}})
	if r := e.oneT(t, &command.Request{Undo: &command.UndoRequest{}}); r.Err != "" {
		t.Fatalf("undo: %+v", r)
	}
	kv, _, _ := e.sm.Get([]byte("d"), 0)
	if kv == nil || kv.Type != command.TypeDocument || kv.ExpireAt != 9000 || string(kv.Value) != `{"a":1}` {
		t.Fatalf("restored %+v", kv)
	}
}
