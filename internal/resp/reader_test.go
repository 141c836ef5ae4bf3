package resp

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// loopReader serves data over and over, as a client pipelining forever.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.data[l.off:])
		n += c
		l.off = (l.off + c) % len(l.data)
	}
	return n, nil
}

func repeatCmd(n int, args ...string) []byte {
	var b []byte
	for range n {
		bs := make([][]byte, len(args))
		for i, a := range args {
			bs[i] = []byte(a)
		}
		b = AppendCommand(b, bs...)
	}
	return b
}

func TestReadCommandSteadyStateAllocs(t *testing.T) {
	for name, data := range map[string][]byte{
		"multibulk": repeatCmd(16, "SET", "key:000123", strings.Repeat("v", 256)),
		"inline":    []byte(strings.Repeat("SET key:000123 \"some value\"\r\n", 16)),
		"skipped":   []byte(strings.Repeat("*0\r\n\r\n*1\r\n$4\r\nPING\r\n", 16)),
	} {
		t.Run(name, func(t *testing.T) {
			r := NewReader(&loopReader{data: data}, Limits{})
			var cmd Command
			allocs := testing.AllocsPerRun(1000, func() {
				if err := r.ReadCommand(&cmd); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocs per command, want 0", allocs)
			}
		})
	}
}

// A declared length alone must not allocate: memory grows with the data.
func TestDeclaredLengthCostsNothing(t *testing.T) {
	for name, in := range map[string]string{
		"bulk":  "*1\r\n$536870912\r\n" + strings.Repeat("x", 1000),
		"array": "*1048576\r\n" + strings.Repeat("$1\r\nx\r\n", 10),
		"both":  "*1048576\r\n$536870912\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			var cmd Command
			r := NewReader(strings.NewReader(in), Limits{})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := r.ReadCommand(&cmd)
			runtime.ReadMemStats(&after)
			if err != io.ErrUnexpectedEOF {
				t.Fatalf("got %v, want io.ErrUnexpectedEOF", err)
			}
			// The bufio buffer and small slices; nothing near the declared size.
			if got := after.TotalAlloc - before.TotalAlloc; got > 512<<10 {
				t.Errorf("allocated %d bytes", got)
			}
		})
	}
}

func TestReadLargeBulk(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 5<<20/16+3)
	in := AppendCommand(nil, []byte("SET"), []byte("k"), big)
	in = AppendCommand(in, []byte("GET"), []byte("k"))
	for name, src := range map[string]io.Reader{
		"whole": bytes.NewReader(in),
		"half":  iotest.HalfReader(bytes.NewReader(in)),
	} {
		t.Run(name, func(t *testing.T) {
			r := NewReader(src, Limits{})
			var cmd Command
			if err := r.ReadCommand(&cmd); err != nil {
				t.Fatal(err)
			}
			if len(cmd.Args) != 3 || string(cmd.Args[1]) != "k" || !bytes.Equal(cmd.Args[2], big) {
				t.Fatalf("bad args: %d args", len(cmd.Args))
			}
			if err := r.ReadCommand(&cmd); err != nil {
				t.Fatal(err)
			}
			if len(cmd.Args) != 2 || string(cmd.Args[0]) != "GET" {
				t.Fatalf("bad args after large: %q", cmd.Args)
			}
			if cap(cmd.buf) > maxRetainBuf {
				t.Errorf("large buffer retained: cap %d", cap(cmd.buf))
			}
			if err := r.ReadCommand(&cmd); err != io.EOF {
				t.Fatalf("got %v, want EOF", err)
			}
		})
	}
}

