package command

import "testing"

func TestCounterAfter(t *testing.T) {
	for _, tc := range []struct {
		a, b uint64
		want bool
	}{
		{2, 1, true},
		{1, 2, false},
		{1, 1, false},
		{0, IDCounterMask, true}, // wrapped around
		{IDCounterMask, 0, false},
		{1<<(IDCounterBits-1) - 1, 0, true},
		{1 << (IDCounterBits - 1), 0, false}, // half the space: not after
	} {
		if got := CounterAfter(tc.a, tc.b); got != tc.want {
			t.Errorf("CounterAfter(%d, %d) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestStaleResultEncoding(t *testing.T) {
	r := &Result{ID: 7<<IDCounterBits | 9, Revision: 3, Err: ErrCodeStaleRequest, Stale: &StaleResult{High: 12345}}
	b := EncodeResult(nil, r)
	if b[1] != tagStale {
		t.Fatalf("tag = %d, want %d", b[1], tagStale)
	}
	got, err := DecodeResult(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stale == nil || got.Stale.High != 12345 || got.Err != ErrCodeStaleRequest || got.ID != r.ID {
		t.Fatalf("decoded %+v (stale %+v)", got, got.Stale)
	}
	// A truncated body is refused, not read as zero.
	if _, err := DecodeResult(b[:len(b)-1]); err == nil {
		t.Fatal("truncated stale result decoded")
	}
}
