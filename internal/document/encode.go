package document

import (
	"math"
	"strconv"
	"strings"
)

// Encode returns the canonical compact serialization of v (no whitespace,
// object keys in order, numbers as formatted by AppendJSON), or an error if
// v is deeper than MaxDepth or the text is larger than MaxSize. This is
// the stored form of a document.
func Encode(v *Value) ([]byte, error) {
	if d := v.depth(); d > MaxDepth {
		return nil, errorf(CodeTooDeep, "document nests %d levels deep, the limit is %d", d, MaxDepth)
	}
	b := v.AppendJSON(nil)
	if len(b) > MaxSize {
		return nil, errorf(CodeTooLarge, "document is %d bytes, the limit is %d", len(b), MaxSize)
	}
	return b, nil
}

// String returns the compact serialization of v.
func (v *Value) String() string { return string(v.AppendJSON(nil)) }

// AppendJSON appends the compact serialization of v. Strings escape only
// '"', '\\' and control characters (as \n, \t ... or \u00XX); other
// characters are written as UTF-8. An Int is written in decimal; a Float
// in the shortest form that reads back as the same float64, with ".0"
// added when it would otherwise read back as an integer, and an exponent
// outside [1e-6, 1e21) (1e+21 is written 1e21).
func (v *Value) AppendJSON(dst []byte) []byte {
	return v.appendFormat(dst, nil, 0)
}

// Format controls the layout of Indented (JSON.GET's INDENT, NEWLINE and
// SPACE arguments).
type Format struct {
	Indent  string // per nesting level
	Newline string // after each element and member
	Space   string // after the ':' of a member
}

// Indented returns the serialization of v with the layout of f.
func (v *Value) Indented(f Format) []byte {
	if f == (Format{}) {
		return v.AppendJSON(nil)
	}
	return v.appendFormat(nil, &f, 0)
}

func (v *Value) appendFormat(dst []byte, f *Format, level int) []byte {
	switch v.kind {
	case Null:
		return append(dst, "null"...)
	case Bool:
		if v.b {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case Int:
		return strconv.AppendInt(dst, v.i, 10)
	case Float:
		return appendFloat(dst, v.f)
	case String:
		return appendString(dst, v.s)
	case Array:
		dst = append(dst, '[')
		for i, e := range v.arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = f.line(dst, level+1)
			dst = e.appendFormat(dst, f, level+1)
		}
		if len(v.arr) > 0 {
			dst = f.line(dst, level)
		}
		return append(dst, ']')
	default:
		dst = append(dst, '{')
		for i, k := range v.keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = f.line(dst, level+1)
			dst = appendString(dst, k)
			dst = append(dst, ':')
			if f != nil {
				dst = append(dst, f.Space...)
			}
			dst = v.vals[i].appendFormat(dst, f, level+1)
		}
		if len(v.keys) > 0 {
			dst = f.line(dst, level)
		}
		return append(dst, '}')
	}
}

func (f *Format) line(dst []byte, level int) []byte {
	if f == nil {
		return dst
	}
	dst = append(dst, f.Newline...)
	for range level {
		dst = append(dst, f.Indent...)
	}
	return dst
}

func appendFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	start := len(dst)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
		// Go writes e+21 and e-07; JSON readers accept both, but keep it short.
		s := string(dst[start:])
		s = strings.Replace(s, "e+", "e", 1)
		s = strings.Replace(s, "e-0", "e-", 1)
		return append(dst[:start], s...)
	}
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' {
			return dst
		}
	}
	return append(dst, ".0"...)
}

const hexDigits = "0123456789abcdef"

func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
