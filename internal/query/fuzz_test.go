package query

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"go.starlark.net/resolve"
	"go.starlark.net/syntax"

	"go.starlark.net/starlark"
)

// FuzzJSON checks that a parsed JSON document encodes to a form that
// parses to the same encoding (the converter is its own inverse on its
// output).
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{}`, `[1,2.5,"x",null,true]`, `{"a":{"b":[1e300,-0.0]}}`, `"\u00e9\n"`, `123456789012345678901234`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := fromJSON(b)
		if err != nil {
			return
		}
		enc, err := toJSON(v, 0)
		if err != nil {
			return // e.g. NaN cannot come from JSON, but deep nesting can fail
		}
		v2, err := fromJSON(enc)
		if err != nil {
			t.Fatalf("%q re-encoded as %q which does not parse: %v", b, enc, err)
		}
		enc2, err := toJSON(v2, 0)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("%q: %q then %q (%v)", b, enc, enc2, err)
		}
	})
}

// FuzzParseScript parses and rewrites (del, *) random scripts and
// compiles the result: the rewrites never panic and never produce a tree
// the compiler rejects when the original would compile.
func FuzzParseScript(f *testing.F) {
	for _, s := range []string{"x = [1] * 3\nx *= 2", "del db['k']", "[v*v for v in range(5) if v * 2]",
		"def f(a):\n  a[0] *= a[1] * 2\n  return a", "l[f()] *= 2", "x = (1 * 2, 3) * 2"} {
		f.Add(s)
	}
	isPredeclared := func(name string) bool {
		switch name {
		case "db", delBuiltin.Name(), mulBuiltin.Name(), mulCheckBuiltin.Name(), "range":
			return true
		}
		return false
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 {
			return
		}
		file, err := parse(RewriteDel(src))
		if err != nil {
			return
		}
		_, err = starlark.FileProgram(file, isPredeclared)
		if err == nil {
			return
		}
		// The rewritten tree may fail only where the original fails.
		orig, perr := fileOptions.Parse("script", RewriteDel(src), 0)
		if perr != nil || lowerDel(orig) != nil {
			t.Fatalf("%q: original does not parse but the rewritten one did", src)
		}
		if _, oerr := starlark.FileProgram(orig, isPredeclared); oerr == nil && !undefinedAugTargets(err, orig) {
			t.Fatalf("%q: the original compiles, the rewritten tree does not: %v", src, err)
		}
	})
}

// undefinedAugTargets reports whether err only says that variables are
// undefined which f assigns with `x *= n` — the one known divergence: the
// check reads x in the right-hand side, so a never-assigned x is reported
// when the script compiles rather than when the line runs.
func undefinedAugTargets(err error, f *syntax.File) bool {
	var list resolve.ErrorList
	if !errors.As(err, &list) {
		return false
	}
	targets := map[string]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if as, ok := n.(*syntax.AssignStmt); ok && as.Op == syntax.STAR_EQ {
			if id, ok := as.LHS.(*syntax.Ident); ok {
				targets[id.Name] = true
			}
		}
		return true
	})
	for _, e := range list {
		name, ok := strings.CutPrefix(e.Msg, "undefined: ")
		if !ok || !targets[name] {
			return false
		}
	}
	return true
}
