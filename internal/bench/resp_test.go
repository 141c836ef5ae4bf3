package bench

import (
	"bufio"
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/resp"
)

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		in   string
		typ  byte
		null bool
		msg  string
	}{
		{"+OK\r\n", '+', false, ""},
		{"-ERR unknown command\r\n", '-', false, "ERR unknown command"},
		{":12\r\n", ':', false, ""},
		{"$3\r\nabc\r\n", '$', false, ""},
		{"$-1\r\n", '$', true, ""},
		{"*-1\r\n", '*', true, ""},
		{"_\r\n", '_', true, ""},
		{"*3\r\n+OK\r\n-WRONGTYPE bad\r\n-ERR later\r\n", '*', false, "WRONGTYPE bad"},
		{"%1\r\n+k\r\n*1\r\n$1\r\nv\r\n", '%', false, ""},
		{"|1\r\n+a\r\n:1\r\n$2\r\nhi\r\n", '$', false, ""},
		{"!5\r\nOOPS!\r\n", '!', false, "OOPS!"},
		{",1.5\r\n", ',', false, ""},
	} {
		br := bufio.NewReader(strings.NewReader(tc.in + "+NEXT\r\n"))
		r, err := readReply(br, 0)
		if err != nil || r.typ != tc.typ || r.null != tc.null || r.msg != tc.msg {
			t.Errorf("%q: %+v, %v", tc.in, r, err)
			continue
		}
		if next, err := readReply(br, 0); err != nil || next.typ != '+' {
			t.Errorf("%q: not consumed exactly: %+v %v", tc.in, next, err)
		}
	}
	for _, bad := range []string{"?\r\n", "$x\r\n", "+OK\n", "$5\r\nab", strings.Repeat("*1\r\n", 40) + "+OK\r\n"} {
		if _, err := readReply(bufio.NewReader(strings.NewReader(bad)), 0); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if k := ErrorKind(reply{msg: "WRONGTYPE Operation"}.err()); k != "resp:WRONGTYPE" {
		t.Errorf("kind %q", k)
	}
}

