package resp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/cockroachdb/datadriven"
)

// TestDataDriven runs testdata/*.txt. Commands:
//
//	read [max-bulk=n] [max-array=n] [max-inline=n] [max-command=n]
//	  <input>       client bytes; see ddInput
//	reply
//	  <input>       server bytes, read with ReadReply until the end
//	write [proto=2|3]
//	  <op per line> simple s | error s | int n | bulk s | bulk-string s | null |
//	                null-array | array n | map n | set n | push n | double f |
//	                bool b | bignum s | verbatim fmt s  (s is Go-escaped)
//
// read prints each command ("inline" or "multibulk", then its arguments
// quoted) and how the stream ended: "eof", "unexpected eof" or
// "error: <text>". Each input is read whole, one byte at a time, in halves
// and with the data arriving along with io.EOF: the outputs must agree.
// write prints the bytes of each reply. Run with -rewrite to regenerate.
func TestDataDriven(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txt") // not testdata/fuzz
	if err != nil || len(paths) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			ddRun(t, path)
		})
	}
}

func ddRun(t *testing.T, path string) {
	datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
		switch td.Cmd {
		case "read":
			return ddRead(t, td)
		case "reply":
			return ddReply(t, td)
		case "write":
			return ddWrite(t, td)
		}
		t.Fatalf("unknown command %q", td.Cmd)
		return ""
	})
}

// ddInput turns the input into bytes: each line takes Go's escapes ("\r\n",
// "\x00", "\\" for a backslash; quotes stand for themselves), and the lines
// are concatenated, so line breaks in the file are not data.
func ddInput(t *testing.T, td *datadriven.TestData) []byte {
	t.Helper()
	var b []byte
	for _, line := range strings.Split(td.Input, "\n") {
		for s := line; s != ""; {
			c, multibyte, tail, err := strconv.UnquoteChar(s, 0)
			if err != nil {
				t.Fatalf("%s: bad input line %q: %v", td.Pos, line, err)
			}
			if multibyte {
				b = utf8.AppendRune(b, c)
			} else {
				b = append(b, byte(c)) // \xHH is a byte
			}
			s = tail
		}
	}
	return b
}

func ddRead(t *testing.T, td *datadriven.TestData) string {
	var lim Limits
	td.MaybeScanArgs(t, "max-bulk", &lim.MaxBulkLen)
	td.MaybeScanArgs(t, "max-array", &lim.MaxArrayLen)
	td.MaybeScanArgs(t, "max-inline", &lim.MaxInlineLen)
	td.MaybeScanArgs(t, "max-command", &lim.MaxCommandLen)
	in := ddInput(t, td)
	out := readAll(bytes.NewReader(in), lim)
	for name, r := range map[string]io.Reader{
		"one byte": iotest.OneByteReader(bytes.NewReader(in)),
		"half":     iotest.HalfReader(bytes.NewReader(in)),
		"data+eof": iotest.DataErrReader(bytes.NewReader(in)),
	} {
		if got := readAll(r, lim); got != out {
			t.Errorf("%s: reading %s gives\n%s\nnot\n%s", td.Pos, name, got, out)
		}
	}
	return out
}

// readAll reads commands until an error and describes them.
func readAll(src io.Reader, lim Limits) string {
	var sb strings.Builder
	r := NewReader(src, lim)
	var cmd Command
	for {
		err := r.ReadCommand(&cmd)
		if err != nil {
			sb.WriteString(describeEnd(err))
			return sb.String()
		}
		if cmd.Inline {
			sb.WriteString("inline")
		} else {
			sb.WriteString("multibulk")
		}
		for _, a := range cmd.Args {
			fmt.Fprintf(&sb, " %q", a)
		}
		sb.WriteString("\n")
	}
}

func describeEnd(err error) string {
	var pe *ProtocolError
	switch {
	case err == io.EOF:
		return "eof"
	case err == io.ErrUnexpectedEOF:
		return "unexpected eof"
	case errors.As(err, &pe):
		q := strconv.Quote(pe.Error())
		return "error: " + q[1:len(q)-1]
	}
	return "other error: " + err.Error()
}

