package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startSingle starts a one-node cluster from the built binary and waits
// until it serves.
func startSingle(t *testing.T) *proc {
	t.Helper()
	dir := t.TempDir()
	p := &proc{name: "solo", dir: filepath.Join(dir, "solo"), peer: freePort(t), http: freePort(t), resp: freePort(t)}
	p.start(t)
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.stop(t)
		}
		if t.Failed() {
			t.Logf("--- log of %s ---\n%s", p.name, p.logs())
		}
	})
	eventually(t, 20*time.Second, "node ready", func() error {
		var body any
		code, err := getJSON(p.http, "/readyz", &body)
		if err != nil || code != 200 {
			return fmt.Errorf("readyz %d %v", code, err)
		}
		return nil
	})
	return p
}

func redisCLI(t *testing.T, addr string, stdin string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestRedisCLIAgainstBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli not installed (Debian package redis-tools; .ci/run installs it)")
	}
	p := startSingle(t)
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"ping"}, "PONG"},
		{[]string{"set", "greeting", "hello"}, "OK"},
		{[]string{"get", "greeting"}, "hello"},
		{[]string{"append", "greeting", " world"}, "11"},
		{[]string{"incr", "counter"}, "1"},
		{[]string{"incrby", "counter", "41"}, "42"},
		{[]string{"incr", "greeting"}, "ERR value is not an integer or out of range"},
		{[]string{"exists", "greeting", "counter", "nope"}, "2"},
		{[]string{"del", "counter"}, "1"},
		{[]string{"get", "counter"}, ""},
		{[]string{"nosuchcommand"}, "ERR unknown command"},
	} {
		got := strings.TrimSpace(redisCLI(t, p.resp, "", step.args...))
		if !strings.HasPrefix(got, step.want) {
			t.Fatalf("redis-cli %v = %q, want prefix %q", step.args, got, step.want)
		}
	}

	// Mass insert through --pipe.
	var b strings.Builder
	for i := range 2000 {
		k, v := fmt.Sprintf("mass:%d", i), fmt.Sprintf("v%d", i)
		fmt.Fprintf(&b, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(v), v)
	}
	out := redisCLI(t, p.resp, b.String(), "--pipe")
	if !strings.Contains(out, "errors: 0, replies: 2000") {
		t.Fatalf("redis-cli --pipe: %s", out)
	}
	if got := strings.TrimSpace(redisCLI(t, p.resp, "", "get", "mass:1999")); got != "v1999" {
		t.Fatalf("get after --pipe = %q", got)
	}
	if got := strings.TrimSpace(redisCLI(t, p.resp, "", "dbsize")); got != "2001" {
		t.Fatalf("dbsize = %q, want 2001", got)
	}

	// The legacy line protocol of the original prototypes, over raw TCP.
	conn, err := net.DialTimeout("tcp", p.resp, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	for _, step := range []struct{ line, want string }{
		{"PUT legacy value\r\n", "+OK"},
		{"GET legacy\r\n", "$5"},
		{"GET missing\r\n", "-ERR key not found"},
	} {
		if _, err := conn.Write([]byte(step.line)); err != nil {
			t.Fatal(err)
		}
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, step.want) {
			t.Fatalf("%q -> %q, %v; want %q", step.line, line, err, step.want)
		}
		if step.want == "$5" {
			if v, _ := r.ReadString('\n'); strings.TrimSpace(v) != "value" {
				t.Fatalf("legacy GET value = %q", v)
			}
		}
	}

	// A short redis-benchmark smoke run completes without errors.
	if _, err := exec.LookPath("redis-benchmark"); err == nil {
		host, port, _ := net.SplitHostPort(p.resp)
		bench := exec.Command("redis-benchmark", "-h", host, "-p", port, "-q", "-t", "set,get", "-n", "2000", "-c", "10")
		out, err := bench.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SET:") || !strings.Contains(string(out), "GET:") || strings.Contains(string(out), "ERR") {
			t.Fatalf("redis-benchmark: %v\n%s", err, out)
		}
	}
}
