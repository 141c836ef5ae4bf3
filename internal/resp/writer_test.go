package resp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

var bulkArg = []byte("a\r\nb")

// replies writes one of each reply.
var replies = []struct {
	name  string
	write func(w *Writer)
	// want2 and want3 are what ReadReply returns for RESP2 and RESP3.
	want2, want3 Value
}{
	{"simple", func(w *Writer) { w.SimpleString("OK") },
		Value{Type: TypeSimpleString, Str: "OK"}, Value{Type: TypeSimpleString, Str: "OK"}},
	{"error", func(w *Writer) { w.Error("ERR no\r\nway") },
		Value{Type: TypeError, Str: "ERR no  way"}, Value{Type: TypeError, Str: "ERR no  way"}},
	{"int", func(w *Writer) { w.Int(math.MinInt64) },
		Value{Type: TypeInt, Int: math.MinInt64}, Value{Type: TypeInt, Int: math.MinInt64}},
	{"bulk", func(w *Writer) { w.Bulk(bulkArg) },
		Value{Type: TypeBulk, Str: "a\r\nb"}, Value{Type: TypeBulk, Str: "a\r\nb"}},
	{"bulk-string", func(w *Writer) { w.BulkString("") },
		Value{Type: TypeBulk}, Value{Type: TypeBulk}},
	{"null", func(w *Writer) { w.Null() },
		Value{Type: TypeBulk, Null: true}, Value{Type: TypeNull}},
	{"null-array", func(w *Writer) { w.NullArray() },
		Value{Type: TypeArray, Null: true}, Value{Type: TypeNull}},
	{"array", func(w *Writer) { w.ArrayLen(2); w.Int(1); w.ArrayLen(0) },
		Value{Type: TypeArray, Array: []Value{{Type: TypeInt, Int: 1}, {Type: TypeArray, Array: []Value{}}}},
		Value{Type: TypeArray, Array: []Value{{Type: TypeInt, Int: 1}, {Type: TypeArray, Array: []Value{}}}}},
	{"map", func(w *Writer) { w.MapLen(1); w.BulkString("k"); w.Bool(true) },
		Value{Type: TypeArray, Array: []Value{{Type: TypeBulk, Str: "k"}, {Type: TypeInt, Int: 1}}},
		Value{Type: TypeMap, Array: []Value{{Type: TypeBulk, Str: "k"}, {Type: TypeBool, Bool: true}}}},
	{"set", func(w *Writer) { w.SetLen(1); w.Bool(false) },
		Value{Type: TypeArray, Array: []Value{{Type: TypeInt, Int: 0}}},
		Value{Type: TypeSet, Array: []Value{{Type: TypeBool}}}},
	{"push", func(w *Writer) { w.Push(1); w.BulkString("message") },
		Value{Type: TypeArray, Array: []Value{{Type: TypeBulk, Str: "message"}}},
		Value{Type: TypePush, Array: []Value{{Type: TypeBulk, Str: "message"}}}},
	{"double", func(w *Writer) { w.Double(-2.5e-9) },
		Value{Type: TypeBulk, Str: "-2.5e-9"}, Value{Type: TypeDouble, Float: -2.5e-9}},
	{"bignum", func(w *Writer) { w.BigNumber("-99999999999999999999") },
		Value{Type: TypeBulk, Str: "-99999999999999999999"}, Value{Type: TypeBigNumber, Str: "-99999999999999999999"}},
	{"verbatim", func(w *Writer) { w.Verbatim("mkd", "# hi") },
		Value{Type: TypeBulk, Str: "# hi"}, Value{Type: TypeVerbatim, Format: "mkd", Str: "# hi"}},
}

