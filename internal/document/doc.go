// Package document is Cairn's JSON document model: an ordered JSON value,
// a strict parser and a canonical serializer, one path model with three
// spellings, and every document operation as a pure function. It does no
// I/O and reads no clock: the state machine runs the write operations
// (deterministically, on every node) and the front ends run the reads on
// a stored document.
//
// # Values
//
// A *Value is a JSON tree. Objects keep their keys in insertion order;
// numbers are Int (integral literals that fit in int64, kept exactly) or
// Float (float64). Parse is strict (RFC 8259, valid UTF-8, no lone
// surrogates) and enforces MaxSize, MaxDepth and MaxNumberLen; Encode is
// the canonical compact form that the store keeps. FromGo and ToGo convert
// from and to plain Go values.
//
// # Paths
//
// ParsePath accepts JSONPath as RedisJSON uses it ($.a[0], $..name, $.a[*],
// $.a[1:3], $.a[?(@.n > 1)]), RedisJSON's legacy paths (.a[0], a.b, .),
// Python subscripts (['a'][0], ["x"], [-1]) and JSON Pointer (/a/0, "").
// All parse into the same []Segment; Path.Multi records a JSONPath, whose
// replies list every match, while the other spellings reply with a single
// value. Canonical prints the one normal form.
//
// # Operations
//
// Apply(doc, op) runs one Op (the RedisJSON command family: set, del,
// arrappend, numincrby, merge, get, type ...) and returns the new document,
// a Reply shaped like RedisJSON's RESP2 reply, and whether anything
// changed. Errors are *Error with a stable Code. docs/DOCUMENTS.md
// describes each operation and the deliberate differences from RedisJSON.
//
// # Embedding
//
// Code that works with documents directly (the Starlark transactions of
// issue #7) can use the small API on top: ParseString, GetPath, SetPath,
// DeletePath, Value.Member/SetMember/Elems/Append, FromGo/ToGo, Encode.
package document
