package storage

import (
	"bytes"
	"testing"
)

func TestChangeKey(t *testing.T) {
	k := AppendChangeKey(nil, 3, 42, []byte("a\x00b"))
	rev, uk, err := DecodeChangeKey(k)
	if err != nil || rev != 42 || !bytes.Equal(uk, []byte("a\x00b")) {
		t.Fatalf("decode = %d %q %v", rev, uk, err)
	}
	if _, _, err := DecodeChangeKey(HistoryKey(3, []byte("a"), 1)); err == nil {
		t.Fatal("a history key decoded as a change key")
	}
	// Revision order first, then key order; spans select by revision.
	lo, hi := ChangeSpan(3, 42, 43)
	if bytes.Compare(k, lo) < 0 || bytes.Compare(k, hi) >= 0 {
		t.Fatalf("key of rev 42 outside ChangeSpan(42, 43)")
	}
	if k2 := AppendChangeKey(nil, 3, 41, []byte("zzz")); bytes.Compare(k2, lo) >= 0 {
		t.Fatalf("rev 41 sorts inside the span of 42")
	}
	_, end := ChangeSpan(3, 0, 0)
	if k4 := AppendChangeKey(nil, 4, 0, nil); bytes.Compare(k4, end) < 0 {
		t.Fatalf("group 4 sorts inside group 3's span")
	}
}
