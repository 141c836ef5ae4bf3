package document

import (
	"fmt"
	"math"
	"sort"
)

// Kind is the JSON type of a Value.
type Kind uint8

const (
	Null Kind = iota
	Bool
	Int    // an integral number that fits in int64, kept exactly
	Float  // any other number, as float64
	String // valid UTF-8
	Array
	Object // keys in insertion order
)

// TypeName is the name RedisJSON's JSON.TYPE reports for a kind.
func (k Kind) TypeName() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "boolean"
	case Int:
		return "integer"
	case Float:
		return "number"
	case String:
		return "string"
	case Array:
		return "array"
	default:
		return "object"
	}
}

// Value is one JSON value: a tree of *Value. Objects keep their keys in
// the order they were first written; a key appears at most once. Values are
// mutable and not safe for concurrent use; the operations of this package
// modify the tree they are given.
type Value struct {
	kind Kind
	b    bool
	i    int64
	f    float64
	s    string
	arr  []*Value // Array
	keys []string // Object, parallel to vals
	vals []*Value
}

// Constructors.

func NewNull() *Value              { return &Value{kind: Null} }
func NewBool(b bool) *Value        { return &Value{kind: Bool, b: b} }
func NewInt(i int64) *Value        { return &Value{kind: Int, i: i} }
func NewString(s string) *Value    { return &Value{kind: String, s: s} }
func NewArray(vs ...*Value) *Value { return &Value{kind: Array, arr: vs} }
func NewObject() *Value            { return &Value{kind: Object} }

// NewFloat returns a float value. NaN and infinities are not JSON: they
// are refused with ErrNotJSON.
func NewFloat(f float64) (*Value, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: %v is not a JSON number", ErrNotJSON, f)
	}
	return &Value{kind: Float, f: f}, nil
}

// Accessors. Each returns the zero value for a Value of another kind.

func (v *Value) Kind() Kind { return v.kind }
func (v *Value) Bool() bool { return v.b }
func (v *Value) Int() int64 { return v.i }
func (v *Value) Float() float64 {
	if v.kind == Int {
		return float64(v.i)
	}
	return v.f
}
func (v *Value) Str() string { return v.s }

// Len is the number of elements of an array, members of an object or bytes
// of a string; 0 otherwise.
func (v *Value) Len() int {
	switch v.kind {
	case Array:
		return len(v.arr)
	case Object:
		return len(v.keys)
	case String:
		return len(v.s)
	}
	return 0
}

// Elems returns the elements of an array (aliasing it).
func (v *Value) Elems() []*Value { return v.arr }

// Keys returns the keys of an object in order (aliasing them).
func (v *Value) Keys() []string { return v.keys }

// Member returns the value of key in an object, or nil.
func (v *Value) Member(key string) *Value {
	if i := v.memberIndex(key); i >= 0 {
		return v.vals[i]
	}
	return nil
}

func (v *Value) memberIndex(key string) int {
	for i, k := range v.keys {
		if k == key {
			return i
		}
	}
	return -1
}

// SetMember sets key in an object: an existing key keeps its position, a
// new one goes last.
func (v *Value) SetMember(key string, val *Value) {
	if i := v.memberIndex(key); i >= 0 {
		v.vals[i] = val
		return
	}
	v.keys = append(v.keys, key)
	v.vals = append(v.vals, val)
}

// DeleteMember removes key from an object and reports whether it was there.
func (v *Value) DeleteMember(key string) bool {
	i := v.memberIndex(key)
	if i < 0 {
		return false
	}
	v.keys = append(v.keys[:i], v.keys[i+1:]...)
	v.vals = append(v.vals[:i], v.vals[i+1:]...)
	return true
}

// Append appends to an array.
func (v *Value) Append(vals ...*Value) { v.arr = append(v.arr, vals...) }

