package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// maxDepth bounds the nesting of converted values, so a value that
// contains itself (l.append(l)) is an error rather than a stack overflow.
const maxDepth = 200

// jsonStyle selects the separators of encoded JSON.
type jsonStyle uint8

const (
	compact jsonStyle = iota // {"a":1,"b":[2,3]}: stored documents
	display                  // {"a": 1, "b": [2, 3]}: results, as Python's json.dumps
)

// encoder appends the JSON encoding of Starlark values to buf, failing
// once it grows past limit bytes (0 = no limit).
type encoder struct {
	buf   []byte
	style jsonStyle
	limit int
	// expand converts values the encoder does not know (the db object)
	// into ones it does; nil means none.
	expand func(starlark.Value) (starlark.Value, bool, error)
}

// toJSON encodes v compactly, for storage.
func toJSON(v starlark.Value, limit int) ([]byte, error) {
	e := encoder{style: compact, limit: limit}
	if err := e.value(v, 0); err != nil {
		return nil, err
	}
	return e.buf, nil
}

func (e *encoder) sep(comma bool) {
	switch {
	case comma && e.style == display:
		e.buf = append(e.buf, ',', ' ')
	case comma:
		e.buf = append(e.buf, ',')
	case e.style == display:
		e.buf = append(e.buf, ':', ' ')
	default:
		e.buf = append(e.buf, ':')
	}
}

func (e *encoder) value(v starlark.Value, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("value nested more than %d levels deep (does it contain itself?)", maxDepth)
	}
	if e.limit > 0 && len(e.buf) > e.limit {
		return fmt.Errorf("%w: more than %d bytes", ErrResultTooLarge, e.limit)
	}
	if e.expand != nil {
		x, ok, err := e.expand(v)
		if err != nil {
			return err
		}
		if ok {
			v = x
		}
	}
	switch v := v.(type) {
	case starlark.NoneType:
		e.buf = append(e.buf, "null"...)
	case starlark.Bool:
		e.buf = strconv.AppendBool(e.buf, bool(v))
	case starlark.Int:
		i, ok := v.Int64()
		if !ok {
			return fmt.Errorf("integer %s does not fit in 64 bits", v)
		}
		e.buf = strconv.AppendInt(e.buf, i, 10)
	case starlark.Float:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("float %s has no JSON form", v)
		}
		e.buf = appendFloat(e.buf, f)
	case starlark.String:
		e.buf = appendJSONString(e.buf, string(v))
	case starlark.Bytes:
		if !utf8.ValidString(string(v)) {
			return errors.New("bytes that are not valid UTF-8 cannot be part of a JSON value")
		}
		e.buf = appendJSONString(e.buf, string(v))
	case *starlark.Dict:
		return e.dict(v.Items(), depth)
	case starlark.IterableMapping:
		return e.dict(v.Items(), depth)
	case starlark.Iterable:
		// list, tuple, set, range
		e.buf = append(e.buf, '[')
		it := v.Iterate()
		defer it.Done()
		var x starlark.Value
		for i := 0; it.Next(&x); i++ {
			if i > 0 {
				e.sep(true)
			}
			if err := e.value(x, depth+1); err != nil {
				return err
			}
			if e.limit > 0 && len(e.buf) > e.limit {
				return fmt.Errorf("%w: more than %d bytes", ErrResultTooLarge, e.limit)
			}
		}
		e.buf = append(e.buf, ']')
	default:
		return fmt.Errorf("cannot convert %s to JSON", v.Type())
	}
	return nil
}

func (e *encoder) dict(items []starlark.Tuple, depth int) error {
	e.buf = append(e.buf, '{')
	for i, kv := range items {
		k, ok := starlark.AsString(kv[0])
		if !ok {
			return fmt.Errorf("cannot convert a dict with %s keys to JSON (keys must be strings)", kv[0].Type())
		}
		if i > 0 {
			e.sep(true)
		}
		e.buf = appendJSONString(e.buf, k)
		e.sep(false)
		if err := e.value(kv[1], depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// appendFloat writes f so that it reads back as a float (1.0, not 1).
func appendFloat(dst []byte, f float64) []byte {
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	if !bytes.ContainsAny(dst[start:], ".e") {
		dst = append(dst, '.', '0')
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string without HTML escaping.
// Invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

// fromJSON parses a JSON document into Starlark values: objects become
// dicts (in document order), arrays lists, integers ints (floats when
// they do not fit in 64 bits), other numbers floats. The values are not
// frozen: the script may modify them.
func fromJSON(b []byte) (starlark.Value, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := decodeValue(d, 0)
	if err != nil {
		return nil, fmt.Errorf("stored JSON document: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("stored JSON document: trailing data")
	}
	return v, nil
}

func decodeValue(d *json.Decoder, depth int) (starlark.Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested more than %d levels deep", maxDepth)
	}
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(t), nil
	case string:
		return starlark.String(t), nil
	case json.Number:
		return number(string(t))
	case json.Delim:
		switch t {
		case '[':
			var elems []starlark.Value
			for d.More() {
				x, err := decodeValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				elems = append(elems, x)
			}
			_, err := d.Token()
			return starlark.NewList(elems), err
		case '{':
			dict := starlark.NewDict(0)
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				x, err := decodeValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				if err := dict.SetKey(starlark.String(k.(string)), x); err != nil {
					return nil, err
				}
			}
			_, err := d.Token()
			return dict, err
		}
	}
	return nil, fmt.Errorf("unexpected JSON token %v", t)
}

func number(s string) (starlark.Value, error) {
	if !bytes.ContainsAny([]byte(s), ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return starlark.MakeInt64(i), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("bad number %q", s)
	}
	return starlark.Float(f), nil
}
