package resp

import (
	"io"
	"strings"
	"testing"
)

func benchRead(b *testing.B, data []byte, perLoop int) {
	r := NewReader(&loopReader{data: data}, Limits{})
	var cmd Command
	b.SetBytes(int64(len(data) / perLoop))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.ReadCommand(&cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadCommandSET reads pipelined SET commands with 256-byte values.
func BenchmarkReadCommandSET(b *testing.B) {
	benchRead(b, repeatCmd(100, "SET", "key:000000000123", strings.Repeat("v", 256)), 100)
}

func BenchmarkReadInline(b *testing.B) {
	benchRead(b, []byte(strings.Repeat("SET key:000000000123 \"some value\"\r\n", 100)), 100)
}

func BenchmarkWriteBulk(b *testing.B) {
	w := NewWriter(io.Discard)
	v := []byte(strings.Repeat("v", 256))
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	for b.Loop() {
		w.Bulk(v)
	}
}

func BenchmarkWriteInt(b *testing.B) {
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		w.Int(n)
		n += 12345
	}
}

func BenchmarkWriteDouble(b *testing.B) {
	w := NewWriter(io.Discard)
	w.SetProtocol(3)
	b.ReportAllocs()
	f := 0.1
	for b.Loop() {
		w.Double(f)
		f *= 1.0001
	}
}
