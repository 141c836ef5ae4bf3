package document

import (
	"testing"
)

// FuzzParse checks that anything Parse accepts serializes canonically:
// parsing the serialization gives the same text (a fixed point).
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,-0,1e300,"\u00e9"],"b":{"c":null,"d":true}}`, `"\ud83d\ude00"`,
		`[[[]]]`, `9223372036854775808`, `-1.5e-7`, `{"a":1,"a":2}`, ` 0 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Parse(b)
		if err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		text, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode of a parsed value: %v", err)
		}
		v2, err := Parse(text)
		if err != nil {
			t.Fatalf("reparse of %q: %v", text, err)
		}
		if text2 := v2.AppendJSON(nil); string(text2) != string(text) {
			t.Fatalf("not a fixed point: %q -> %q", text, text2)
		}
		if !Equal(v, v2) {
			t.Fatalf("reparse of %q is not equal", text)
		}
	})
}

// FuzzParsePath checks that the path parser never panics and that the
// canonical form of a JSONPath parses to itself.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"$.a[0]", "$..b[*]", "['x'][-1]", "/a/0/~1", "$.a[1:3:2]", "$['a','b']",
		`$.a[?(@.b > 1 && !(@.c == "x") || $.d =~ "^a")]`, ".a.b", "a", ""} {
		f.Add(s)
	}
	doc, _ := ParseString(`{"a":[{"b":1,"c":"x"},{"b":2}],"d":"abc"}`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if CodeOf(err) != CodeBadPath {
				t.Fatalf("error %v has code %q", err, CodeOf(err))
			}
			return
		}
		p.Find(doc)
		if p.Pointer || !p.Multi {
			return
		}
		c := p.Canonical()
		if len(c) > MaxPathLen {
			// Escaping can make the canonical form longer than the input
			// (a control byte becomes \u001c); the length cap applies to
			// what users send, so such a form is not expected to re-parse.
			return
		}
		p2, err := ParsePath(c)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", c, s, err)
		}
		if c2 := p2.Canonical(); c2 != c {
			t.Fatalf("canonical form unstable: %q -> %q -> %q", s, c, c2)
		}
	})
}

// FuzzApply runs random ops on a random document: no panic, and a
// successful write leaves a document that encodes.
func FuzzApply(f *testing.F) {
	f.Add(`{"a":[1,2],"b":{"c":"x"}}`, uint8(OpArrAppend), "$.a", `3`, int64(0), int64(0))
	f.Add(`[1,[2,[3]]]`, uint8(OpDel), "$..[0]", `0`, int64(0), int64(0))
	f.Add(`{"n":1}`, uint8(OpNumMultBy), ".n", `2.5`, int64(0), int64(0))
	f.Fuzz(func(t *testing.T, docText string, kind uint8, path, val string, i, j int64) {
		doc, err := ParseString(docText)
		if err != nil {
			return
		}
		p, err := ParsePath(path)
		if err != nil {
			return
		}
		v, err := ParseString(val)
		if err != nil {
			return
		}
		op := &Op{Kind: OpKind(kind%uint8(MaxOp) + 1), Path: p, Values: []*Value{v}, Index: i, Stop: j}
		nd, r, _, err := Apply(doc, op)
		if err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if _, err := DecodeReply(AppendReply(nil, r)); err != nil {
			t.Fatalf("reply does not round trip: %v", err)
		}
		if nd != nil {
			if _, err := Encode(nd); err != nil && CodeOf(err) != CodeTooDeep && CodeOf(err) != CodeTooLarge {
				t.Fatalf("Encode: %v", err)
			}
		}
	})
}
