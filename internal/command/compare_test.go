package command

import (
	"bytes"
	"testing"
)

// TestUnchangedSinceEncoding pins the layout of an unchanged-since compare
// in the txn encoding: the span end travels as the compare value and the
// revision as its int, so the format needs no new field.
func TestUnchangedSinceEncoding(t *testing.T) {
	r := &Request{ID: 5, Txn: &TxnRequest{Compares: []Compare{
		{Key: []byte("a"), Target: CompareUnchangedSince, Result: CompareEqual, Value: []byte("b"), Int: 3},
	}}}
	want := []byte{FormatVersion, tagTxn, 5,
		1,                                                                  // one compare
		1, 'a', byte(CompareUnchangedSince), byte(CompareEqual), 1, 'b', 6, // key, target, result, end, revision 3 (zigzag)
		0, 0, // no ops
	}
	got := EncodeRequest(nil, r)
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding % x, want % x", got, want)
	}
	back, err := DecodeRequest(got)
	if err != nil {
		t.Fatal(err)
	}
	c := back.Txn.Compares[0]
	if c.Target != CompareUnchangedSince || string(c.Key) != "a" || string(c.Value) != "b" || c.Int != 3 {
		t.Fatalf("decoded %+v", c)
	}
}

func TestValidCompare(t *testing.T) {
	u := func(key, end string, rev int64, res CompareResult) Compare {
		c := Compare{Key: []byte(key), Target: CompareUnchangedSince, Result: res, Int: rev}
		if end != "" {
			c.Value = []byte(end)
		}
		return c
	}
	for _, tc := range []struct {
		name string
		c    Compare
		ok   bool
	}{
		{"mod", Compare{Key: []byte("k"), Target: CompareModRevision, Result: CompareLess, Int: -1}, true},
		{"empty key", Compare{Target: CompareModRevision, Result: CompareEqual}, false},
		{"target 0", Compare{Key: []byte("k"), Result: CompareEqual}, false},
		{"unknown target", Compare{Key: []byte("k"), Target: CompareUnchangedSince + 1, Result: CompareEqual}, false},
		{"unknown result", Compare{Key: []byte("k"), Target: CompareValue, Result: CompareGreater + 1}, false},
		{"exists 1", Compare{Key: []byte("k"), Target: CompareExists, Result: CompareNotEqual, Int: 1}, true},
		{"exists 2", Compare{Key: []byte("k"), Target: CompareExists, Result: CompareEqual, Int: 2}, false},
		{"exists <", Compare{Key: []byte("k"), Target: CompareExists, Result: CompareLess}, false},
		{"unchanged key", u("k", "", 0, CompareEqual), true},
		{"unchanged span", u("a", "b", 9, CompareEqual), true},
		{"unchanged to the end", u("a", "\x00", 9, CompareEqual), true},
		{"unchanged everything", u("\x00", "\x00", 9, CompareEqual), true},
		{"unchanged !=", u("k", "", 1, CompareNotEqual), false},
		{"unchanged >", u("k", "", 1, CompareGreater), false},
		{"unchanged negative revision", u("k", "", -1, CompareEqual), false},
		{"unchanged empty span", u("b", "b", 1, CompareEqual), false},
		{"unchanged reversed span", u("b", "a", 1, CompareEqual), false},
	} {
		if got := ValidCompare(&tc.c); got != tc.ok {
			t.Errorf("%s: ValidCompare = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestInSpan(t *testing.T) {
	for _, tc := range []struct {
		k, key, end string
		in          bool
	}{
		{"a", "a", "", true},
		{"ab", "a", "", false},
		{"a", "a", "b", true},
		{"az", "a", "b", true},
		{"b", "a", "b", false},
		{"0", "a", "b", false},
		{"zzz", "a", "\x00", true},
		{"0", "a", "\x00", false},
	} {
		if got := InSpan([]byte(tc.k), []byte(tc.key), []byte(tc.end)); got != tc.in {
			t.Errorf("InSpan(%q, %q, %q) = %v", tc.k, tc.key, tc.end, got)
		}
	}
}
