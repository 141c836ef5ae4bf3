package storage

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestNextHistoryKey checks that NextHistoryKey visits the newest version of
// each user key, whatever the number of versions (stepping or seeking), and
// keys that contain the escaped 0x00.
func TestNextHistoryKey(t *testing.T) {
	db, err := Open("", Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys := []string{"a", "a\x00", "a\x00b", "ab", "b", "c"}
	b := db.NewBatch()
	for i, k := range keys {
		for rev := 1; rev <= i*3+1; rev++ { // 1, 4, 7, ... versions
			b.Set(HistoryKey(1, []byte(k), uint64(rev)), fmt.Appendf(nil, "%s@%d", k, rev))
		}
	}
	b.Set(HistoryKey(2, []byte("other group"), 1), nil)
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	lower, upper := HistorySpan(1)
	it := db.NewIter(lower, upper)
	var got []string
	for valid := it.First(); valid; valid = it.NextHistoryKey() {
		got = append(got, string(it.Value()))
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i, k := range keys {
		want = append(want, fmt.Sprintf("%s@%d", k, i*3+1))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("newest versions = %q, want %q", got, want)
	}
}
