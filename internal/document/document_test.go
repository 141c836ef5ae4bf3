package document

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestLimits(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := ParseString(deep); err != nil {
		t.Fatalf("depth %d refused: %v", MaxDepth, err)
	}
	if _, err := ParseString("[" + deep + "]"); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("depth %d: got %v, want ErrTooDeep", MaxDepth+1, err)
	}
	big := make([]byte, MaxSize+1)
	for i := range big {
		big[i] = ' '
	}
	big[0] = '0'
	if _, err := Parse(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized input: got %v", err)
	}
	// A set that makes the document too deep is caught by Encode.
	doc, _ := ParseString(deep)
	v, _ := ParseString("[1]")
	var at strings.Builder
	at.WriteString("$")
	for range MaxDepth - 1 {
		at.WriteString("[0]")
	}
	if _, err := ParsePath(at.String()); err != nil {
		t.Fatal(err)
	}
	// doc's innermost array is at depth MaxDepth; append [1] there.
	nd, _, _, err := Apply(doc, &Op{Kind: OpArrAppend, Path: mustPath(t, at.String()), Values: []*Value{v}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Encode(nd); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("Encode of a too deep document: %v", err)
	}
	s := NewString(strings.Repeat("x", MaxSize))
	if _, err := Encode(s); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Encode of a too large document: %v", err)
	}
}

func mustPath(t *testing.T, s string) *Path {
	t.Helper()
	p, err := ParsePath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReplyRoundTrip(t *testing.T) {
	v, _ := ParseString(`{"a":[1,2.5,"x",null]}`)
	r := arrayReply([]Reply{replyNil, intReply(-7), {Kind: ReplyBulk, Str: "b"}, replyOK, jsonReply(v),
		arrayReply([]Reply{intReply(1)})})
	got, err := DecodeReply(AppendReply(nil, r))
	if err != nil {
		t.Fatal(err)
	}
	if renderReply(got) != renderReply(r) {
		t.Fatalf("round trip: %s != %s", renderReply(got), renderReply(r))
	}
	for _, bad := range [][]byte{nil, {9}, {byte(ReplyArray), 5}, {byte(ReplyJSON), 1, '{'}, {byte(ReplyNil), 0}} {
		if _, err := DecodeReply(bad); err == nil {
			t.Errorf("DecodeReply(%v) succeeded", bad)
		}
	}
}

func TestGoConversion(t *testing.T) {
	in := map[string]any{"b": []any{int64(1), 2.5, "s", true, nil}, "a": map[string]any{}}
	v, err := FromGo(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.String(), `{"a":{},"b":[1,2.5,"s",true,null]}`; got != want {
		t.Fatalf("FromGo: %s, want %s", got, want)
	}
	if !reflect.DeepEqual(v.ToGo(), in) {
		t.Fatalf("ToGo: %#v", v.ToGo())
	}
	if _, err := FromGo(struct{}{}); !errors.Is(err, ErrNotJSON) {
		t.Fatalf("FromGo(struct): %v", err)
	}
}

func TestFormat(t *testing.T) {
	v, _ := ParseString(`{"a":[1,{"b":null}],"c":{}}`)
	got := string(v.Indented(Format{Indent: "  ", Newline: "\n", Space: " "}))
	want := "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSpellingsSelectTheSame(t *testing.T) {
	doc, _ := ParseString(`{"users":[{"name":"a"},{"name":"b"}],"7":{"x":1},"a/b":2}`)
	groups := [][]string{
		{"$.users[1].name", "['users'][1]['name']", "/users/1/name", ".users[-1].name", "users[1].name"},
		{"$['7'].x", "/7/x", `["7"]["x"]`},
		{"$['a/b']", "/a~1b"},
	}
	for _, g := range groups {
		var first string
		for _, s := range g {
			vs, err := GetPath(doc, s)
			if err != nil || len(vs) != 1 {
				t.Fatalf("%s: %v %v", s, vs, err)
			}
			if first == "" {
				first = vs[0].String()
			} else if vs[0].String() != first {
				t.Errorf("%s selects %s, want %s", s, vs[0], first)
			}
		}
	}
}

func Example() {
	doc, _ := ParseString(`{"users":[{"name":"ann","age":31}]}`)
	doc, _ = SetPath(doc, "$.users[0].age", NewInt(32))
	doc, _ = SetPath(doc, "['users'][0]['email']", NewString("ann@example.com"))
	names, _ := GetPath(doc, "$..name")
	fmt.Println(doc, names[0])
	// Output: {"users":[{"name":"ann","age":32,"email":"ann@example.com"}]} "ann"
}

func TestWorkBudget(t *testing.T) {
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	doc, err := ParseString(deep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GetPath(doc, "$..*..*"); err != nil {
		t.Fatalf("two descents: %v", err)
	}
	_, _, _, err = Apply(doc, &Op{Kind: OpDel, Path: mustPath(t, "$"+strings.Repeat("..*", 8))})
	if !errors.Is(err, &Error{Code: CodeTooComplex}) {
		t.Fatalf("eight descents: %v, want CodeTooComplex", err)
	}
	v, _ := ParseString(`[{"a":[1,2,3]},{"a":[4]}]`)
	_, err = GetPath(v, "$[?(@.a"+strings.Repeat("..*", 3)+")]")
	if err != nil {
		t.Fatal(err)
	}
}
