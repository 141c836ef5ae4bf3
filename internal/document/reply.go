package document

import (
	"encoding/binary"
	"errors"
)

// ReplyKind is the kind of an operation's reply. Replies follow the shapes
// of RedisJSON's RESP2 replies; other front ends translate them.
type ReplyKind uint8

const (
	ReplyNil    ReplyKind = iota // no value (a missing match, an unmet NX/XX ...)
	ReplyInt                     // an integer (lengths, counts)
	ReplyBulk                    // a string (type names and keys in JSONPath replies)
	ReplySimple                  // a status string (OK, legacy type names)
	ReplyJSON                    // a JSON value; RESP sends its serialization as a bulk string
	ReplyArray                   // a list of replies
)

// Reply is the result of an operation.
type Reply struct {
	Kind ReplyKind
	Int  int64
	Str  string
	JSON *Value
	Arr  []Reply
}

// Reply constructors.
var (
	replyNil = Reply{}
	replyOK  = Reply{Kind: ReplySimple, Str: "OK"}
)

func intReply(n int64) Reply     { return Reply{Kind: ReplyInt, Int: n} }
func jsonReply(v *Value) Reply   { return Reply{Kind: ReplyJSON, JSON: v} }
func arrayReply(r []Reply) Reply { return Reply{Kind: ReplyArray, Arr: r} }

// ToValue converts a reply to a JSON value (for the HTTP API): nil is
// null, strings are strings, JSON values are themselves.
func (r Reply) ToValue() *Value {
	switch r.Kind {
	case ReplyInt:
		return NewInt(r.Int)
	case ReplyBulk, ReplySimple:
		return NewString(r.Str)
	case ReplyJSON:
		return r.JSON
	case ReplyArray:
		a := NewArray()
		for _, e := range r.Arr {
			a.arr = append(a.arr, e.ToValue())
		}
		return a
	}
	return NewNull()
}

// Binary encoding of a reply, carried in the state machine's results:
//
//	reply = kind:byte (int:varint | str | json-text | n:uvarint reply*n)
var errBadReply = errors.New("document: corrupt reply encoding")

// AppendReply appends the encoding of r.
func AppendReply(dst []byte, r Reply) []byte {
	dst = append(dst, byte(r.Kind))
	switch r.Kind {
	case ReplyInt:
		dst = binary.AppendVarint(dst, r.Int)
	case ReplyBulk, ReplySimple:
		dst = binary.AppendUvarint(dst, uint64(len(r.Str)))
		dst = append(dst, r.Str...)
	case ReplyJSON:
		text := r.JSON.AppendJSON(nil)
		dst = binary.AppendUvarint(dst, uint64(len(text)))
		dst = append(dst, text...)
	case ReplyArray:
		dst = binary.AppendUvarint(dst, uint64(len(r.Arr)))
		for _, e := range r.Arr {
			dst = AppendReply(dst, e)
		}
	}
	return dst
}

// DecodeReply decodes a reply encoded by AppendReply.
func DecodeReply(b []byte) (Reply, error) {
	r, rest, err := decodeReply(b, 0)
	if err == nil && len(rest) != 0 {
		err = errBadReply
	}
	return r, err
}

func decodeReply(b []byte, depth int) (Reply, []byte, error) {
	if len(b) == 0 || depth > MaxDepth+2 {
		return Reply{}, nil, errBadReply
	}
	r := Reply{Kind: ReplyKind(b[0])}
	b = b[1:]
	switch r.Kind {
	case ReplyNil:
	case ReplyInt:
		v, n := binary.Varint(b)
		if n <= 0 {
			return r, nil, errBadReply
		}
		r.Int, b = v, b[n:]
	case ReplyBulk, ReplySimple, ReplyJSON:
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return r, nil, errBadReply
		}
		s := b[n : n+int(l)]
		b = b[n+int(l):]
		if r.Kind == ReplyJSON {
			v, err := Parse(s)
			if err != nil {
				return r, nil, errBadReply
			}
			r.JSON = v
		} else {
			r.Str = string(s)
		}
	case ReplyArray:
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return r, nil, errBadReply
		}
		b = b[n:]
		r.Arr = make([]Reply, 0, l)
		for range l {
			var e Reply
			var err error
			if e, b, err = decodeReply(b, depth+1); err != nil {
				return r, nil, err
			}
			r.Arr = append(r.Arr, e)
		}
	default:
		return r, nil, errBadReply
	}
	return r, b, nil
}
