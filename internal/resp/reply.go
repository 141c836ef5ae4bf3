package resp

import (
	"bufio"
	"errors"
	"io"
	"strconv"
)

// Type is the kind of a reply, named by its RESP type byte.
type Type byte

// Reply types. RESP2 has the first five.
const (
	TypeSimpleString Type = '+'
	TypeError        Type = '-'
	TypeInt          Type = ':'
	TypeBulk         Type = '$'
	TypeArray        Type = '*'
	TypeNull         Type = '_'
	TypeDouble       Type = ','
	TypeBool         Type = '#'
	TypeBlobError    Type = '!'
	TypeVerbatim     Type = '='
	TypeBigNumber    Type = '('
	TypeMap          Type = '%'
	TypeSet          Type = '~'
	TypePush         Type = '>'
)

// Value is one reply, as read by ReadReply. Only the fields of its Type are
// set.
type Value struct {
	Type Type
	// Str is the text of a SimpleString, Error, Bulk, BlobError or Verbatim
	// (without its format), and the digits of a BigNumber.
	Str string
	// Format is the three-letter format of a Verbatim, e.g. "txt".
	Format string
	Int    int64   // Int
	Float  float64 // Double
	Bool   bool    // Bool
	// Null marks RESP2's null bulk string ("$-1", Type Bulk) and null array
	// ("*-1", Type Array). RESP3's null is Type Null.
	Null bool
	// Array holds the elements of an Array, Set or Push, and the keys and
	// values of a Map, alternating.
	Array []Value
	// Attrs holds the keys and values, alternating, of the RESP3 attributes
	// ("|") sent before this value; nil if there were none.
	Attrs []Value
}

const (
	// maxReplyDepth bounds the nesting of aggregates, and so the recursion.
	maxReplyDepth = 256
	// maxReplyLine bounds simple strings, errors and numbers.
	maxReplyLine = 1 << 20
	// maxReplyLen bounds declared lengths; memory is only ever allocated
	// for data that has arrived.
	maxReplyLen = 1 << 30
)

func errReply(msg string) error { return &ProtocolError{"Protocol error: " + msg} }

var errReplyLine = errReply("invalid reply line")

// ReadReply reads one reply from r: every RESP2 and RESP3 type except the
// streamed ones ("$?", "*?"), which Redis does not send. RESP3 attributes
// are attached to the value that follows them. It returns io.EOF if r ends
// before the reply, io.ErrUnexpectedEOF if it ends inside it, a
// *ProtocolError if the reply is malformed. It is meant for tests and
// tools, and allocates freely.
func ReadReply(r *bufio.Reader) (Value, error) {
	if _, err := r.Peek(1); err != nil {
		return Value{}, err
	}
	return readValue(r, 0)
}

func readValue(r *bufio.Reader, depth int) (Value, error) {
	if depth > maxReplyDepth {
		return Value{}, errReply("reply nested too deeply")
	}
	line, err := readReplyLine(r)
	if err != nil {
		return Value{}, err
	}
	v := Value{Type: Type(line[0])}
	s := string(line[1:])
	switch v.Type {
	case TypeSimpleString, TypeError:
		v.Str = s
	case TypeInt:
		v.Int, err = strconv.ParseInt(s, 10, 64)
	case TypeNull:
		if s != "" {
			err = errReplyLine
		}
	case TypeDouble:
		v.Float, err = strconv.ParseFloat(s, 64)
	case TypeBool:
		v.Bool = s == "t"
		if s != "t" && s != "f" {
			err = errReplyLine
		}
	case TypeBigNumber:
		v.Str = s
		if !isBigNumber(s) {
			err = errReplyLine
		}
	case TypeBulk, TypeBlobError, TypeVerbatim:
		err = readBlob(r, s, &v)
	case TypeArray, TypeSet, TypePush, TypeMap:
		err = readAggregate(r, s, &v, depth)
	case '|':
		return readAttributed(r, s, depth)
	default:
		err = errReply("unknown reply type '" + string(line[:1]) + "'")
	}
	if err != nil {
		return Value{}, replyErr(err)
	}
	return v, nil
}

// replyErr maps parse errors of numbers to a ProtocolError.
func replyErr(err error) error {
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return errReplyLine
	}
	return err
}

// readReplyLine returns the next line without its CRLF; it is at least one
// byte long.
func readReplyLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull && len(buf) <= maxReplyLine {
			line, err = r.ReadSlice('\n')
			buf = append(buf, line...)
		}
		if err == bufio.ErrBufferFull {
			return nil, errReply("reply line too long")
		}
		line = buf
	}
	if err != nil {
		return nil, noEOF(err)
	}
	n := len(line)
	if n < 3 || line[n-2] != '\r' {
		return nil, errReplyLine
	}
	return line[:n-2], nil
}

// readLen parses the length of a blob or aggregate. It returns -1 only if
// null is allowed.
func readLen(s string, allowNull bool) (int, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		return 0, errReply("invalid length")
	case n == -1 && allowNull:
		return -1, nil
	case n < 0 || n > maxReplyLen:
		return 0, errReply("invalid length")
	}
	return int(n), nil
}

func readBlob(r *bufio.Reader, lenStr string, v *Value) error {
	n, err := readLen(lenStr, v.Type == TypeBulk)
	if err != nil {
		return err
	}
	if n < 0 {
		v.Null = true
		return nil
	}
	b, err := readN(r, n+2)
	if err != nil {
		return err
	}
	if b[n] != '\r' || b[n+1] != '\n' {
		return errReply("blob not terminated by CRLF")
	}
	v.Str = string(b[:n])
	if v.Type == TypeVerbatim {
		if n < 4 || v.Str[3] != ':' {
			return errReply("invalid verbatim string")
		}
		v.Format, v.Str = v.Str[:3], v.Str[4:]
	}
	return nil
}

// readN reads n bytes, growing the result as they arrive.
func readN(r *bufio.Reader, n int) ([]byte, error) {
	b := make([]byte, 0, min(n, readBufSize))
	for len(b) < n {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		m, err := io.ReadFull(r, b[len(b):min(n, cap(b))])
		b = b[:len(b)+m]
		if err != nil {
			return nil, noEOF(err)
		}
	}
	return b, nil
}

func readAggregate(r *bufio.Reader, lenStr string, v *Value, depth int) error {
	n, err := readLen(lenStr, v.Type == TypeArray)
	if err != nil {
		return err
	}
	if n < 0 {
		v.Null = true
		return nil
	}
	if v.Type == TypeMap {
		n *= 2
	}
	v.Array, err = readValues(r, n, depth)
	return err
}

func readValues(r *bufio.Reader, n, depth int) ([]Value, error) {
	vs := make([]Value, 0, min(n, 64))
	for range n {
		e, err := readValue(r, depth+1)
		if err != nil {
			return nil, err
		}
		vs = append(vs, e)
	}
	return vs, nil
}

// readAttributed reads an attribute map and the value it annotates.
func readAttributed(r *bufio.Reader, lenStr string, depth int) (Value, error) {
	n, err := readLen(lenStr, false)
	if err != nil {
		return Value{}, err
	}
	attrs, err := readValues(r, 2*n, depth)
	if err != nil {
		return Value{}, err
	}
	v, err := readValue(r, depth+1)
	if err != nil {
		return Value{}, err
	}
	v.Attrs = append(attrs, v.Attrs...)
	return v, nil
}

func isBigNumber(s string) bool {
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// AppendCommand appends args to dst as a multibulk command, the form
// clients send, and returns the extended buffer.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}