// redisServer starts a redis-server on a free loopback port, without
// persistence, and returns its address.
func redisServer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (apt-get install redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not start: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// redisDo sends one command and returns its reply.
func redisDo(t *testing.T, addr string, args ...string) resp.Value {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var bs [][]byte
	for _, a := range args {
		bs = append(bs, []byte(a))
	}
	if _, err := c.Write(resp.AppendCommand(nil, bs...)); err != nil {
		t.Fatal(err)
	}
	v, err := resp.ReadReply(bufio.NewReader(c))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func runRESP(t *testing.T, addr string, cfg Config, rc RESPConfig) *Result {
	t.Helper()
	rc.Addrs = []string{addr}
	d, err := NewRESP(rc)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRESPWorkloads(t *testing.T) {
	addr := redisServer(t)
	base := Default()
	base.Clients, base.Warmup, base.Keys, base.ValueSize, base.Ops = 8, 0, 200, 64, 2000

	t.Run("put", func(t *testing.T) {
		res := runRESP(t, addr, base, RESPConfig{})
		if res.Ops != 2000 || res.Errors != 0 {
			t.Fatalf("ops %d errors %d %v", res.Ops, res.Errors, res.FirstErrors)
		}
		v := redisDo(t, addr, "GET", string(AppendKey(nil, 7)))
		if v.Type != resp.TypeBulk || len(v.Str) != 64 {
			t.Errorf("key 7 = %+v", v)
		}
	})
	t.Run("get", func(t *testing.T) {
		cfg := base
		cfg.Workload, cfg.Preload, cfg.Pipeline = WorkloadGet, true, 16
		res := runRESP(t, addr, cfg, RESPConfig{})
		if res.Ops != 2000 || res.Errors != 0 || res.Misses != 0 {
			t.Fatalf("ops %d errors %d misses %d", res.Ops, res.Errors, res.Misses)
		}
		cfg.Keys, cfg.Preload = 1000, false // keys 200 onwards were never written
		res = runRESP(t, addr, cfg, RESPConfig{})
		if res.Misses < 1000 || res.Misses == res.Ops {
			t.Errorf("misses %d of %d", res.Misses, res.Ops)
		}
	})
	t.Run("mixed", func(t *testing.T) {
		cfg := base
		cfg.Workload, cfg.Preload, cfg.Pipeline, cfg.KeyDist = WorkloadMixed, true, 4, DistZipfian
		res := runRESP(t, addr, cfg, RESPConfig{})
		if res.Ops != 2000 || res.Errors != 0 || res.Misses != 0 {
			t.Fatalf("ops %d errors %d misses %d", res.Ops, res.Errors, res.Misses)
		}
	})
	t.Run("txn", func(t *testing.T) {
		redisDo(t, addr, "FLUSHALL")
		cfg := base
		cfg.Workload, cfg.TxnKeys, cfg.Pipeline, cfg.Keys = WorkloadTxn, 3, 4, 10000
		res := runRESP(t, addr, cfg, RESPConfig{})
		if res.Ops != 2000 || res.Errors != 0 {
			t.Fatalf("ops %d errors %d %v", res.Ops, res.Errors, res.FirstErrors)
		}
		// 6000 writes over 10000 keys: about 4500 distinct keys.
		if n := redisDo(t, addr, "DBSIZE").Int; n < 4000 || n > 6000 {
			t.Errorf("dbsize %d after 2000 txns of 3 keys", n)
		}
	})
	t.Run("cas", func(t *testing.T) {
		cfg := base
		cfg.Workload, cfg.Preload, cfg.Keys = WorkloadCAS, true, 2 // heavy contention
		res := runRESP(t, addr, cfg, RESPConfig{})
		if res.Ops != 2000 || res.Errors != 0 || res.Conflicts == 0 || res.Conflicts == res.Ops {
			t.Fatalf("ops %d errors %d conflicts %d %v", res.Ops, res.Errors, res.Conflicts, res.FirstErrors)
		}
		cfg.Keys, cfg.Clients = 1000, 1 // no contention
		res = runRESP(t, addr, cfg, RESPConfig{})
		if res.Conflicts != 0 {
			t.Errorf("%d conflicts with one client", res.Conflicts)
		}
	})
	t.Run("errors", func(t *testing.T) {
		redisDo(t, addr, "DEL", "key:0000000000")
		redisDo(t, addr, "LPUSH", "key:0000000000", "x")
		cfg := base
		cfg.Workload, cfg.Keys, cfg.Pipeline, cfg.Ops = WorkloadGet, 1, 3, 90
		res := runRESP(t, addr, cfg, RESPConfig{})
		if res.Errors != 90 || res.ErrorKinds["resp:WRONGTYPE"] != 90 {
			t.Fatalf("errors %d %v", res.Errors, res.ErrorKinds)
		}
		cfg.Workload, cfg.Ops, cfg.Pipeline = WorkloadCAS, 10, 1 // fails at its GET
		res = runRESP(t, addr, cfg, RESPConfig{})
		if res.ErrorKinds["resp:WRONGTYPE"] != 10 {
			t.Fatalf("cas: %v", res.ErrorKinds)
		}
	})
	t.Run("readonly refused", func(t *testing.T) {
		d, _ := NewRESP(RESPConfig{Addrs: []string{addr}, ReadOnly: true})
		_, err := Run(context.Background(), base, d)
		if err == nil || !strings.Contains(err.Error(), "READONLY") {
			t.Fatalf("READONLY on a non-cluster redis: %v", err)
		}
	})
}

// TestRESPReconnects kills the server mid-run: ops fail, are counted, and
// the run recovers once a server is back on the address.
func TestRESPReconnects(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// A tiny server: answers each SET with +OK, but drops every
	// connection after 50 commands.
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := resp.NewReader(c, resp.Limits{})
				var cmd resp.Command
				for range 50 {
					if r.ReadCommand(&cmd) != nil {
						return
					}
					if _, err := c.Write([]byte("+OK\r\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	cfg := Default()
	cfg.Clients, cfg.Warmup, cfg.Ops = 2, 0, 1000
	res := runRESP(t, l.Addr().String(), cfg, RESPConfig{Timeout: time.Second})
	if res.Ops+res.Errors != 1000 || res.Ops < 900 || res.Errors == 0 {
		t.Fatalf("ops %d errors %d %v", res.Ops, res.Errors, res.ErrorKinds)
	}
	for k := range res.ErrorKinds {
		if !strings.HasPrefix(k, "net:") {
			t.Errorf("error kind %q: %v", k, res.FirstErrors)
		}
	}
}

func TestRESPDialFails(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	d, _ := NewRESP(RESPConfig{Addrs: []string{addr}})
	_, err := Run(context.Background(), Default(), d)
	if k := ErrorKind(err); err == nil || k != "net:refused" {
		t.Fatalf("dial a closed port: %v (kind %q)", err, k)
	}
}
