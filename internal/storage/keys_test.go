package storage

import (
	"bytes"
	"math"
	"sort"
	"testing"
)

func TestHistoryKeyRoundTrip(t *testing.T) {
	for _, k := range [][]byte{{0}, {0, 0}, []byte("a"), []byte("a\x00b"), {0xff, 0, 1}, bytes.Repeat([]byte{0}, 9)} {
		for _, rev := range []uint64{0, 1, 42, math.MaxUint64} {
			uk, r, err := DecodeHistoryKey(HistoryKey(7, k, rev))
			if err != nil || !bytes.Equal(uk, k) || r != rev {
				t.Fatalf("round trip (%q, %d) = (%q, %d, %v)", k, rev, uk, r, err)
			}
		}
	}
}

// History keys must sort by user key, then newest revision first, so all
// versions of a key are contiguous and a seek finds the newest version at
// or below a revision.
func TestHistoryKeyOrder(t *testing.T) {
	type kr struct {
		k   string
		rev uint64
	}
	in := []kr{
		{"a", 1}, {"a", 9}, {"a\x00", 3}, {"a\x00\x00", 2}, {"a\x01", 5}, {"ab", 4},
		{"\x00", 7}, {"\x00\xff", 1}, {"b", 2}, {"a\xff", 6}, {"", 0},
	}
	want := append([]kr(nil), in...)
	sort.Slice(want, func(i, j int) bool {
		if c := bytes.Compare([]byte(want[i].k), []byte(want[j].k)); c != 0 {
			return c < 0
		}
		return want[i].rev > want[j].rev
	})
	got := append([]kr(nil), in...)
	sort.Slice(got, func(i, j int) bool {
		return bytes.Compare(HistoryKey(1, []byte(got[i].k), got[i].rev), HistoryKey(1, []byte(got[j].k), got[j].rev)) < 0
	})
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("order differs at %d: encoded order %v, want %v", i, got, want)
		}
	}
}

func TestHistoryKeySpanCoversOnlyOneKey(t *testing.T) {
	lo, hi := HistoryKeySpan(1, []byte("a"))
	for _, tc := range []struct {
		k    string
		rev  uint64
		want bool
	}{
		{"a", 0, true}, {"a", math.MaxUint64, true}, {"a\x00", 1, false}, {"ab", 1, false}, {"", 1, false},
	} {
		key := HistoryKey(1, []byte(tc.k), tc.rev)
		in := bytes.Compare(key, lo) >= 0 && bytes.Compare(key, hi) < 0
		if in != tc.want {
			t.Errorf("key (%q,%d) in span of \"a\" = %v, want %v", tc.k, tc.rev, in, tc.want)
		}
	}
	if HistoryKey(2, []byte("a"), 1)[0] != nsHistory || bytes.Compare(HistoryKey(2, []byte("a"), 1), hi) < 0 {
		t.Error("another group's key falls in the span")
	}
}

func TestNamespacesDoNotOverlap(t *testing.T) {
	lo, hi := RaftLogSpan(3)
	for _, k := range [][]byte{RaftStateKey(3, RaftStateHard), MetaKey(3, MetaApplied), LatestKey(3, []byte("x")),
		HistoryKey(3, []byte("x"), 1), RaftLogKey(2, 5), RaftLogKey(4, 0)} {
		if bytes.Compare(k, lo) >= 0 && bytes.Compare(k, hi) < 0 {
			t.Errorf("key %x falls in group 3's raft log span", k)
		}
	}
	if idx, err := RaftLogIndex(RaftLogKey(3, 12345)); err != nil || idx != 12345 {
		t.Fatalf("RaftLogIndex = %d, %v", idx, err)
	}
	hlo, hhi := HistoryRangeSpan(3, []byte("b"), []byte("d"))
	for k, want := range map[string]bool{"a": false, "b": true, "b\x00": true, "c\xff": true, "d": false} {
		key := HistoryKey(3, []byte(k), 7)
		if got := bytes.Compare(key, hlo) >= 0 && bytes.Compare(key, hhi) < 0; got != want {
			t.Errorf("history key %q in [b, d) = %v", k, got)
		}
	}
	rlo, rhi := RetiredLatestSpan(3)
	if k := LatestKey(3, []byte("x")); bytes.Compare(k, rlo) < 0 || bytes.Compare(k, rhi) >= 0 {
		t.Errorf("latest key %x outside the retired latest span", k)
	}
}

func FuzzDecodeHistoryKey(f *testing.F) {
	f.Add(HistoryKey(1, []byte("a\x00b"), 5))
	f.Add([]byte{nsHistory, 0, 0, 0, 0, 0, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, key []byte) {
		uk, rev, err := DecodeHistoryKey(key)
		if err != nil {
			return
		}
		group := uint64(0)
		for _, b := range key[1:9] {
			group = group<<8 | uint64(b)
		}
		if again := HistoryKey(group, uk, rev); !bytes.Equal(again, key) {
			t.Fatalf("decode/encode not inverse: %x -> (%q,%d) -> %x", key, uk, rev, again)
		}
	})
}