func ddReply(t *testing.T, td *datadriven.TestData) string {
	var sb strings.Builder
	br := bufio.NewReader(bytes.NewReader(ddInput(t, td)))
	for {
		v, err := ReadReply(br)
		if err != nil {
			sb.WriteString(describeEnd(err))
			return sb.String()
		}
		sb.WriteString(fmtValue(v))
		sb.WriteString("\n")
	}
}

func ddWrite(t *testing.T, td *datadriven.TestData) string {
	var out bytes.Buffer
	w := NewWriter(&out)
	proto := 2
	td.MaybeScanArgs(t, "proto", &proto)
	if err := w.SetProtocol(proto); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, line := range strings.Split(td.Input, "\n") {
		op, arg, _ := strings.Cut(line, " ")
		if err := writeOp(w, op, arg); err != nil {
			t.Fatalf("%s: %q: %v", td.Pos, line, err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "%-24s %q\n", line, out.String())
		out.Reset()
	}
	return sb.String()
}

func writeOp(w *Writer, op, arg string) error {
	s, err := strconv.Unquote(`"` + arg + `"`)
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(arg)
	switch op {
	case "simple":
		w.SimpleString(s)
	case "error":
		w.Error(s)
	case "int":
		i, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			return err
		}
		w.Int(i)
	case "bulk":
		w.Bulk([]byte(s))
	case "bulk-string":
		w.BulkString(s)
	case "null":
		w.Null()
	case "null-array":
		w.NullArray()
	case "array":
		w.ArrayLen(n)
	case "map":
		w.MapLen(n)
	case "set":
		w.SetLen(n)
	case "push":
		w.Push(n)
	case "double":
		f, err := strconv.ParseFloat(arg, 64)
		if err != nil {
			return err
		}
		w.Double(f)
	case "bool":
		w.Bool(arg == "true")
	case "bignum":
		w.BigNumber(s)
	case "verbatim":
		format, text, _ := strings.Cut(s, " ")
		w.Verbatim(format, text)
	default:
		return fmt.Errorf("unknown op %q", op)
	}
	return nil
}

// fmtValue describes v on one line.
func fmtValue(v Value) string {
	var sb strings.Builder
	writeValue(&sb, v)
	return sb.String()
}

func writeValue(sb *strings.Builder, v Value) {
	if v.Attrs != nil {
		sb.WriteString("attrs")
		writeList(sb, v.Attrs, true)
		sb.WriteString(" ")
	}
	switch v.Type {
	case TypeSimpleString:
		fmt.Fprintf(sb, "simple %q", v.Str)
	case TypeError:
		fmt.Fprintf(sb, "error %q", v.Str)
	case TypeBlobError:
		fmt.Fprintf(sb, "blob-error %q", v.Str)
	case TypeInt:
		fmt.Fprintf(sb, "int %d", v.Int)
	case TypeBulk:
		if v.Null {
			sb.WriteString("bulk null")
		} else {
			fmt.Fprintf(sb, "bulk %q", v.Str)
		}
	case TypeNull:
		sb.WriteString("null")
	case TypeDouble:
		fmt.Fprintf(sb, "double %v", v.Float)
	case TypeBool:
		fmt.Fprintf(sb, "bool %v", v.Bool)
	case TypeBigNumber:
		fmt.Fprintf(sb, "bignum %s", v.Str)
	case TypeVerbatim:
		fmt.Fprintf(sb, "verbatim %s %q", v.Format, v.Str)
	case TypeArray, TypeSet, TypePush, TypeMap:
		name := map[Type]string{TypeArray: "array", TypeSet: "set", TypePush: "push", TypeMap: "map"}[v.Type]
		sb.WriteString(name)
		if v.Null {
			sb.WriteString(" null")
			return
		}
		writeList(sb, v.Array, v.Type == TypeMap)
	default:
		fmt.Fprintf(sb, "type %q?", byte(v.Type))
	}
}

func writeList(sb *strings.Builder, vs []Value, pairs bool) {
	sb.WriteString("[")
	for i, e := range vs {
		switch {
		case i == 0:
		case pairs && i%2 == 1:
			sb.WriteString(": ")
		default:
			sb.WriteString(", ")
		}
		writeValue(sb, e)
	}
	sb.WriteString("]")
}
