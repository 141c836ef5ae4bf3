package e2e

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// shellSession is the session of issue #7: each input line and what the
// shell prints for it ("" for a statement).
var shellSession = []struct{ in, out string }{
	{"db", "{}"},
	{"db['x'] = 3", ""},
	{"db['x']", "3"},
	{"db['l'] = range(10)", ""},
	{"db", `{"x": 3, "l": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}`},
	{"db['l'][4] = ['a', 'b', 'c']", ""},
	{"db.undo()", ""},
	{"db", `{"x": 3, "l": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}`},
	{"db.undo()", ""}, {"db.redo()", ""}, {"db.redo()", ""},
	{"db", `{"x": 3, "l": [0, 1, 2, 3, ["a", "b", "c"], 5, 6, 7, 8, 9]}`},
	{"[v for v in db['l'][4]]", `["a", "b", "c"]`},
	{"[k for k in db]", `["x", "l"]`},
	{"db['l'][4].append('d')", ""},
	{"db.save()", ""},
	{"odd_squares = [v*v for v in db['l'] if type(v) == 'int' and v % 2]", ""},
	// Beyond the session: the variable lives on, and so do blocks.
	{"odd_squares", "[1, 9, 25, 49, 81]"},
	{"for i in range(3):\n    db['n'] = db.get('n', 0) + i\n", ""},
	{"db['n'], db['l'][4]", `[3, ["a", "b", "c", "d"]]`},
}

// TestShellSession pipes the session into `cairn shell` against a 3-node
// cluster and checks its output.
func TestShellSession(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	procs, _ := startCluster(t)
	var eps []string
	for _, p := range procs {
		eps = append(eps, p.http)
	}
	var in, want strings.Builder
	for _, s := range shellSession {
		in.WriteString(s.in + "\n")
		if s.out != "" {
			want.WriteString(s.out + "\n")
		}
	}
	// The shell reaches the cluster through the client (failover across
	// the three endpoints); every node then serves the result.
	cmd := exec.Command(binary, "--endpoints", strings.Join(eps, ","), "shell")
	cmd.Stdin = strings.NewReader(in.String())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil || out.String() != want.String() {
		t.Fatalf("cairn shell: %v\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", err, out.String(), want.String(), errOut.String())
	}
	// Every node serves the result.
	for _, ep := range eps {
		got, errs, err := cli(t, ep, "query", "db")
		if want := `{"x": 3, "l": [0, 1, 2, 3, ["a", "b", "c", "d"], 5, 6, 7, 8, 9], "n": 3}` + "\n"; err != nil || got != want {
			t.Fatalf("%s: query db: %q %q %v", ep, got, errs, err)
		}
	}
	// A script error prints its position and commits nothing.
	_, errs, err := cli(t, eps[0], "query", "--write", "db['x'] = 4\nfail('stop')")
	if err == nil || !strings.Contains(errs, "line 2") {
		t.Fatalf("failing script: %q %v", errs, err)
	}
	if got, _, _ := cli(t, eps[1], "query", "db['x']"); got != "3\n" {
		t.Fatalf("after a failed script x = %q", got)
	}
}
