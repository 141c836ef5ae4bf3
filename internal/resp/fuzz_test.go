package resp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"testing"
	"testing/iotest"
)

var fuzzSeeds = []string{
	"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n",
	"*0\r\n*-1\r\n*1\r\n$0\r\n\r\n",
	"PING\r\nSET k v\n\r\n",
	`SET "a\x41\n" 'b\'c' ""` + "\r\n",
	"*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
	"*1\r\n$536870912\r\n",
	"*x\r\n",
	"SET \"k\r\n",
}

// fuzzLimits are small, so the fuzzer reaches them.
var fuzzLimits = Limits{MaxBulkLen: 1 << 10, MaxArrayLen: 64, MaxInlineLen: 256, MaxCommandLen: 4 << 10}

// FuzzReadCommand reads arbitrary bytes: no panic, no hang, only the
// documented errors, the same result however the bytes arrive, and every
// command re-encodes as multibulk and reads back the same.
func FuzzReadCommand(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		whole := readAll(bytes.NewReader(data), fuzzLimits)
		if got := readAll(iotest.OneByteReader(bytes.NewReader(data)), fuzzLimits); got != whole {
			t.Fatalf("one byte at a time:\n%s\nwhole:\n%s", got, whole)
		}

		r := NewReader(bytes.NewReader(data), fuzzLimits)
		var cmd, back Command
		for {
			err := r.ReadCommand(&cmd)
			if err != nil {
				var pe *ProtocolError
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.As(err, &pe) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(cmd.Args) == 0 {
				t.Fatal("command without arguments")
			}
			enc := AppendCommand(nil, cmd.Args...)
			br := NewReader(bytes.NewReader(enc), Limits{})
			if err := br.ReadCommand(&back); err != nil {
				t.Fatalf("re-encoded %q: %v", enc, err)
			}
			if back.Inline || len(back.Args) != len(cmd.Args) {
				t.Fatalf("re-encoded %q read as %q", enc, back.Args)
			}
			for i := range back.Args {
				if !bytes.Equal(back.Args[i], cmd.Args[i]) {
					t.Fatalf("arg %d: %q became %q", i, cmd.Args[i], back.Args[i])
				}
			}
			if err := br.ReadCommand(&back); err != io.EOF {
				t.Fatalf("after re-encoded command: %v", err)
			}
		}
	})
}

// FuzzReadReply reads arbitrary bytes as replies: no panic, and every
// reply re-encodes canonically to bytes that read back to the same
// encoding.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n-ERR x\r\n:1\r\n$1\r\na\r\n$-1\r\n*-1\r\n",
		"*2\r\n%1\r\n+k\r\n~1\r\n#t\r\n>1\r\n_\r\n",
		",1.5\r\n,nan\r\n(123\r\n!3\r\nERR\r\n=7\r\ntxt:abc\r\n",
		"|1\r\n+a\r\n:1\r\n*1\r\n:2\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		for {
			v, err := ReadReply(br)
			if err != nil {
				var pe *ProtocolError
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.As(err, &pe) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			enc := appendValue(nil, v)
			back, err := ReadReply(bufio.NewReader(bytes.NewReader(enc)))
			if err != nil {
				t.Fatalf("%s encoded as %q: %v", fmtValue(v), enc, err)
			}
			if again := appendValue(nil, back); !bytes.Equal(again, enc) {
				t.Fatalf("%q read back as %q", enc, again)
			}
		}
	})
}

// appendValue encodes v canonically.
func appendValue(b []byte, v Value) []byte {
	if v.Attrs != nil {
		b = appendHeader(b, '|', len(v.Attrs)/2)
		for _, a := range v.Attrs {
			b = appendValue(b, a)
		}
	}
	switch v.Type {
	case TypeSimpleString, TypeError, TypeBigNumber:
		b = append(b, byte(v.Type))
		b = append(b, v.Str...)
		return append(b, '\r', '\n')
	case TypeInt:
		return appendHeader(b, ':', int(v.Int))
	case TypeNull:
		return append(b, "_\r\n"...)
	case TypeDouble:
		b = append(b, ',')
		b = appendDouble(b, v.Float)
		return append(b, '\r', '\n')
	case TypeBool:
		if v.Bool {
			return append(b, "#t\r\n"...)
		}
		return append(b, "#f\r\n"...)
	case TypeBulk, TypeBlobError, TypeVerbatim:
		if v.Null {
			return append(b, "$-1\r\n"...)
		}
		s := v.Str
		if v.Type == TypeVerbatim {
			s = v.Format + ":" + s
		}
		b = appendHeader(b, byte(v.Type), len(s))
		b = append(b, s...)
		return append(b, '\r', '\n')
	case TypeArray, TypeSet, TypePush, TypeMap:
		if v.Null {
			return append(b, "*-1\r\n"...)
		}
		n := len(v.Array)
		if v.Type == TypeMap {
			n /= 2
		}
		b = appendHeader(b, byte(v.Type), n)
		for _, e := range v.Array {
			b = appendValue(b, e)
		}
		return b
	}
	panic("unknown type " + strconv.Itoa(int(v.Type)))
}

func appendHeader(b []byte, prefix byte, n int) []byte {
	b = append(b, prefix)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}
