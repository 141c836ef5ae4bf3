package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/httpapi"
	"github.com/cairndb/cairn/internal/httpapi/httpapitest"
	"github.com/cairndb/cairn/internal/membership"
	"github.com/cairndb/cairn/internal/service"
)

// cluster is one API server over a fake service.
type cluster struct {
	svc *httpapitest.Service
	url string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	svc := httpapitest.NewService()
	srv := httptest.NewServer(httpapi.New(svc, httpapi.Options{}))
	t.Cleanup(srv.Close)
	return &cluster{svc: svc, url: srv.URL}
}

func (c *cluster) put(t *testing.T, kvs ...string) {
	t.Helper()
	for i := 0; i+1 < len(kvs); i += 2 {
		if _, err := c.svc.Put(context.Background(), &command.PutRequest{Key: []byte(kvs[i]), Value: []byte(kvs[i+1])}); err != nil {
			t.Fatal(err)
		}
	}
}

// run runs the CLI against endpoints and returns what it printed.
func run(t *testing.T, endpoints, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	if endpoints != "" {
		args = append([]string{"--endpoints", endpoints, "--timeout", "2s"}, args...)
	}
	code = Run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

var (
	n1 = membership.IDString(membership.IDFromName("n1"))
	n2 = membership.IDString(membership.IDFromName("n2"))
)

func TestCommands(t *testing.T) {
	seed := func(c *cluster, t *testing.T) {
		c.put(t, "a", "1", "b/1", "x", "b/2", "y", "c", "3")
	}
	withLearner := func(c *cluster, t *testing.T) {
		c.svc.Join(context.Background(), membership.Member{Name: "n2", PeerAddr: "h2:7380", HTTPAddr: "h2:7379"})
	}
	tests := []struct {
		name    string
		setup   func(*cluster, *testing.T)
		stdin   string
		args    []string
		code    int
		stdout  string // exact
		stderr  string // exact unless errSub
		errSub  bool
		hook    error
		noStart bool // no --endpoints (usage and version)
	}{
		{name: "get", setup: seed, args: []string{"get", "a"}, stdout: "1\n"},
		{name: "get missing", args: []string{"get", "nope"}, code: 1, stderr: "Error: key not found: nope\n"},
		{name: "get missing binary", args: []string{"get", "\x01"}, code: 1, stderr: "Error: key not found: \"\\x01\"\n"},
		{name: "get prefix", setup: seed, args: []string{"get", "b/", "--prefix"}, stdout: "b/1\nx\nb/2\ny\n"},
		{name: "get range keys only", setup: seed, args: []string{"get", "a", "--range-end", "c", "--keys-only"}, stdout: "a\nb/1\nb/2\n"},
		{name: "get limit", setup: seed, args: []string{"get", "b/", "--prefix", "--limit", "1"}, stdout: "b/1\nx\n"},
		{name: "get count", setup: seed, args: []string{"get", "", "--prefix", "--count-only"}, stdout: "4\n"},
		{name: "get rev", setup: func(c *cluster, t *testing.T) { c.put(t, "a", "old", "a", "new") }, args: []string{"get", "a", "--rev", "1", "--stale"}, stdout: "old\n"},
		{name: "get prefix and range", args: []string{"get", "a", "--prefix", "--range-end", "b"}, code: 2, stderr: "Error: --prefix and --range-end are mutually exclusive\n"},
		{name: "get no key", args: []string{"get"}, code: 2, stderr: "Error: accepts 1 arg(s), received 0\n"},
		{name: "get bad flag", args: []string{"get", "a", "--limt", "1"}, code: 2, stderr: "Error: unknown flag: --limt\n"},
		{name: "get no leader", hook: service.ErrNoLeader, args: []string{"get", "a"}, code: 1, stderr: "Error: no leader", errSub: true},
		{name: "get json", setup: seed, args: []string{"--json", "get", "a"},
			stdout: `{"revision":4,"kvs":[{"key":"YQ==","value":"MQ==","create_revision":1,"mod_revision":1,"version":1}],"more":false,"count":1}` + "\n"},
		{name: "put", args: []string{"put", "k", "v"}, stdout: "OK\n"},
		{name: "put stdin", stdin: "from\nstdin", args: []string{"put", "k"}, stdout: "OK\n"},
		{name: "put json", args: []string{"put", "k", "v", "--json"}, stdout: `{"revision":1}` + "\n"},
		{name: "put empty key", args: []string{"put", "", "v"}, code: 1, stderr: "Error: fake: key is empty\n"},
		{name: "put timeout", hook: service.ErrTimeout, args: []string{"put", "k", "v"}, code: 1, stderr: "outcome of the write is unknown", errSub: true},
		{name: "del", setup: seed, args: []string{"del", "a"}, stdout: "1\n"},
		{name: "del prefix", setup: seed, args: []string{"del", "b/", "--prefix"}, stdout: "2\n"},
		{name: "del range", setup: seed, args: []string{"del", "a", "--range-end", "c"}, stdout: "3\n"},
		{name: "del missing", args: []string{"del", "a"}, stdout: "0\n"},
		{name: "scan", setup: seed, args: []string{"scan", "--page-size", "1"}, stdout: "a\n1\nb/1\nx\nb/2\ny\nc\n3\n"},
		{name: "scan from to", setup: seed, args: []string{"scan", "b", "--end", "c", "--page-size", "1"}, stdout: "b/1\nx\nb/2\ny\n"},
		{name: "scan limit", setup: seed, args: []string{"scan", "--limit", "3", "--page-size", "2", "--keys-only"}, stdout: "a\nb/1\nb/2\n"},
		{name: "scan empty", args: []string{"scan"}, stdout: ""},
		{name: "scan bad page", args: []string{"scan", "--page-size", "0"}, code: 2, stderr: "page-size", errSub: true},
		{name: "txn success", setup: seed, stdin: "value(\"a\") = \"1\"\nversion(\"a\") > 0\nexists(\"zz\") = false\n\nput a 2\nget a\ndel c\n\nget a\n",
			args: []string{"txn"}, stdout: "SUCCESS\nOK\na\n2\n1\n"},
		{name: "txn failure", setup: seed, stdin: "mod(\"a\") > \"99\"\n\nput a 2\n\nget --prefix b/\n", args: []string{"txn"},
			stdout: "FAILURE\nb/1\nx\nb/2\ny\n"},
		{name: "txn no compares", stdin: "\nput \"a b\" \"c\\xffd\"\n", args: []string{"txn"}, stdout: "SUCCESS\nOK\n"},
		{name: "txn parse error", stdin: "size(\"a\") = 1\n", args: []string{"txn"}, code: 2, stderr: "unknown target", errSub: true},
		{name: "txn duplicate", stdin: "\nput a 1\nput a 2\n", args: []string{"txn"}, code: 1, stderr: "duplicate", errSub: true},
		{name: "members json", args: []string{"cluster", "members", "--json"},
			stdout: `{"members":[{"id":"` + n1 + `","name":"n1","peer_addr":"127.0.0.1:7380","http_addr":"127.0.0.1:7379","learner":false}],"leader":"` + n1 + `"}` + "\n"},
		{name: "add", args: []string{"cluster", "add", "n2", "--peer-addr", "h2:7380"}, stdout: "Member " + n2 + " added as n2\n"},
		{name: "add no peer", args: []string{"cluster", "add", "n2"}, code: 2, stderr: "Error: --peer-addr is required\n"},
		{name: "promote", setup: withLearner, args: []string{"cluster", "promote", "n2"}, stdout: "Member " + n2 + " promoted\n"},
		{name: "promote voter", args: []string{"cluster", "promote", "n1"}, code: 1, stderr: "not a learner", errSub: true},
		{name: "remove", setup: withLearner, args: []string{"cluster", "remove", n2}, stdout: "Member " + n2 + " removed\n"},
		{name: "remove json", setup: withLearner, args: []string{"cluster", "remove", "n2", "--json"}, stdout: `{"id":"` + n2 + `"}` + "\n"},
		{name: "remove unknown", args: []string{"cluster", "remove", "nobody"}, code: 1, stderr: "Error: member not found: \"nobody\"\n"},
		{name: "transfer", args: []string{"cluster", "transfer-leader", "n1"}, stdout: "Leadership transferred to " + n1 + "\n"},
		{name: "cluster no sub", args: []string{"cluster"}, code: 2, stderr: "Error: missing subcommand", errSub: true},
		{name: "unknown command", noStart: true, args: []string{"frobnicate"}, code: 2, stderr: "Error: unknown command \"frobnicate\" (see cairn --help)\n"},
		{name: "no command", noStart: true, args: nil, code: 2, stderr: "Error: no command given", errSub: true},
		{name: "version", noStart: true, args: []string{"version"}, stdout: "cairn dev (", errSub: true},
		{name: "bad endpoint", noStart: true, args: []string{"--endpoints", "ftp://x", "get", "a"}, code: 2, stderr: "Error: cairn: bad endpoint \"ftp://x\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := ""
			if !tt.noStart {
				c := newCluster(t)
				if tt.setup != nil {
					tt.setup(c, t)
				}
				if tt.hook != nil {
					c.svc.SetHook(func(string) error { return tt.hook })
				}
				ep = c.url
			}
			stdout, stderr, code := run(t, ep, tt.stdin, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tt.code, stdout, stderr)
			}
			switch {
			case tt.name == "version":
				if !strings.HasPrefix(stdout, tt.stdout) || stderr != "" {
					t.Fatalf("stdout %q stderr %q", stdout, stderr)
				}
				return
			case stdout != tt.stdout:
				t.Fatalf("stdout %q, want %q (stderr %q)", stdout, tt.stdout, stderr)
			case tt.errSub && !strings.Contains(stderr, tt.stderr), !tt.errSub && stderr != tt.stderr:
				t.Fatalf("stderr %q, want %q", stderr, tt.stderr)
			}
			if code != 0 && (stdout != "" || strings.Count(stderr, "\n") != 1 && tt.name != "no command" && tt.name != "cluster no sub") {
				t.Fatalf("an error must print one line on stderr and nothing on stdout: %q %q", stdout, stderr)
			}
		})
	}
}

