package raftnode

import (
	"bytes"
	"fmt"
	"testing"
)

func TestFramingRoundTrip(t *testing.T) {
	for _, props := range [][][]byte{
		nil,
		{{}},
		{[]byte("a")},
		{[]byte("put k v"), {}, bytes.Repeat([]byte{0xff}, 300), []byte("x")},
	} {
		data := appendFramed(nil, props)
		if len(data) > framedSize(props) {
			t.Fatalf("framedSize %d < actual %d", framedSize(props), len(data))
		}
		got, err := splitFramed(data, nil)
		if err != nil {
			t.Fatalf("split %v: %v", props, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(props) && !(len(got) == 0 && len(props) == 0) {
			t.Fatalf("round trip: got %q, want %q", got, props)
		}
	}
}

func TestFramingEmptyEntry(t *testing.T) {
	got, err := splitFramed(nil, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty entry: %v %v", got, err)
	}
}

func TestFramingRejectsGarbage(t *testing.T) {
	for _, data := range [][]byte{
		{2},                 // unknown version
		{1},                 // no count
		{1, 5},              // count beyond data
		{1, 1, 4, 'a'},      // length beyond data
		{1, 1, 1, 'a', 'b'}, // trailing bytes
		{1, 0x80},           // truncated varint
	} {
		if _, err := splitFramed(data, nil); err == nil {
			t.Errorf("splitFramed(%v) accepted garbage", data)
		}
	}
}

func FuzzSplitFramed(f *testing.F) {
	f.Add(appendFramed(nil, [][]byte{[]byte("a"), []byte("bc")}))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		props, err := splitFramed(data, nil)
		if err != nil {
			return
		}
		again, err := splitFramed(appendFramed(nil, props), nil)
		if err != nil || len(again) != len(props) {
			t.Fatalf("re-framing %q: %v", props, err)
		}
		for i := range props {
			if !bytes.Equal(props[i], again[i]) {
				t.Fatalf("proposal %d changed", i)
			}
		}
	})
}

func BenchmarkFraming(b *testing.B) {
	props := make([][]byte, 64)
	for i := range props {
		props[i] = bytes.Repeat([]byte{'v'}, 300)
	}
	buf := make([]byte, 0, framedSize(props))
	dst := make([][]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendFramed(buf[:0], props)
		dst, _ = splitFramed(buf, dst[:0])
	}
}
