// Package e2e tests the built cairn binary: real processes on loopback,
// driven through the CLI and the HTTP API, killed with SIGKILL.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/testnet"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cairn-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "cairn")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/cairn")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build cairn:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback address no other test of this process got.
func freePort(t *testing.T) string { return testnet.FreeAddr(t) }

type proc struct {
	name, dir        string
	peer, http, resp string
	cmd              *exec.Cmd
	logFile          *os.File
	done             chan error
}

func (p *proc) start(t *testing.T, extra ...string) {
	t.Helper()
	args := append([]string{"server", "--name", p.name, "--data-dir", p.dir,
		"--listen-peer", p.peer, "--listen-http", p.http, "--listen-resp", p.resp}, extra...)
	p.cmd = exec.Command(binary, args...)
	if p.logFile == nil {
		f, err := os.Create(p.dir + ".log")
		if err != nil {
			t.Fatal(err)
		}
		p.logFile = f
	}
	p.cmd.Stdout, p.cmd.Stderr = p.logFile, p.logFile
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait() }()
}

// logs returns everything the process has written so far.
func (p *proc) logs() string {
	b, _ := os.ReadFile(p.logFile.Name())
	return string(b)
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%s exited with %v after SIGTERM; log:\n%s", p.name, err, p.logs())
		}
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("%s did not stop within 20s of SIGTERM", p.name)
	}
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

func getJSON(addr, path string, out any) (int, error) {
	resp, err := httpClient.Get("http://" + addr + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}

func putKV(addr, k, v string) error {
	body, _ := json.Marshal(map[string]string{"key": k, "value": v})
	req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/v1/kv", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("put %s: %s %s", k, resp.Status, b)
	}
	return nil
}

type status struct {
	Role         string `json:"role"`
	Leader       string `json:"leader"`
	AppliedIndex uint64 `json:"applied_index"`
	Revision     int64  `json:"revision"`
}

func eventually(t *testing.T, timeout time.Duration, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func cli(t *testing.T, endpoints string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--endpoints", endpoints}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// startCluster starts three nodes of the built binary, waits until each is
// ready, and returns them and their HTTP endpoints, comma-separated. The
// nodes are killed at the end of the test, and their logs printed if it
// failed.
func startCluster(t *testing.T) ([]*proc, string) {
	t.Helper()
	dir := t.TempDir()
	var procs []*proc
	var initial []string
	for i := 1; i <= 3; i++ {
		p := &proc{name: fmt.Sprintf("n%d", i), dir: filepath.Join(dir, fmt.Sprintf("n%d", i)),
			peer: freePort(t), http: freePort(t), resp: freePort(t)}
		procs = append(procs, p)
		initial = append(initial, p.name+"="+p.peer)
	}
	for _, p := range procs {
		p.start(t, "--initial-cluster", strings.Join(initial, ","))
	}
	t.Cleanup(func() {
		for _, p := range procs {
			if p.cmd.ProcessState == nil {
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			for _, p := range procs {
				t.Logf("--- log of %s ---\n%s", p.name, p.logs())
			}
		}
	})
	var endpoints []string
	for _, p := range procs {
		endpoints = append(endpoints, p.http)
		eventually(t, 20*time.Second, p.name+" ready", func() error {
			var body any
			code, err := getJSON(p.http, "/readyz", &body)
			if err != nil || code != 200 {
				return fmt.Errorf("readyz %d %v %v", code, body, err)
			}
			return nil
		})
	}
	return procs, strings.Join(endpoints, ",")
}

func TestThreeNodeKillLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	procs, eps := startCluster(t)

	// The CLI writes and reads through any endpoint.
	if out, errOut, err := cli(t, eps, "put", "hello", "world"); err != nil || strings.TrimSpace(out) != "OK" {
		t.Fatalf("cli put: %q %q %v", out, errOut, err)
	}
	if out, errOut, err := cli(t, eps, "get", "hello"); err != nil || out != "world\n" {
		t.Fatalf("cli get: %q %q %v", out, errOut, err)
	}
	if _, errOut, err := cli(t, eps, "get", "missing"); err == nil || !strings.Contains(errOut, "not found") {
		t.Fatalf("cli get of a missing key: err=%v stderr=%q", err, errOut)
	}

	// Concurrent HTTP writers to every node.
	var mu sync.Mutex
	acked := map[string]string{}
	ctx, stopWriters := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				p := procs[(w+i)%len(procs)]
				k, v := fmt.Sprintf("w%d-%05d", w, i), fmt.Sprintf("v%d", i)
				if putKV(p.http, k, v) == nil {
					mu.Lock()
					acked[k] = v
					mu.Unlock()
				}
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	eventually(t, 20*time.Second, "writes before the kill", func() error {
		if n := count(); n < 200 {
			return fmt.Errorf("%d acked", n)
		}
		return nil
	})

	leader := findLeader(t, procs)
	leader.kill(t)
	before := count()
	eventually(t, 30*time.Second, "writes after the kill", func() error {
		if n := count(); n < before+200 {
			return fmt.Errorf("%d acked since the kill", n-before)
		}
		return nil
	})
	// Restart with no bootstrap flags: the data dir is enough.
	leader.start(t)
	eventually(t, 30*time.Second, "restarted node ready", func() error {
		var body any
		code, err := getJSON(leader.http, "/readyz", &body)
		if err != nil || code != 200 {
			return fmt.Errorf("readyz %d %v", code, err)
		}
		return nil
	})
	stopWriters()
	wg.Wait()

	// Every node converges to the same revision and holds every acked write.
	eventually(t, 30*time.Second, "convergence", func() error {
		var revs []int64
		for _, p := range procs {
			var st status
			if _, err := getJSON(p.http, "/v1/cluster/status", &st); err != nil {
				return err
			}
			revs = append(revs, st.Revision)
		}
		if revs[0] != revs[1] || revs[1] != revs[2] {
			return fmt.Errorf("revisions %v", revs)
		}
		return nil
	})
	for _, p := range procs {
		data := scanAll(t, p.http)
		for k, v := range acked {
			if data[k] != v {
				t.Fatalf("%s lost acknowledged write %s=%s (has %q)", p.name, k, v, data[k])
			}
		}
	}
	t.Logf("%d acknowledged writes verified on 3 nodes", len(acked))
	for _, p := range procs {
		p.stop(t)
	}
}

func findLeader(t *testing.T, procs []*proc) *proc {
	t.Helper()
	var leader *proc
	eventually(t, 10*time.Second, "a leader", func() error {
		for _, p := range procs {
			var st status
			if _, err := getJSON(p.http, "/v1/cluster/status", &st); err == nil && st.Role == "leader" {
				leader = p
				return nil
			}
		}
		return fmt.Errorf("no node reports itself leader")
	})
	return leader
}

// scanAll reads every key from one node's local state, paging through.
func scanAll(t *testing.T, addr string) map[string]string {
	t.Helper()
	out := map[string]string{}
	q := url.Values{"key": {""}, "prefix": {"true"}, "consistency": {"stale"}, "limit": {"1000"}}
	for {
		var res struct {
			KVs []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"kvs"`
			More    bool   `json:"more"`
			NextKey string `json:"next_key"`
		}
		code, err := getJSON(addr, "/v1/kv?"+q.Encode(), &res)
		if err != nil || code != 200 {
			t.Fatalf("scan %s: %d %v", addr, code, err)
		}
		for _, kv := range res.KVs {
			out[kv.Key] = kv.Value
		}
		if !res.More {
			return out
		}
		q.Del("prefix")
		q.Set("key", res.NextKey)
		q.Set("end", "\x00")
	}
}