func TestPutStdinIsBinarySafe(t *testing.T) {
	c := newCluster(t)
	val := "line\n\x00\xff"
	if _, stderr, code := run(t, c.url, val, "put", "k"); code != 0 {
		t.Fatal(stderr)
	}
	stdout, _, _ := run(t, c.url, "", "get", "k")
	if stdout != val+"\n" {
		t.Fatalf("got %q", stdout)
	}
	stdout, _, _ = run(t, c.url, "", "get", "k", "--json")
	var resp struct{ KVs []struct{ Value string } }
	if err := json.Unmarshal([]byte(stdout), &resp); err != nil || resp.KVs[0].Value != base64.StdEncoding.EncodeToString([]byte(val)) {
		t.Fatalf("json %q: %v", stdout, err)
	}
}

func TestEndpointsFailoverAndEnv(t *testing.T) {
	c := newCluster(t)
	c.put(t, "k", "v")
	stdout, stderr, code := run(t, deadAddr(t)+","+c.url, "", "get", "k")
	if code != 0 || stdout != "v\n" {
		t.Fatalf("failover: %d %q %q", code, stdout, stderr)
	}
	t.Setenv("CAIRN_ENDPOINTS", c.url)
	stdout, stderr, code = run(t, "", "", "get", "k")
	if code != 0 || stdout != "v\n" {
		t.Fatalf("env: %d %q %q", code, stdout, stderr)
	}
	// The flag wins over the environment.
	_, stderr, code = run(t, deadAddr(t), "", "get", "k")
	if code != 1 || !strings.HasPrefix(stderr, "Error: ") {
		t.Fatalf("flag over env: %d %q", code, stderr)
	}
}

