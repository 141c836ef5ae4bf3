package respserver_test

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/testcluster"
)

// TestRedisCLI drives the real redis-cli and redis-benchmark (Debian
// package redis-tools) against a 3-node in-process cluster, connected to
// a follower so writes are forwarded. It skips when the tools are not
// installed; CI installs them.
func TestRedisCLI(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not on PATH (apt-get install redis-tools); skipping the end-to-end check")
	}
	c := testcluster.New(t, 3, testcluster.Options{})
	leader := c.WaitLeader(10 * time.Second)
	var follower *testcluster.Node
	for _, nd := range c.Running() {
		if nd.Name != leader.Name {
			follower = nd
			break
		}
	}
	_, port, err := net.SplitHostPort(follower.Server.RESPAddr())
	if err != nil {
		t.Fatal(err)
	}
	run := func(stdin []byte, args ...string) string {
		t.Helper()
		cmd := exec.Command(cli, append([]string{"-h", "127.0.0.1", "-p", port}, args...)...)
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"set", "a", "b"}, "OK"},
		{[]string{"get", "a"}, "b"},
		{[]string{"incr", "n"}, "1"},
		{[]string{"incr", "n"}, "2"},
		{[]string{"get", "missing"}, ""},
		{[]string{"mset", "k1", "v1", "k2", "v2"}, "OK"},
		{[]string{"mget", "k1", "k2"}, "v1\nv2"},
		{[]string{"del", "k1", "k2"}, "2"},
		{[]string{"exists", "a"}, "1"},
		{[]string{"type", "a"}, "string"},
		{[]string{"ping"}, "PONG"},
		{[]string{"-3", "get", "a"}, "b"},
		{[]string{"incr", "a"}, "ERR value is not an integer or out of range"},
		// The README's documents example.
		{[]string{"JSON.SET", "user:1", "$", `{"name":"ann","tags":["a"],"visits":0}`}, "OK"},
		{[]string{"JSON.NUMINCRBY", "user:1", "$.visits", "1"}, "[1]"},
		{[]string{"JSON.ARRAPPEND", "user:1", "$.tags", `"b"`}, "2"},
		{[]string{"JSON.GET", "user:1", "['tags'][-1]"}, `"b"`},
		{[]string{"type", "user:1"}, "ReJSON-RL"},
	} {
		if got := run(nil, tc.args...); got != tc.want {
			t.Errorf("redis-cli %s = %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	if got := run(nil, "info", "replication"); !strings.Contains(got, "role:slave") || !strings.Contains(got, "raft_term:") {
		t.Errorf("INFO replication on a follower:\n%s", got)
	}

	// Mass insert with --pipe: the raw protocol on stdin.
	const n = 2000
	var proto bytes.Buffer
	for i := range n {
		k, v := fmt.Sprintf("mass:%05d", i), fmt.Sprintf("value-%d", i)
		fmt.Fprintf(&proto, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(v), v)
	}
	out := run(proto.Bytes(), "--pipe")
	if !strings.Contains(out, fmt.Sprintf("errors: 0, replies: %d", n)) {
		t.Fatalf("redis-cli --pipe:\n%s", out)
	}
	if got := run(nil, "get", "mass:01999"); got != "value-1999" {
		t.Fatalf("after --pipe, mass:01999 = %q", got)
	}
	// --scan iterates SCAN (COUNT 10) with its numeric cursor.
	scanned := strings.Fields(run(nil, "--scan", "--pattern", "mass:*"))
	if len(scanned) != n {
		t.Fatalf("redis-cli --scan returned %d keys: %v", len(scanned), scanned)
	}
	if got := run(nil, "dbsize"); got != fmt.Sprint(n+3) { // a, n, user:1 and the mass keys
		t.Errorf("DBSIZE = %s, want %d", got, n+3)
	}

	bench, err := exec.LookPath("redis-benchmark")
	if err != nil {
		t.Log("redis-benchmark not on PATH; skipping the benchmark smoke run")
		return
	}
	cmd := exec.Command(bench, "-h", "127.0.0.1", "-p", port, "-t", "set,get", "-n", "2000", "-q")
	outb, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-benchmark: %v\n%s", err, outb)
	}
	got := string(outb)
	t.Logf("redis-benchmark -t set,get -n 2000 -q:\n%s", got)
	if !strings.Contains(got, "SET: ") || !strings.Contains(got, "GET: ") ||
		strings.Contains(strings.ToLower(got), "error") {
		t.Fatalf("redis-benchmark output:\n%s", got)
	}
}
