package resp

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
)

// ErrProtocolVersion is returned by SetProtocol for a version other than 2
// or 3. The server answers HELLO with such a version with "-NOPROTO ...".
var ErrProtocolVersion = errors.New("resp: unsupported protocol version")

// writeBufSize is the size at which a Writer flushes on its own, and the
// bulk length from which Bulk writes the payload directly instead of
// copying it.
const writeBufSize = 64 << 10

// Writer appends replies to a buffer and writes them to the underlying
// writer on Flush, or on its own once the buffer passes 64 KiB. Replies are
// RESP2 unless SetProtocol(3) was called. No method allocates.
//
// The first write error sticks: later replies are dropped and Flush
// returns it. Writer is not safe for concurrent use.
type Writer struct {
	w     io.Writer
	buf   []byte
	proto int
	err   error
}

// NewWriter returns a RESP2 Writer to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, buf: make([]byte, 0, 2*writeBufSize), proto: 2}
}

// SetProtocol switches to RESP2 or RESP3 for the replies that follow, as
// HELLO does.
func (w *Writer) SetProtocol(version int) error {
	if version != 2 && version != 3 {
		return ErrProtocolVersion
	}
	w.proto = version
	return nil
}

// Protocol returns the protocol version in use, 2 or 3.
func (w *Writer) Protocol() int { return w.proto }

// Buffered returns the number of bytes not yet written to the underlying
// writer.
func (w *Writer) Buffered() int { return len(w.buf) }

// Flush writes the buffered replies. It returns the first write error the
// Writer has met, now or earlier.
func (w *Writer) Flush() error {
	if w.err != nil || len(w.buf) == 0 {
		return w.err
	}
	w.write(w.buf)
	w.buf = w.buf[:0]
	return w.err
}

func (w *Writer) write(b []byte) {
	n, err := w.w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = err
	}
}

// done ends a reply: it flushes a full buffer, and drops the buffer after
// a write error.
func (w *Writer) done() {
	if w.err != nil {
		w.buf = w.buf[:0]
	} else if len(w.buf) >= writeBufSize {
		w.Flush()
	}
}

// SimpleString writes a status reply such as "+OK". CR and LF are trimmed
// from both ends of s and replaced by spaces inside it, as Redis does for
// errors: a simple string cannot hold them.
func (w *Writer) SimpleString(s string) {
	w.buf = append(w.buf, '+')
	w.line(s)
	w.done()
}

// Error writes an error reply. msg starts with the error code, as in
// "ERR unknown command 'x'" or "WRONGTYPE Operation against a key holding
// the wrong kind of value"; a leading '-' is dropped. CR and LF are
// sanitized as in SimpleString.
func (w *Writer) Error(msg string) {
	w.buf = append(w.buf, '-')
	w.line(strings.TrimPrefix(msg, "-"))
	w.done()
}

// line appends s with the sanitizing of SimpleString, and CRLF.
func (w *Writer) line(s string) {
	s = strings.Trim(s, "\r\n")
	for {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			break
		}
		w.buf = append(w.buf, s[:i]...)
		w.buf = append(w.buf, ' ')
		s = s[i+1:]
	}
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\r', '\n')
}

// Int writes an integer reply.
func (w *Writer) Int(n int64) {
	w.header(':', n)
	w.done()
}

// Bulk writes a bulk string reply. A nil b is the empty string; use Null
// for a missing value.
func (w *Writer) Bulk(b []byte) {
	w.header('$', int64(len(b)))
	if len(b) < writeBufSize {
		w.buf = append(w.buf, b...)
	} else if w.Flush() == nil {
		w.write(b)
	}
	w.buf = append(w.buf, '\r', '\n')
	w.done()
}

// BulkString writes a bulk string reply.
func (w *Writer) BulkString(s string) {
	w.header('$', int64(len(s)))
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\r', '\n')
	w.done()
}

// Null writes a missing value: "$-1" (the null bulk string) in RESP2, "_"
// in RESP3.
func (w *Writer) Null() {
	if w.proto == 3 {
		w.buf = append(w.buf, "_\r\n"...)
	} else {
		w.buf = append(w.buf, "$-1\r\n"...)
	}
	w.done()
}

// NullArray writes a missing array: "*-1" in RESP2, "_" in RESP3.
func (w *Writer) NullArray() {
	if w.proto == 3 {
		w.buf = append(w.buf, "_\r\n"...)
	} else {
		w.buf = append(w.buf, "*-1\r\n"...)
	}
	w.done()
}

// ArrayLen starts an array of n >= 0 replies, which the caller writes next.
func (w *Writer) ArrayLen(n int) {
	w.header('*', int64(n))
	w.done()
}

// MapLen starts a map of n pairs; the caller writes 2n replies, key then
// value. RESP2 has no maps: it gets an array of 2n elements, as from Redis.
func (w *Writer) MapLen(n int) {
	if w.proto == 3 {
		w.header('%', int64(n))
	} else {
		w.header('*', 2*int64(n))
	}
	w.done()
}

