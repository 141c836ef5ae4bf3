package query

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
)

// run runs script in a session and returns what the shell would print:
// the value's JSON, or "" for a statement.
func run(t *testing.T, st Store, sess *Session, script string) (string, *Session) {
	t.Helper()
	res, err := Run(context.Background(), st, script, Options{Session: sess})
	if err != nil {
		t.Fatalf("%q: %v", script, err)
	}
	return string(res.Value), res.Session
}

// TestSession runs the session of issue #7 (without undo/redo).
func TestSession(t *testing.T) {
	st := newMemStore()
	sess := &Session{}
	steps := []struct{ in, out string }{
		{"db", "{}"},
		{"db['x'] = 3", ""},
		{"db['x']", "3"},
		{"db['l'] = range(10)", ""},
		{"db", `{"x": 3, "l": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}`},
		{"db['l'][4] = ['a', 'b', 'c']", ""},
		{"db", `{"x": 3, "l": [0, 1, 2, 3, ["a", "b", "c"], 5, 6, 7, 8, 9]}`},
		{"[v for v in db['l'][4]]", `["a", "b", "c"]`},
		{"[k for k in db]", `["x", "l"]`},
		{"db['l'][4].append('d')", ""},
		{"db.save()", ""},
		{"odd_squares = [v*v for v in db['l'] if type(v) == 'int' and v % 2]", ""},
		{"odd_squares", "[1, 9, 25, 49, 81]"},
		{"db['l'][4]", `["a", "b", "c", "d"]`},
		{"def sq(x):\n  return x * x\n", ""},
		{"sq(db['x'])", "9"},
		{"n = 1", ""},
		{"n += 1", ""},
		{"n", "2"},
		{"for i in range(3):\n  db['k%d' % i] = i\n", ""},
		{"len(db), 'k1' in db, 'nope' in db", "[5, true, false]"},
		{"del db['k1']", ""},
		{"db.keys()", `["x", "l", "k0", "k2"]`},
		{"db.get('k1', 'gone'), db.get('k2')", `["gone", 2]`},
		{"db['s'] = 'plain'", ""},
		{"db['s'] + '!'", `"plain!"`},
		{"db['f'] = {'a': 1.0, 'b': None, 'c': True}", ""},
		{"db['f']", `{"a": 1.0, "b": null, "c": true}`},
		{"db.keys('k')", `["k0", "k2"]`},
	}
	for _, s := range steps {
		got, next := run(t, st, sess, s.in)
		if got != s.out {
			t.Fatalf("> %s\ngot  %s\nwant %s", s.in, got, s.out)
		}
		sess = next
	}
	// Strings are plain values, everything else a JSON document.
	kv, _ := st.Get(context.Background(), []byte("s"), st.rev)
	if kv.Type != command.TypeBytes || string(kv.Value) != "plain" {
		t.Fatalf("s stored as %v %q", kv.Type, kv.Value)
	}
	kv, _ = st.Get(context.Background(), []byte("l"), st.rev)
	if kv.Type != command.TypeDocument || string(kv.Value) != `[0,1,2,3,["a","b","c","d"],5,6,7,8,9]` {
		t.Fatalf("l stored as %v %q", kv.Type, kv.Value)
	}
}

// TestReadsWriteNothing: reading values (scalars, and lists and dicts
// left unchanged) commits nothing, so a read-only query may read them.
func TestReadsWriteNothing(t *testing.T) {
	st := newMemStore()
	run(t, st, nil, "db['i'] = 1\ndb['s'] = 'x'\ndb['l'] = [1, {'a': 2}]\ndb['f'] = 1.5\ndb['d'] = {'k': [None]}")
	// Keys created by one txn share a create revision: they list in key order.
	res, err := Run(context.Background(), st, "[db[k] for k in db]", Options{ReadOnly: true})
	if err != nil || res.Committed || string(res.Value) != `[{"k": [null]}, 1.5, 1, [1, {"a": 2}], "x"]` {
		t.Fatalf("%+v %v", res, err)
	}
	rev := st.rev
	if res, err := Run(context.Background(), st, "db['l'][1]['a'] + db['i']", Options{}); err != nil || res.Committed || st.rev != rev {
		t.Fatalf("%+v %v, rev %d -> %d", res, err, rev, st.rev)
	}
	if res, err := Run(context.Background(), st, "db['l'][1]['a'] = 3", Options{}); err != nil || !res.Committed {
		t.Fatalf("%+v %v", res, err)
	}
	if got, _ := run(t, st, nil, "db['l']"); got != `[1, {"a": 3}]` {
		t.Fatalf("got %s", got)
	}
}