// checkTable checks a tabwriter table: the fields of each row, and that
// every column starts at the same offset in every row.
func checkTable(t *testing.T, out string, want [][]string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("table %q: %d rows, want %d", out, len(lines), len(want))
	}
	for i, line := range lines {
		if got := strings.Fields(line); strings.Join(got, " ") != strings.Join(want[i], " ") {
			t.Fatalf("row %d: %q, want %q", i, got, want[i])
		}
		off := 0
		for j, f := range want[i] {
			k := strings.Index(line[off:], f) + off
			if h := strings.Index(lines[0][off:], want[0][j]) + off; k != h {
				t.Fatalf("row %d column %d starts at %d, header at %d:\n%s", i, j, k, h, out)
			}
			off = k + len(f)
		}
	}
}

func TestClusterMembers(t *testing.T) {
	c := newCluster(t)
	c.svc.Join(context.Background(), membership.Member{Name: "n2", PeerAddr: "h2:7380", HTTPAddr: "h2:7379"})
	c.svc.Join(context.Background(), membership.Member{Name: "n3", PeerAddr: "h3:7380", Learner: true})
	stdout, stderr, code := run(t, c.url, "", "cluster", "members")
	if code != 0 || stderr != "" {
		t.Fatalf("%d %q", code, stderr)
	}
	checkTable(t, stdout, [][]string{
		{"ID", "NAME", "ROLE", "PEER", "HTTP"},
		{n1, "n1", "leader", "127.0.0.1:7380", "127.0.0.1:7379"},
		{n2, "n2", "learner", "h2:7380", "h2:7379"},
		{membership.IDString(membership.IDFromName("n3")), "n3", "read-only", "h3:7380"},
	})
}

