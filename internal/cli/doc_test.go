package cli

import (
	"strings"
	"testing"
)

func TestDocCommands(t *testing.T) {
	c := newCluster(t)
	steps := []struct {
		stdin string
		args  []string
		out   string
		code  int
	}{
		{"", []string{"doc", "set", "u", `{"name":"ann","tags":[]}`}, `OK`, 0},
		{"", []string{"doc", "set", "u", "$", `{"name":"ann","tags":[]}`}, `OK`, 0},
		{`"x"`, []string{"doc", "set", "u", "$.name", "-", "--nx"}, `null`, 0},
		{"", []string{"doc", "arrappend", "u", "$.tags", `"a"`, `"b"`}, `[2]`, 0},
		{"", []string{"doc", "arrinsert", "u", ".tags", "0", `"z"`}, `3`, 0},
		{"", []string{"doc", "arrpop", "u", ".tags"}, `"b"`, 0},
		{"", []string{"doc", "arrindex", "u", "$.tags", `"a"`}, `[1]`, 0},
		{"", []string{"doc", "merge", "u", `{"n":0}`}, `OK`, 0},
		{"", []string{"doc", "merge", "u", "", `{"n":1}`}, `OK`, 0},
		{"", []string{"doc", "set", "u"}, ``, 2},
		{"", []string{"doc", "numincrby", "u", "/n", "2"}, `3`, 0},
		{"", []string{"doc", "type", "u", "$.*"}, `["string","array","integer"]`, 0},
		{"", []string{"doc", "objkeys", "u"}, `["name","tags","n"]`, 0},
		{"", []string{"doc", "get", "u", "['tags'][0]"}, `"z"`, 0},
		{"", []string{"doc", "get", "u"}, `{"name":"ann","tags":["z","a"],"n":3}`, 0},
		{"", []string{"doc", "del", "u", "$.tags"}, `1`, 0},
		{"", []string{"doc", "get", "u", ".tags"}, ``, 1},
		{"", []string{"doc", "set", "u", "$.x", `{bad`}, ``, 2},
		{"", []string{"doc", "del", "u"}, `1`, 0},
		{"", []string{"doc", "get", "u"}, ``, 1},
	}
	for _, s := range steps {
		out, errOut, code := run(t, c.url, s.stdin, s.args...)
		if code != s.code || strings.TrimSpace(out) != s.out {
			t.Fatalf("%v: exit %d, out %q (stderr %q); want exit %d, out %q", s.args, code, out, errOut, s.code, s.out)
		}
	}
}