func TestHistoryAndAt(t *testing.T) {
	st := newMemStore()
	for _, s := range []string{"db['x'] = 1", "db['y'] = 'a'", "db['x'] += 1", "db['x'] += 1"} {
		run(t, st, nil, s)
	}
	for _, c := range []struct{ in, out string }{
		{"db.revision()", "4"},
		{"db.history('x')", `[{"revision": 4, "version": 3, "value": 3}, {"revision": 3, "version": 2, "value": 2}, {"revision": 1, "version": 1, "value": 1}]`},
		{"db.at(1)['x'], 'y' in db.at(1), db.at(2)", `[1, false, {"x": 1, "y": "a"}]`},
		{"db.history('nope')", "[]"},
	} {
		if got, _ := run(t, st, nil, c.in); got != c.out {
			t.Errorf("%s: got %s, want %s", c.in, got, c.out)
		}
	}
}

// TestLimitPositionApproximate: a limit stops a script between two
// instructions, and Starlark's line table gives a loop's jumps the
// position of the instruction before them in code order (here line 1):
// limit errors say "near", not "at", and script errors keep "at".
func TestLimitPositionApproximate(t *testing.T) {
	st := newMemStore()
	_, err := Run(context.Background(), st, "db['sl'] = 1\nwhile True:\n  pass", Options{MaxSteps: 1000})
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrStepLimit || !strings.Contains(err.Error(), "step limit exceeded near line ") {
		t.Fatalf("step limit: %v", err)
	}
	_, err = Run(context.Background(), st, "fail('x')", Options{})
	if err == nil || !strings.Contains(err.Error(), "script error at line 1 col 5") {
		t.Fatalf("script error: %v", err)
	}
}

func TestErrors(t *testing.T) {
	st := newMemStore()
	run(t, st, nil, "db['a'] = 1")
	for _, c := range []struct {
		script string
		opts   Options
		kind   error
		line   int32
		msg    string
	}{
		{script: "x = (", kind: ErrSyntax, line: 1},
		{script: "db['b'] = 2\nfail('boom')", kind: ErrScript, line: 2, msg: "boom"},
		{script: "db['b'] = 2\ndb['zz']", kind: ErrScript, line: 2, msg: `key "zz" not in db`},
		{script: "db['b'] = 2\nwhile True:\n  pass", opts: Options{MaxSteps: 1000}, kind: ErrStepLimit},
		// The wall-time limit: a step limit it cannot reach, a short timeout.
		{script: "db['t'] = 1\nn = 0\nwhile True:\n  n += 1", opts: Options{MaxSteps: 1 << 62, Timeout: 50 * time.Millisecond}, kind: ErrTimeLimit, msg: "ran out of time"},
		{script: "db['b'] = 2", opts: Options{ReadOnly: true}, kind: ErrReadOnly},
		{script: "db['b'] = 2", opts: Options{Revision: 1}, kind: ErrReadOnly},
		{script: "db['b'] = 1 << 70", kind: ErrScript, msg: "64 bits"},
		{script: "db['b'] = [1]\ndb['b'].append(db['b'])\ndb['b']", kind: ErrScript, msg: "nested"},
		{script: "db['b'] = 2\nlist(range(1000000))", opts: Options{MaxResultBytes: 1000}, kind: ErrResultTooLarge},
		{script: "db['b'] = 2\ndb.undo()", kind: ErrNotAvailable, line: 2},
		{script: "del x", kind: ErrSyntax},
		{script: "db['b'] = 2\ndel db['nope']", kind: ErrScript, msg: "not in db"},
		{script: "db['b'] = 2\nprint(undefined)", kind: ErrSyntax, msg: "undefined"},
		{script: "load('x.star', 'y')", kind: ErrScript},
		{script: "db['b'] = 2\nlen(db)", opts: Options{MaxKeys: 0}, kind: nil},
	} {
		_, err := Run(context.Background(), st, c.script, c.opts)
		if c.kind == nil {
			if err != nil {
				t.Errorf("%q: %v", c.script, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, c.kind) {
			t.Errorf("%q: got %v, want %v", c.script, err, c.kind)
			continue
		}
		if c.line != 0 && e.Line != c.line {
			t.Errorf("%q: line %d, want %d (%v)", c.script, e.Line, c.line, err)
		}
		if !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%q: message %q, want %q", c.script, e.Msg, c.msg)
		}
	}
	// Nothing partial was committed: only the last case's write.
	if got, _ := run(t, st, nil, "db"); got != `{"a": 1, "b": 2}` {
		t.Fatalf("db = %s", got)
	}
}