// Inline lines may be longer than the Reader's buffer when the limit allows.
func TestReadLongInline(t *testing.T) {
	arg := strings.Repeat("a", 90<<10) // the line spans three buffers
	lim := Limits{MaxInlineLen: 3 * readBufSize}
	in := "ECHO " + arg + " " + arg + "\r\nPING\n"
	for name, src := range map[string]io.Reader{
		"whole":    strings.NewReader(in),
		"one byte": iotest.OneByteReader(strings.NewReader(in)),
	} {
		t.Run(name, func(t *testing.T) {
			got := readAll(src, lim)
			want := `inline "ECHO" "` + arg + `" "` + arg + "\"\ninline \"PING\"\neof"
			if got != want {
				t.Errorf("got %.100s...", got)
			}
		})
	}
	long := strings.Repeat("a", 3*readBufSize+1)
	if got := readAll(strings.NewReader(long), lim); got != "error: Protocol error: too big inline request" {
		t.Errorf("got %.100s", got)
	}
}

func TestArgsDoNotOverlap(t *testing.T) {
	r := NewReader(strings.NewReader("*2\r\n$1\r\na\r\n$1\r\nb\r\n"), Limits{})
	var cmd Command
	if err := r.ReadCommand(&cmd); err != nil {
		t.Fatal(err)
	}
	_ = append(cmd.Args[0], 'X')
	if string(cmd.Args[1]) != "b" {
		t.Errorf("append to Args[0] changed Args[1] to %q", cmd.Args[1])
	}
}

func TestBuffered(t *testing.T) {
	r := NewReader(strings.NewReader("PING\r\n*1\r\n$4\r\nPING\r\n"), Limits{})
	var cmd Command
	if err := r.ReadCommand(&cmd); err != nil {
		t.Fatal(err)
	}
	if r.Buffered() == 0 {
		t.Error("Buffered() = 0 with a pipelined command waiting")
	}
	if err := r.ReadCommand(&cmd); err != nil {
		t.Fatal(err)
	}
	if r.Buffered() != 0 {
		t.Errorf("Buffered() = %d after the last command", r.Buffered())
	}
}

func TestReadErrorPassesThrough(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("*1\r\n$4\r\nPI"), iotest.ErrReader(boom)), Limits{})
	var cmd Command
	if err := r.ReadCommand(&cmd); err != boom {
		t.Fatalf("got %v, want %v", err, boom)
	}
}

// zeroReader serves a prefix and then returns (0, nil) forever.
type zeroReader struct{ prefix []byte }

func (z *zeroReader) Read(p []byte) (int, error) {
	n := copy(p, z.prefix)
	z.prefix = z.prefix[n:]
	return n, nil
}

func TestNoProgress(t *testing.T) {
	for _, in := range []string{"", "PIN", "*1\r\n$3", "*1\r\n$200000\r\nabc"} {
		r := NewReader(&zeroReader{prefix: []byte(in)}, Limits{})
		var cmd Command
		if err := r.ReadCommand(&cmd); err != io.ErrNoProgress {
			t.Errorf("%q: got %v, want io.ErrNoProgress", in, err)
		}
	}
}

func TestLimitsDefaults(t *testing.T) {
	got := Limits{MaxBulkLen: 8 << 20, MaxArrayLen: -1}.withDefaults()
	want := Limits{MaxBulkLen: 8 << 20, MaxArrayLen: DefaultMaxArrayLen,
		MaxInlineLen: DefaultMaxInlineLen, MaxCommandLen: DefaultMaxCommandLen}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseInt(t *testing.T) {
	valid := map[string]int64{
		"0": 0, "1": 1, "-1": -1, "9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63,
	}
	for s, want := range valid {
		if n, ok := parseInt([]byte(s)); !ok || n != want {
			t.Errorf("parseInt(%q) = %d, %v; want %d", s, n, ok, want)
		}
	}
	for _, s := range []string{
		"", "-", "-0", "01", "+1", " 1", "1 ", "1x", "9223372036854775808",
		"-9223372036854775809", "99999999999999999999", "123456789012345678901",
	} {
		if n, ok := parseInt([]byte(s)); ok {
			t.Errorf("parseInt(%q) = %d, want failure", s, n)
		}
	}
}