// SetLen starts a set of n replies: "~" in RESP3, an array in RESP2.
func (w *Writer) SetLen(n int) {
	w.aggregate('~', n)
}

// Push starts an out-of-band push of n replies (pub/sub messages,
// invalidations): ">" in RESP3, an array in RESP2.
func (w *Writer) Push(n int) {
	w.aggregate('>', n)
}

func (w *Writer) aggregate(resp3 byte, n int) {
	if w.proto == 3 {
		w.header(resp3, int64(n))
	} else {
		w.header('*', int64(n))
	}
	w.done()
}

// Double writes a floating point reply, formatted as Redis 7.2+ does
// ("inf", "-inf", "nan", integers without a fraction, otherwise the
// shortest decimal that parses back to f): "," in RESP3, a bulk string in
// RESP2.
func (w *Writer) Double(f float64) {
	var tmp [40]byte
	s := appendDouble(tmp[:0], f)
	if w.proto == 3 {
		w.buf = append(w.buf, ',')
		w.buf = append(w.buf, s...)
		w.buf = append(w.buf, '\r', '\n')
	} else {
		w.bulkBytes(s)
	}
	w.done()
}

// Bool writes a boolean: "#t"/"#f" in RESP3, the integer 1/0 in RESP2.
func (w *Writer) Bool(b bool) {
	switch {
	case w.proto == 3 && b:
		w.buf = append(w.buf, "#t\r\n"...)
	case w.proto == 3:
		w.buf = append(w.buf, "#f\r\n"...)
	case b:
		w.buf = append(w.buf, ":1\r\n"...)
	default:
		w.buf = append(w.buf, ":0\r\n"...)
	}
	w.done()
}

// BigNumber writes an integer of any size, given in decimal: "(" in RESP3,
// a bulk string in RESP2. The caller ensures digits is a valid number.
func (w *Writer) BigNumber(digits string) {
	if w.proto == 3 {
		w.buf = append(w.buf, '(')
		w.buf = append(w.buf, digits...)
		w.buf = append(w.buf, '\r', '\n')
		w.done()
		return
	}
	w.BulkString(digits)
}

// Verbatim writes text with a three-letter format such as "txt" or "mkd":
// "=" in RESP3, a bulk string of the text alone in RESP2. A format of
// another length is replaced by "txt".
func (w *Writer) Verbatim(format, text string) {
	if w.proto != 3 {
		w.BulkString(text)
		return
	}
	if len(format) != 3 {
		format = "txt"
	}
	w.header('=', int64(len(text)+4))
	w.buf = append(w.buf, format...)
	w.buf = append(w.buf, ':')
	w.buf = append(w.buf, text...)
	w.buf = append(w.buf, '\r', '\n')
	w.done()
}

func (w *Writer) header(prefix byte, n int64) {
	w.buf = append(w.buf, prefix)
	w.buf = strconv.AppendInt(w.buf, n, 10)
	w.buf = append(w.buf, '\r', '\n')
}

func (w *Writer) bulkBytes(b []byte) {
	w.header('$', int64(len(b)))
	w.buf = append(w.buf, b...)
	w.buf = append(w.buf, '\r', '\n')
}

// appendDouble formats f as Redis's d2string (Redis 7.2+): special values,
// integers up to 2^62 in integer form, otherwise the shortest round-trip
// digits laid out as fpconv_dtoa's emit_digits does.
func appendDouble(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case f == 0 && math.Signbit(f):
		return append(b, "-0"...)
	case f >= -(1<<62) && f <= 1<<62 && f == math.Trunc(f):
		return strconv.AppendInt(b, int64(f), 10)
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	// "d.ddde±x": at most 17 digits.
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	e := bytes.IndexByte(s, 'e')
	var digits [17]byte
	nd := 0
	for _, c := range s[:e] {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	exp, _ := strconv.Atoi(string(s[e+1:])) // no allocation: the conversion does not escape
	d := digits[:nd]
	k := exp - (nd - 1) // f = d * 10^k
	absExp := max(exp, -exp)
	switch {
	case k >= 0 && absExp < nd+7:
		b = append(b, d...)
		for range k {
			b = append(b, '0')
		}
	case k < 0 && (k > -7 || absExp < 4):
		if off := nd + k; off <= 0 {
			b = append(b, '0', '.')
			for range -off {
				b = append(b, '0')
			}
			b = append(b, d...)
		} else {
			b = append(b, d[:off]...)
			b = append(b, '.')
			b = append(b, d[off:]...)
		}
	default:
		b = append(b, d[0])
		if nd > 1 {
			b = append(b, '.')
			b = append(b, d[1:]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
		} else {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, int64(absExp), 10)
	}
	return b
}