func TestWriterRoundTrip(t *testing.T) {
	for _, proto := range []int{2, 3} {
		var out bytes.Buffer
		w := NewWriter(&out)
		if err := w.SetProtocol(proto); err != nil {
			t.Fatal(err)
		}
		for _, r := range replies {
			r.write(w)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(&out)
		for _, r := range replies {
			want := r.want2
			if proto == 3 {
				want = r.want3
			}
			got, err := ReadReply(br)
			if err != nil {
				t.Fatalf("RESP%d %s: %v", proto, r.name, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("RESP%d %s: got %s, want %s", proto, r.name, fmtValue(got), fmtValue(want))
			}
		}
		if _, err := ReadReply(br); err != io.EOF {
			t.Errorf("RESP%d: trailing data: %v", proto, err)
		}
	}
}

func TestWriterAllocs(t *testing.T) {
	for _, proto := range []int{2, 3} {
		w := NewWriter(io.Discard)
		w.SetProtocol(proto)
		for _, r := range replies {
			if n := testing.AllocsPerRun(100, func() { r.write(w) }); n != 0 {
				t.Errorf("RESP%d %s: %v allocs", proto, r.name, n)
			}
		}
		if n := testing.AllocsPerRun(100, func() { w.Double(rand.Float64()) }); n != 0 {
			t.Errorf("RESP%d Double: %v allocs", proto, n)
		}
	}
}

// Doubles format as Redis does and parse back to the same value.
func TestDoubleRoundTrip(t *testing.T) {
	check := func(f float64) {
		s := string(appendDouble(nil, f))
		g, err := strconv.ParseFloat(s, 64)
		if math.IsNaN(f) {
			if !math.IsNaN(g) {
				t.Fatalf("NaN formats as %q", s)
			}
			return
		}
		if err != nil || g != f || math.Signbit(g) != math.Signbit(f) {
			t.Fatalf("%v formats as %q, which parses as %v, %v", f, s, g, err)
		}
	}
	for _, f := range []float64{0, math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64,
		1 << 62, -(1 << 62), 1<<62 + 1<<10, 1 << 63, math.Inf(1), math.Inf(-1), math.NaN()} {
		check(f)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		check(math.Float64frombits(rng.Uint64()))
		check(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20)))
	}
}

func TestWriterLargeBulk(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	big := bytes.Repeat([]byte("x"), 3*writeBufSize)
	w.ArrayLen(2)
	w.Bulk(big)
	w.Int(7)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "*2\r\n$" + strconv.Itoa(len(big)) + "\r\n" + string(big) + "\r\n:7\r\n"
	if out.String() != want {
		t.Errorf("wrong output of %d bytes", out.Len())
	}
}

// The Writer flushes on its own instead of buffering without bound.
func TestWriterFlushesFullBuffer(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	for range 100000 {
		w.BulkString("some value")
	}
	if w.Buffered() > writeBufSize || out.Len() == 0 {
		t.Errorf("buffered %d, written %d", w.Buffered(), out.Len())
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("broken pipe")
}

func TestWriterStickyError(t *testing.T) {
	fw := &failWriter{}
	w := NewWriter(fw)
	w.SimpleString("OK")
	if err := w.Flush(); err == nil {
		t.Fatal("Flush succeeded")
	}
	for range 100000 {
		w.BulkString("dropped")
	}
	w.Bulk(make([]byte, 2*writeBufSize))
	if err := w.Flush(); err == nil || fw.n != 1 || w.Buffered() != 0 {
		t.Errorf("err %v, %d writes, %d buffered", err, fw.n, w.Buffered())
	}
}

func TestSetProtocol(t *testing.T) {
	w := NewWriter(io.Discard)
	if w.Protocol() != 2 {
		t.Errorf("default protocol %d", w.Protocol())
	}
	for _, v := range []int{0, 1, 4} {
		if err := w.SetProtocol(v); !errors.Is(err, ErrProtocolVersion) {
			t.Errorf("SetProtocol(%d) = %v", v, err)
		}
	}
	if err := w.SetProtocol(3); err != nil || w.Protocol() != 3 {
		t.Errorf("SetProtocol(3) = %v, protocol %d", err, w.Protocol())
	}
}

func TestAppendCommand(t *testing.T) {
	got := string(AppendCommand([]byte("x"), []byte("SET"), nil, []byte("a\r\n")))
	if want := "x*3\r\n$3\r\nSET\r\n$0\r\n\r\n$3\r\na\r\n\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Replies nested beyond maxReplyDepth are refused, not a stack overflow.
func TestReadReplyDepth(t *testing.T) {
	in := strings.Repeat("*1\r\n", 100000) + ":1\r\n"
	_, err := ReadReply(bufio.NewReader(strings.NewReader(in)))
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Errorf("got %v", err)
	}
}
