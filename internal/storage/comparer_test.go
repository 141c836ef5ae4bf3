package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// The comparer's Split and ImmediateSuccessor must agree with the
// bytewise order as Pebble requires (see base.Split): checked over user
// keys made of the bytes that matter to the escaping (0x00, 0x01, 0xff),
// several groups and extreme revisions, mixed with keys of the other
// namespaces and with the bounds the store seeks to.
func TestComparerSplitProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0x00, 0x01, 0xff, 'a'}
	var keys [][]byte
	var prefixes [][]byte
	revs := []uint64{0, 1, 2, 255, 256, 1 << 56, 1<<63 - 1, 1<<64 - 1}
	for range 200 {
		uk := make([]byte, rng.IntN(8))
		for i := range uk {
			uk[i] = alphabet[rng.IntN(len(alphabet))]
		}
		group := uint64(1 + rng.IntN(2))
		p := AppendHistoryPrefix(nil, group, uk)
		prefixes = append(prefixes, p)
		keys = append(keys, p, AppendHistoryVersionsEnd(bytes.Clone(p)))
		for _, r := range revs[:1+rng.IntN(len(revs))] {
			k := HistoryKey(group, uk, r)
			if n := comparer.Split(k); n != len(p) {
				t.Fatalf("Split(%x) = %d, want %d", k, n, len(p))
			}
			if u, rev, err := DecodeHistoryKey(k); err != nil || !bytes.Equal(u, uk) || rev != r {
				t.Fatalf("decode %x: %x %d %v", k, u, rev, err)
			}
			keys = append(keys, k)
		}
	}
	keys = append(keys,
		RaftLogKey(1, 7), MetaKey(1, "applied"), MetaKey(2, "a"), RaftStateKey(1, RaftStateHard),
		groupPrefix(nsHistory, 1, 0), groupPrefix(nsHistory, 2, 0), binary.BigEndian.AppendUint64([]byte{nsChanges}, 1))
	for _, p := range prefixes {
		if n := comparer.Split(p); n != len(p) {
			t.Fatalf("bare prefix %x split at %d", p, n)
		}
	}
	prefix := func(k []byte) []byte { return k[:comparer.Split(k)] }
	for _, a := range keys {
		pa := prefix(a)
		if len(pa) < len(a) && bytes.Compare(pa, a) >= 0 {
			t.Fatalf("prefix %x of %x does not sort before it", pa, a)
		}
		succ := comparer.ImmediateSuccessor(nil, pa)
		if comparer.Split(succ) != len(succ) || bytes.Compare(succ, a) <= 0 {
			t.Fatalf("ImmediateSuccessor(%x) = %x: not a prefix key after %x", pa, succ, a)
		}
		for _, b := range keys {
			pb := prefix(b)
			c, pc := bytes.Compare(a, b), bytes.Compare(pa, pb)
			if c <= 0 && pc > 0 {
				t.Fatalf("%x <= %x but prefix %x > %x", a, b, pa, pb)
			}
			if pc < 0 && c >= 0 {
				t.Fatalf("prefix %x < %x but %x >= %x", pa, pb, a, b)
			}
			if pc < 0 && bytes.Compare(succ, pb) > 0 {
				t.Fatalf("ImmediateSuccessor(%x) = %x skips prefix %x", pa, succ, pb)
			}
		}
	}
}

// A store written with Pebble's default comparer (Cairn before the history
// split) is refused with a clear error, not opened with the wrong order.
func TestOpenRefusesOtherComparer(t *testing.T) {
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("k"), []byte("v"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{})
	if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "empty data directory") {
		t.Fatalf("open a store with another comparer: %v", err)
	}
	// A fresh store opens and reopens.
	dir = t.TempDir()
	for range 2 {
		d, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