func TestClusterStatus(t *testing.T) {
	c := newCluster(t)
	c.put(t, "k", "v")
	stdout, stderr, code := run(t, c.url, "", "cluster", "status")
	if code != 0 || stderr != "" {
		t.Fatalf("%d %q", code, stderr)
	}
	checkTable(t, stdout, [][]string{
		{"ENDPOINT", "ID", "NAME", "ROLE", "LEADER", "TERM", "COMMIT", "APPLIED", "REVISION"},
		{c.url, n1, "n1", "leader", n1, "1", "2", "2", "1"},
	})
	dead := deadAddr(t)
	stdout, stderr, code = run(t, c.url+","+dead, "", "cluster", "status", "--json")
	if code != 1 || !strings.Contains(stdout, `"endpoint":"`+c.url+`"`) || !strings.Contains(stdout, `"role":"leader"`) ||
		!strings.Contains(stderr, dead) || !strings.Contains(stderr, "Error: 1 of 2 endpoints did not answer") {
		t.Fatalf("partial status: %d %q %q", code, stdout, stderr)
	}
}

func TestParseTxn(t *testing.T) {
	good := "# comment\nval(k) == v\nver(\"k\") < 3\ncreate(\"k\") = \"0\"\nmod_revision(\"k\") != 5\nexists(\"k\")  =  true\n\n" +
		"put \"sp ace\" \"\\x00\"\nget k end\nget --prefix k\ndel k\ndel --prefix k\ndelete a b\n\nget a\n\nignored after third blank\n"
	spec, err := parseTxn(strings.NewReader(good), nil)
	if err != nil || len(spec.cmps) != 5 || len(spec.then) != 6 || len(spec.els) != 1 {
		t.Fatalf("%+v %v", spec, err)
	}
	for _, bad := range []string{
		"value(\"k\" = \"v\"", "value \"k\" = v", "value(\"k\") = ", "version(\"k\") = x", "exists(\"k\") = maybe",
		"value(\"k) = v", "\nput k", "\nput k v w", "\nget", "\nget --prefix k end", "\nscan k", "\nput \"k v",
	} {
		if _, err := parseTxn(strings.NewReader(bad), nil); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	// A bad relation passes the parser and is rejected at commit.
	spec, err = parseTxn(strings.NewReader("value(\"k\") ~ \"v\"\n"), nil)
	if err != nil || len(spec.cmps) != 1 {
		t.Fatalf("%v", err)
	}
}