// Clone returns a deep copy.
func (v *Value) Clone() *Value {
	c := *v
	if v.arr != nil {
		c.arr = make([]*Value, len(v.arr))
		for i, e := range v.arr {
			c.arr[i] = e.Clone()
		}
	}
	if v.keys != nil {
		c.keys = append([]string(nil), v.keys...)
		c.vals = make([]*Value, len(v.vals))
		for i, e := range v.vals {
			c.vals[i] = e.Clone()
		}
	}
	return &c
}

// Equal reports whether two values are equal as JSON: numbers compare by
// value (1 equals 1.0), objects as unordered maps.
func Equal(a, b *Value) bool {
	if isNumber(a) && isNumber(b) {
		if a.kind == Int && b.kind == Int {
			return a.i == b.i
		}
		return a.Float() == b.Float()
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case Null:
		return true
	case Bool:
		return a.b == b.b
	case String:
		return a.s == b.s
	case Array:
		if len(a.arr) != len(b.arr) {
			return false
		}
		for i := range a.arr {
			if !Equal(a.arr[i], b.arr[i]) {
				return false
			}
		}
		return true
	default:
		if len(a.keys) != len(b.keys) {
			return false
		}
		for i, k := range a.keys {
			o := b.Member(k)
			if o == nil || !Equal(a.vals[i], o) {
				return false
			}
		}
		return true
	}
}

func isNumber(v *Value) bool { return v.kind == Int || v.kind == Float }

// FromGo converts a Go value: nil, bool, the integer kinds, float32/64,
// string, []any, map[string]any (keys sorted, a Go map has no order),
// *Value, and slices/maps of those. Other types are ErrNotJSON.
func FromGo(x any) (*Value, error) {
	switch t := x.(type) {
	case nil:
		return NewNull(), nil
	case *Value:
		return t, nil
	case bool:
		return NewBool(t), nil
	case int:
		return NewInt(int64(t)), nil
	case int8:
		return NewInt(int64(t)), nil
	case int16:
		return NewInt(int64(t)), nil
	case int32:
		return NewInt(int64(t)), nil
	case int64:
		return NewInt(t), nil
	case uint8:
		return NewInt(int64(t)), nil
	case uint16:
		return NewInt(int64(t)), nil
	case uint32:
		return NewInt(int64(t)), nil
	case uint:
		return fromUint(uint64(t))
	case uint64:
		return fromUint(t)
	case float32:
		return NewFloat(float64(t))
	case float64:
		return NewFloat(t)
	case string:
		return NewString(t), nil
	case []any:
		arr := make([]*Value, len(t))
		for i, e := range t {
			v, err := FromGo(e)
			if err != nil {
				return nil, err
			}
			arr[i] = v
		}
		return NewArray(arr...), nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := NewObject()
		for _, k := range keys {
			v, err := FromGo(t[k])
			if err != nil {
				return nil, err
			}
			o.SetMember(k, v)
		}
		return o, nil
	}
	return nil, fmt.Errorf("%w: cannot convert %T", ErrNotJSON, x)
}

func fromUint(u uint64) (*Value, error) {
	if u <= math.MaxInt64 {
		return NewInt(int64(u)), nil
	}
	return NewFloat(float64(u))
}

// ToGo converts to Go values: nil, bool, int64, float64, string, []any and
// map[string]any (which loses the key order; use Keys/Member to keep it).
func (v *Value) ToGo() any {
	switch v.kind {
	case Null:
		return nil
	case Bool:
		return v.b
	case Int:
		return v.i
	case Float:
		return v.f
	case String:
		return v.s
	case Array:
		out := make([]any, len(v.arr))
		for i, e := range v.arr {
			out[i] = e.ToGo()
		}
		return out
	default:
		out := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			out[k] = v.vals[i].ToGo()
		}
		return out
	}
}

// depth is the nesting depth: 0 for a scalar, 1 for a flat container.
func (v *Value) depth() int {
	d := 0
	for _, e := range v.arr {
		d = max(d, e.depth())
	}
	for _, e := range v.vals {
		d = max(d, e.depth())
	}
	if v.kind == Array || v.kind == Object {
		d++
	}
	return d
}
