package cli

import (
	"strings"
	"testing"

	"github.com/cairndb/cairn/client"
)

// shellSession is the session of issue #7 (without undo/redo) as input
// lines and the lines the shell prints.
const shellSession = `db
db['x'] = 3
db['x']
db['l'] = range(10)
db
db['l'][4] = ['a', 'b', 'c']
db
[v for v in db['l'][4]]
[k for k in db]
db['l'][4].append('d')
db.save()
odd_squares = [v*v for v in db['l'] if type(v) == 'int' and v % 2]
odd_squares
def double(x):
    return 2 * x

for k in ['y', 'z']:
    db[k] = double(len(k))

[db['y'], db['z']]
del db['y']
'z' in db, 'y' in db
print('hello')
`

const shellOutput = `{}
3
{"x": 3, "l": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}
{"x": 3, "l": [0, 1, 2, 3, ["a", "b", "c"], 5, 6, 7, 8, 9]}
["a", "b", "c"]
["x", "l"]
[1, 9, 25, 49, 81]
[2, 2]
[true, false]
hello
`

func TestShellScripted(t *testing.T) {
	c := newCluster(t)
	out, errOut, code := run(t, c.url, shellSession, "shell")
	if code != 0 || out != shellOutput {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// Errors go to stderr with their position; the shell goes on and exits 1.
	out, errOut, code = run(t, c.url, "db['nope']\n1 +\ndb.undo()\ndb['x']\n", "shell")
	if code != 1 || out != "3\n" || !strings.Contains(errOut, `line 1 col 3: key "nope" not in db`) ||
		!strings.Contains(errOut, "Error: syntax error at line 1 col 4: ") || strings.Contains(errOut, "<stdin>") ||
		!strings.Contains(errOut, "not available") || strings.Count(errOut, "Error:") != 4 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestQueryCmd(t *testing.T) {
	c := newCluster(t)
	if out, errOut, code := run(t, c.url, "", "query", "--write", "db['n'] = 41\ndb['n'] + 1"); code != 0 || out != "42\n" {
		t.Fatalf("%d %q %q", code, out, errOut)
	}
	if out, errOut, code := run(t, c.url, "[k for k in db]", "query"); code != 0 || out != "[\"n\"]\n" {
		t.Fatalf("%d %q %q", code, out, errOut)
	}
	if _, errOut, code := run(t, c.url, "", "query", "db['n'] = 1"); code != 1 || !strings.Contains(errOut, "read-only") {
		t.Fatalf("%d %q", code, errOut)
	}
	if out, errOut, code := run(t, c.url, "", "query", "--revision", "1", "db['n']"); code != 0 || out != "41\n" {
		t.Fatalf("%d %q %q", code, out, errOut)
	}
}

func TestSpaced(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":[1,2],"b":"x,y:\"z\\"}`: `{"a": [1, 2], "b": "x,y:\"z\\"}`,
		`[]`:                          `[]`,
	} {
		if got := string(spaced([]byte(in))); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

func TestShellComplete(t *testing.T) {
	c := newCluster(t)
	c.put(t, "apple", "1", "apricot", "2", "banana", "3")
	e := &env{}
	e.root = e.newRootCmd()
	e.endpoints = c.url
	cl, err := e.client()
	if err != nil {
		t.Fatal(err)
	}
	sh := &shell{env: e, c: cl, session: &client.Session{Globals: map[string]string{"total": "1"}}}
	for _, tc := range []struct {
		line, head string
		want       []string
	}{
		{"x = db['ap", "x = db['", []string{"apple']", "apricot']"}},
		{`db["b`, `db["`, []string{`banana"]`}},
		{"db.ke", "db.", []string{"keys("}},
		{"print(tot", "print(", []string{"total"}},
	} {
		head, got, _ := sh.complete(tc.line, len(tc.line))
		if head != tc.head || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q: head %q completions %q", tc.line, head, got)
		}
	}
}
