package statemachine

import (
	"errors"
	"testing"

	"github.com/cairndb/cairn/internal/storage"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestStorageFormat checks that a new state machine records the storage
// format, reopens, and that stores of the older format are refused.
func TestStorageFormat(t *testing.T) {
	open := func(t *testing.T, setup func(*storage.Batch)) (*storage.DB, error) {
		t.Helper()
		db, err := storage.Open("", storage.Options{FS: vfs.NewMem()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if setup != nil {
			b := db.NewBatch()
			setup(b)
			if err := b.Commit(false); err != nil {
				t.Fatal(err)
			}
		}
		sm, err := Open(db, testGroup, Options{})
		if err == nil {
			_ = sm.Close()
		}
		return db, err
	}
	t.Run("new", func(t *testing.T) {
		db, err := open(t, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := readUint64(db, storage.MetaKey(testGroup, storage.MetaFormat)); err != nil || v != storage.FormatVersion {
			t.Fatalf("format marker = %d, %v; want %d", v, err, storage.FormatVersion)
		}
		sm, err := Open(db, testGroup, Options{})
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		_ = sm.Close()
	})
	for name, setup := range map[string]func(*storage.Batch){
		"latest namespace": func(b *storage.Batch) {
			putUint64(b, storage.MetaKey(testGroup, storage.MetaFormat), storage.FormatVersion)
			b.Set(storage.LatestKey(testGroup, []byte("k")), []byte("x"))
		},
		"data without marker": func(b *storage.Batch) {
			putUint64(b, storage.MetaKey(testGroup, storage.MetaApplied), 5)
		},
		"history without marker": func(b *storage.Batch) {
			b.Set(storage.HistoryKey(testGroup, []byte("k"), 1), []byte("x"))
		},
		"other format": func(b *storage.Batch) {
			putUint64(b, storage.MetaKey(testGroup, storage.MetaFormat), 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := open(t, setup); !errors.Is(err, ErrOldFormat) {
				t.Fatalf("Open = %v, want ErrOldFormat", err)
			}
		})
	}
	t.Run("another group's data", func(t *testing.T) {
		_, err := open(t, func(b *storage.Batch) {
			b.Set(storage.HistoryKey(testGroup+1, []byte("k"), 1), []byte("x"))
		})
		if err != nil {
			t.Fatalf("Open with another group's data = %v", err)
		}
	})
}
