package storage

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
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

// TestHistoryPrefixSeek checks, with the versions in the memtable, then
// flushed, then compacted into sstables whose bloom filters hold history
// prefixes, that a prefix seek finds each user key's newest version and
// nothing for absent keys, and that NextHistoryKey walks the newest
// versions in order (also under an upper bound that is a bare prefix).
func TestHistoryPrefixSeek(t *testing.T) {
	db, err := Open("", Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	present := map[string]int{}
	b := db.NewBatch()
	for len(present) < 2000 {
		k := make([]byte, 1+rng.IntN(6))
		for i := range k {
			k[i] = []byte{0, 1, 0xff, 'a', 'b'}[rng.IntN(5)]
		}
		if _, ok := present[string(k)]; ok {
			continue
		}
		n := 1 + rng.IntN(4)
		present[string(k)] = n
		for rev := 1; rev <= n; rev++ {
			b.Set(HistoryKey(1, k, uint64(rev)), fmt.Appendf(nil, "%x@%d", k, rev))
		}
	}
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	sorted := make([]string, 0, len(present))
	for k := range present {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, func(a, b string) int {
		return bytes.Compare(AppendHistoryPrefix(nil, 1, []byte(a)), AppendHistoryPrefix(nil, 1, []byte(b)))
	})
	check := func(stage string) {
		t.Helper()
		for k, n := range present {
			for _, probe := range []string{k, k + "\x02"} {
				p := AppendHistoryPrefix(nil, 1, []byte(probe))
				it := db.NewIter(p, AppendHistoryVersionsEnd(bytes.Clone(p)))
				found := it.SeekPrefixGE(p)
				var v string
				if found {
					v = string(it.Value())
				}
				if err := it.Close(); err != nil {
					t.Fatal(err)
				}
				_, exists := present[probe]
				if want := fmt.Sprintf("%x@%d", probe, present[probe]); found != exists || (exists && v != want) {
					t.Fatalf("%s: prefix seek of %x: found %v %q, want %v %q (versions of %x: %d)", stage, probe, found, v, exists, want, k, n)
				}
			}
		}
		mid := sorted[len(sorted)/2]
		lower, _ := HistorySpan(1)
		upper := AppendHistoryPrefix(nil, 1, []byte(mid))
		it := db.NewIter(lower, upper)
		i := 0
		for valid := it.First(); valid; valid = it.NextHistoryKey() {
			if want := fmt.Sprintf("%x@%d", sorted[i], present[sorted[i]]); string(it.Value()) != want {
				t.Fatalf("%s: walk step %d = %q, want %q", stage, i, it.Value(), want)
			}
			i++
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		if i != len(sorted)/2 {
			t.Fatalf("%s: walked %d keys below %x, want %d", stage, i, mid, len(sorted)/2)
		}
	}
	check("memtable")
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	check("flushed")
	lower, upper := HistorySpan(1)
	if err := db.CompactRange(lower, upper); err != nil {
		t.Fatal(err)
	}
	check("compacted")
}
