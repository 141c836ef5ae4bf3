package document

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits. A document (and every value given to an operation) is at most
// MaxSize bytes serialized and MaxDepth levels deep; a number literal is at
// most MaxNumberLen characters.
const (
	MaxSize      = 8 << 20 // the store's value limit
	MaxDepth     = 128     // as RedisJSON
	MaxNumberLen = 400
)

// Parse parses one JSON value (RFC 8259, strict): surrounding whitespace is
// allowed, trailing data is not; strings must be valid UTF-8 with valid
// escapes (no lone surrogates); numbers without a fraction or exponent that
// fit in int64 are Int, other numbers Float (a number that overflows
// float64 is an error); duplicate object keys keep the last value at the
// first position. Input over MaxSize or nested deeper than MaxDepth is
// refused.
func Parse(b []byte) (*Value, error) {
	if len(b) > MaxSize {
		return nil, errorf(CodeTooLarge, "document is %d bytes, the limit is %d", len(b), MaxSize)
	}
	p := parser{b: b}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, p.fail("trailing data")
	}
	return v, nil
}

// ParseString is Parse of a string.
func ParseString(s string) (*Value, error) { return Parse([]byte(s)) }

type parser struct {
	b []byte
	i int
}

func (p *parser) fail(what string) *Error {
	return errorf(CodeSyntax, "invalid JSON at offset %d: %s", p.i, what)
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) lit(word string) bool {
	if len(p.b)-p.i >= len(word) && string(p.b[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

func (p *parser) value(depth int) (*Value, error) {
	if p.i >= len(p.b) {
		return nil, p.fail("unexpected end of input")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return NewString(s), nil
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	case p.lit("true"):
		return NewBool(true), nil
	case p.lit("false"):
		return NewBool(false), nil
	case p.lit("null"):
		return NewNull(), nil
	}
	return nil, p.fail("unexpected character")
}

func (p *parser) object(depth int) (*Value, error) {
	if depth > MaxDepth {
		return nil, errorf(CodeTooDeep, "document nests deeper than %d levels", MaxDepth)
	}
	p.i++ // {
	o := NewObject()
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return o, nil
	}
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.fail("expected a string key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.fail("expected ':'")
		}
		p.i++
		p.ws()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		o.SetMember(k, v)
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return o, nil
		}
		return nil, p.fail("expected ',' or '}'")
	}
}

func (p *parser) array(depth int) (*Value, error) {
	if depth > MaxDepth {
		return nil, errorf(CodeTooDeep, "document nests deeper than %d levels", MaxDepth)
	}
	p.i++ // [
	a := NewArray()
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return a, nil
	}
	for {
		p.ws()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		a.arr = append(a.arr, v)
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return a, nil
		}
		return nil, p.fail("expected ',' or ']'")
	}
}

func digit(c byte) bool { return '0' <= c && c <= '9' }

func (p *parser) number() (*Value, error) {
	start := p.i
	integral := true
	if p.b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case p.i < len(p.b) && digit(p.b[p.i]):
		for p.i < len(p.b) && digit(p.b[p.i]) {
			p.i++
		}
	default:
		return nil, p.fail("bad number")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		integral = false
		p.i++
		if p.i >= len(p.b) || !digit(p.b[p.i]) {
			return nil, p.fail("bad number fraction")
		}
		for p.i < len(p.b) && digit(p.b[p.i]) {
			p.i++
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		integral = false
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if p.i >= len(p.b) || !digit(p.b[p.i]) {
			return nil, p.fail("bad number exponent")
		}
		for p.i < len(p.b) && digit(p.b[p.i]) {
			p.i++
		}
	}
	text := string(p.b[start:p.i])
	if len(text) > MaxNumberLen {
		return nil, errorf(CodeSyntax, "number literal longer than %d characters", MaxNumberLen)
	}
	if integral {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return NewInt(n), nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, errorf(CodeSyntax, "number %s is out of the float64 range", text)
	}
	return &Value{kind: Float, f: f}, nil
}

func hexVal(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return rune(c-'A') + 10
	}
	return -1
}

func (p *parser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	var r rune
	for j := range 4 {
		h := hexVal(p.b[p.i+j])
		if h < 0 {
			return 0, false
		}
		r = r<<4 | h
	}
	p.i += 4
	return r, true
}

// str parses a string starting at the opening quote.
func (p *parser) str() (string, error) {
	p.i++ // "
	start := p.i
	// Fast path: no escapes.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			if !utf8.Valid(s) {
				return "", p.fail("string is not valid UTF-8")
			}
			p.i++
			return string(s), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				return "", p.fail("string is not valid UTF-8")
			}
			p.i++
			return string(buf), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.b) {
			break
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xDC00 || !p.lit(`\u`) {
					return "", p.fail("lone surrogate in \\u escape")
				}
				r2, ok := p.hex4()
				if !ok || r2 < 0xDC00 || r2 > 0xDFFF {
					return "", p.fail("lone surrogate in \\u escape")
				}
				r = utf16.DecodeRune(r, r2)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.fail("bad escape")
		}
	}
	return "", p.fail("unterminated string")
}
