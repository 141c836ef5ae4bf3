package watch

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/document"
)

// ver is one version of a key for the path filter tests: a document
// (doc), plain bytes (raw), or missing (neither).
type ver struct {
	doc, raw string
}

func doc(s string) ver { return ver{doc: s} }
func raw(s string) ver { return ver{raw: s} }

var missing = ver{}

func (v ver) exists() bool { return v.doc != "" || v.raw != "" }

func (v ver) value() ([]byte, command.ValueType) {
	if v.doc != "" {
		return []byte(v.doc), command.TypeDocument
	}
	return []byte(v.raw), command.TypeBytes
}

// event builds the event of the change prev -> next (next missing: a
// delete).
func event(prev, next ver) *Event {
	ev := &Event{Revision: 7, Type: Delete, Key: []byte("k")}
	if next.exists() {
		ev.Type = Put
		ev.Value, ev.ValueType = next.value()
	}
	if prev.exists() {
		ev.PrevExists = true
		ev.PrevValue, ev.PrevType = prev.value()
	}
	return ev
}

func TestPathFilter(t *testing.T) {
	const base = `{"a":{"b":1,"c":[1,2]},"d":"x"}`
	for _, tc := range []struct {
		name       string
		paths      []string // equivalent spellings
		prev, next ver
		want       bool
	}{
		// Changes at, below, above and beside $.a.b.
		{"at", []string{"$.a.b", ".a.b", "a.b", "['a']['b']", "/a/b"}, doc(base), doc(`{"a":{"b":2,"c":[1,2]},"d":"x"}`), true},
		{"at, same value re-set", []string{"$.a.b", ".a.b", "/a/b"}, doc(base), doc(base), false},
		{"at, int to float", []string{"$.a.b", ".a.b", "/a/b"}, doc(base), doc(`{"a":{"b":1.0,"c":[1,2]},"d":"x"}`), true},
		{"below", []string{"$.a", ".a", "['a']", "/a"}, doc(base), doc(`{"a":{"b":1,"c":[1,2,3]},"d":"x"}`), true},
		{"below, deep in an array", []string{"$.a.c", ".a.c", "/a/c"}, doc(base), doc(`{"a":{"b":1,"c":[1,5]},"d":"x"}`), true},
		{"above, inside unchanged", []string{"$.a.b", ".a.b", "/a/b"}, doc(base), doc(`{"a":{"b":1,"c":[1,2],"e":true},"d":"x"}`), false},
		{"above, replaced with the same", []string{"$.a.b", ".a.b", "/a/b"}, doc(base), doc(`{"a":{"c":[1,2],"b":1},"d":"x"}`), false},
		{"beside", []string{"$.a.b", ".a.b", "['a']['b']", "/a/b"}, doc(base), doc(`{"a":{"b":1,"c":[1,2]},"d":"y"}`), false},
		{"beside, sibling in the object", []string{"$.a.b", ".a.b", "/a/b"}, doc(base), doc(`{"a":{"b":1,"c":[]},"d":"x"}`), false},
		{"path removed", []string{"$.a.b", ".a.b", "/a/b"}, doc(base), doc(`{"a":{"c":[1,2]},"d":"x"}`), true},
		{"path created", []string{"$.e", ".e", "/e"}, doc(base), doc(`{"a":{"b":1,"c":[1,2]},"d":"x","e":null}`), true},
		{"root", []string{"$", ".", ""}, doc(base), doc(`{"a":{"b":1,"c":[1,2]},"d":"z"}`), true},
		{"key order counts at the root", []string{"$", "."}, doc(`{"a":1,"b":2}`), doc(`{"b":2,"a":1}`), true},
		{"array index", []string{"$.a.c[1]", ".a.c[1]", "['a']['c'][1]", "/a/c/1"}, doc(base), doc(`{"a":{"b":1,"c":[0,2]},"d":"x"}`), false},
		{"array index changed", []string{"$.a.c[1]", ".a.c[1]", "/a/c/1"}, doc(base), doc(`{"a":{"b":1,"c":[1,3]},"d":"x"}`), true},

		// Creation, deletion, type changes.
		{"created", []string{"$.a.b", ".a.b", "/a/b"}, missing, doc(base), true},
		{"created without the path", []string{"$.z", ".z", "/z"}, missing, doc(base), false},
		{"deleted", []string{"$.a.b", ".a.b", "/a/b"}, doc(base), missing, true},
		{"deleted without the path", []string{"$.z", ".z", "/z"}, doc(base), missing, false},
		{"document to bytes", []string{"$.a", ".a", "/a"}, doc(base), raw(base), true},
		{"bytes to document", []string{"$.a", ".a", "/a"}, raw(base), doc(base), true},
		{"bytes to bytes", []string{"$", ".", "$.a"}, raw("1"), raw("2"), false},
		{"bytes created", []string{"$", "."}, missing, raw(`{"a":1}`), false},
		{"bytes to document without the path", []string{"$.z", ".z"}, raw("x"), doc(base), false},
		{"corrupt document selects nothing", []string{"$.a", ".a"}, doc(`{"a":`), doc(base), true},
		{"corrupt to corrupt", []string{"$.a", ".a"}, doc(`{"a":`), doc(`{"a":2`), false},

		// Multi-match paths compare the list of matches; the other
		// spellings their first match.
		{"descent, one of several", []string{"$..x"}, doc(`{"x":1,"a":{"x":2}}`), doc(`{"x":1,"a":{"x":3}}`), true},
		{"descent, first match", []string{"..x"}, doc(`{"x":1,"a":{"x":2}}`), doc(`{"x":1,"a":{"x":3}}`), false},
		{"descent, match added", []string{"$..x"}, doc(`{"x":1}`), doc(`{"x":1,"b":{"x":1}}`), true},
		{"descent, elsewhere", []string{"$..x", "..x"}, doc(`{"x":1,"a":{"x":2}}`), doc(`{"x":1,"a":{"x":2,"y":0}}`), false},
		{"wildcard", []string{"$.a[*]"}, doc(`{"a":[1,2]}`), doc(`{"a":[1,2,3]}`), true},
		{"filter", []string{"$.a[?(@.n>1)]"}, doc(`{"a":[{"n":1},{"n":2}]}`), doc(`{"a":[{"n":1,"m":0},{"n":2}]}`), false},
		{"filter, match leaves", []string{"$.a[?(@.n>1)]"}, doc(`{"a":[{"n":1},{"n":2}]}`), doc(`{"a":[{"n":1},{"n":0}]}`), true},
		{"JSONPath, empty list both sides", []string{"$..q"}, missing, doc(base), false},
	} {
		for _, p := range tc.paths {
			t.Run(fmt.Sprintf("%s/%s", tc.name, p), func(t *testing.T) {
				f, err := PathFilter(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := f(event(tc.prev, tc.next)); got != tc.want {
					t.Fatalf("%v -> %v: delivered %v, want %v", tc.prev, tc.next, got, tc.want)
				}
				// The filter keeps scratch space: a second call must agree.
				if got := f(event(tc.prev, tc.next)); got != tc.want {
					t.Fatalf("second call: delivered %v, want %v", got, tc.want)
				}
			})
		}
	}
}

func TestPathFilterExpiryChange(t *testing.T) {
	f, err := PathFilter("$")
	if err != nil {
		t.Fatal(err)
	}
	// A TTL change writes the same value again.
	if f(event(doc(`{"a":1}`), doc(`{"a":1}`))) {
		t.Fatal("same version delivered")
	}
}

func TestPathFilterBadPath(t *testing.T) {
	for _, p := range []string{"$.a[", "$..", "[1", "$.a[?(@.x ==)]"} {
		_, err := PathFilter(p)
		var de *document.Error
		if !errors.As(err, &de) || document.CodeOf(err) != document.CodeBadPath && document.CodeOf(err) != document.CodeSyntax {
			t.Errorf("%q: %v (%T)", p, err, err)
		}
	}
}

// FuzzPathFilter: the filter never panics, whatever the stored bytes.
func FuzzPathFilter(f *testing.F) {
	f.Add("$..a", []byte(`{"a":[1,{"a":2}]}`), []byte(`{"a":`), true)
	f.Add(".a[0]", []byte(`[1,2]`), []byte(`"x"`), false)
	f.Fuzz(func(t *testing.T, path string, prev, next []byte, prevDoc bool) {
		flt, err := PathFilter(path)
		if err != nil {
			return
		}
		ev := &Event{Type: Put, Value: next, ValueType: command.TypeDocument, PrevValue: prev, PrevExists: true}
		if !prevDoc {
			ev.PrevType = command.TypeBytes
		}
		flt(ev)
	})
}

// BenchmarkPathFilter: one change of a ~2 KiB document.
func BenchmarkPathFilter(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"users":[`)
	for i := range 30 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%d,"name":"user %d","tags":["a","b"],"score":%d.5}`, i, i, i)
	}
	sb.WriteString(`],"meta":{"v":1}}`)
	prev := sb.String()
	next := strings.Replace(prev, `"v":1`, `"v":2`, 1)
	for _, path := range []string{"$.meta.v", "$..score"} {
		b.Run(path, func(b *testing.B) {
			f, err := PathFilter(path)
			if err != nil {
				b.Fatal(err)
			}
			ev := event(doc(prev), doc(next))
			b.SetBytes(int64(len(prev)))
			b.ReportAllocs()
			for b.Loop() {
				f(ev)
			}
		})
	}
}
