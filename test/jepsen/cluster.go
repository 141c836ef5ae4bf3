package jepsen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/membership"

	"github.com/cairndb/cairn/internal/testnet"
)

// PrintLogs prints every node's whole log when a cluster is cleaned up,
// not only when the test failed.
var PrintLogs bool

// LogDir receives a copy of every node's log when a test fails (default: a
// new temp dir, printed).
var LogDir string

// Binaries are the executables a cluster runs.
type Binaries struct {
	Cairn string // cmd/cairn, started as `cairn server ...`
}

// ClusterOptions configure a cluster of real processes.
type ClusterOptions struct {
	Nodes int
	// Tuned adds TunedArgs to every node (small raft log and MVCC
	// compaction thresholds); otherwise nodes run with the shipped defaults.
	Tuned     bool
	TunedArgs []string
	// Args are extra flags given to every node (e.g. --retain-revisions).
	Args []string
}

// Cluster is a set of cairn processes on loopback whose peer links pass
// through a Net. Nodes are never forgotten: removed ones stay in Nodes with
// Removed set, so their logs can be printed.
type Cluster struct {
	t    testing.TB
	bins Binaries
	opts ClusterOptions
	dir  string
	Net  *Net
	logf func(string, ...any)

	mu    sync.Mutex // guards nodes and seq
	nodes []*Node
	seq   int
}

// Node is one cairn process (and its restarts).
type Node struct {
	Name     string
	ID       uint64
	Dir      string
	Peer     string // the transport's real listen address
	PeerAddr string // the proxy address the cluster dials
	HTTP     string
	RESP     string
	Learner  bool // joined with --learner

	binary string
	args   []string // flags for every start, bootstrap flags excluded

	mu          sync.Mutex // guards the fields below
	cmd         *exec.Cmd
	done        chan struct{}
	exitErr     error
	paused      bool
	removed     bool
	killing     bool     // a Kill is in progress: the exit is expected
	crashes     []string // exits nobody asked for
	incarnation int
	logFile     *os.File
}

// freeAddr and listenFresh hand out loopback ports no other test of this
// process got (internal/testnet).
func freeAddr(t testing.TB) string { return testnet.FreeAddr(t) }

func listenFresh() (net.Listener, error) { return testnet.ListenFresh() }

// NewCluster starts opts.Nodes voters with --initial-cluster naming the
// proxy addresses and waits until every node is ready. t.Cleanup kills
// every process and closes the network.
func NewCluster(t testing.TB, bins Binaries, opts ClusterOptions, logf func(string, ...any)) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bins: bins, opts: opts, dir: t.TempDir(), logf: logf}
	c.Net = NewNet(logf)
	t.Cleanup(c.cleanup)
	var initial []string
	var nodes []*Node
	for range opts.Nodes {
		n := c.newNode(opts.Tuned)
		initial = append(initial, n.Name+"="+n.PeerAddr)
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		if err := n.start("--initial-cluster", strings.Join(initial, ",")); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		c.WaitReady(n, 30*time.Second)
	}
	return c
}

// newNode allocates a node's ports, data dir and proxy.
func (c *Cluster) newNode(tuned bool) *Node {
	c.mu.Lock()
	c.seq++
	name := fmt.Sprintf("n%d", c.seq)
	c.mu.Unlock()
	n := &Node{Name: name, ID: membership.IDFromName(name), Dir: filepath.Join(c.dir, name),
		Peer: freeAddr(c.t), HTTP: freeAddr(c.t), RESP: freeAddr(c.t), binary: c.bins.Cairn}
	p, err := c.Net.AddNode(n.ID, name, n.Peer)
	if err != nil {
		c.t.Fatal(err)
	}
	n.PeerAddr = p.Addr()
	n.args = []string{"--name", n.Name, "--data-dir", n.Dir, "--listen-peer", n.Peer,
		"--listen-http", n.HTTP, "--listen-resp", n.RESP, "--log-level", "info"}
	// Members dial the node's proxy, not the node.
	n.args = append([]string{"server"}, n.args...)
	n.args = append(n.args, "--advertise-peer", n.PeerAddr)
	if tuned {
		n.args = append(n.args, c.opts.TunedArgs...)
	}
	n.args = append(n.args, c.opts.Args...)
	c.mu.Lock()
	c.nodes = append(c.nodes, n)
	c.mu.Unlock()
	return n
}

func (n *Node) start(extra ...string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil && n.done != nil {
		select {
		case <-n.done:
		default:
			return fmt.Errorf("start %s: already running", n.Name)
		}
	}
	if n.logFile == nil {
		f, err := os.Create(n.Dir + ".log")
		if err != nil {
			return err
		}
		n.logFile = f
	}
	n.incarnation++
	fmt.Fprintf(n.logFile, "=== start %d: %s %s\n", n.incarnation, filepath.Base(n.binary), strings.Join(append(n.args, extra...), " "))
	cmd := exec.Command(n.binary, append(slices.Clone(n.args), extra...)...)
	cmd.Stdout, cmd.Stderr = n.logFile, n.logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.Name, err)
	}
	done := make(chan struct{})
	n.cmd, n.done, n.exitErr, n.paused = cmd, done, nil, false
	go func() {
		err := cmd.Wait()
		n.mu.Lock()
		n.exitErr = err
		if !n.killing && !n.removed && removedInLog(n.logFile.Name()) {
			// The cluster removed it (a removal whose answer the nemesis
			// lost), and it learned so and stopped: not a crash.
			n.removed = true
		}
		if !n.killing && !n.removed {
			n.crashes = append(n.crashes, fmt.Sprintf("%s incarnation %d exited on its own: %v", n.Name, n.incarnation, err))
		}
		n.mu.Unlock()
		close(done)
	}()
	return nil
}

// removedInLog reports whether the last incarnation logged in the node log
// at path stopped because it was removed from the cluster.
func removedInLog(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	if i := bytes.LastIndex(b, []byte("=== start ")); i >= 0 {
		b = b[i:]
	}
	return bytes.Contains(b, []byte("this member was removed from the cluster"))
}

// Running reports whether the process is alive (paused counts as alive).
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Paused reports whether the process is stopped with SIGSTOP.
func (n *Node) Paused() bool { n.mu.Lock(); defer n.mu.Unlock(); return n.paused }

// Removed reports whether the node was removed from the cluster.
func (n *Node) Removed() bool { n.mu.Lock(); defer n.mu.Unlock(); return n.removed }

// Incarnation counts the node's starts.
func (n *Node) Incarnation() int { n.mu.Lock(); defer n.mu.Unlock(); return n.incarnation }

// Kill sends SIGKILL (resuming a paused process first is unnecessary:
// SIGKILL ends stopped processes too) and waits for the exit.
func (n *Node) Kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.killing = true
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	n.mu.Lock()
	n.paused, n.killing = false, false
	n.mu.Unlock()
}

// Restart starts the process again from its data dir (no bootstrap flags).
func (n *Node) Restart() error { return n.start() }

// Pause sends SIGSTOP.
func (n *Node) Pause() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil && !n.paused {
		_ = n.cmd.Process.Signal(syscall.SIGSTOP)
		n.paused = true
	}
}

// Resume sends SIGCONT.
func (n *Node) Resume() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil && n.paused {
		_ = n.cmd.Process.Signal(syscall.SIGCONT)
		n.paused = false
	}
}

// Logs returns what the node has written so far.
func (n *Node) Logs() string {
	b, _ := os.ReadFile(n.Dir + ".log")
	return string(b)
}

// Nodes returns every node ever started, removed ones included.
func (c *Cluster) Nodes() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.nodes)
}

// Members returns the nodes not removed.
func (c *Cluster) Members() []*Node {
	var out []*Node
	for _, n := range c.Nodes() {
		if !n.Removed() {
			out = append(out, n)
		}
	}
	return out
}

// Node returns the node called name.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes() {
		if n.Name == name {
			return n
		}
	}
	return nil
}

func (c *Cluster) cleanup() {
	for _, n := range c.Nodes() {
		n.Resume()
		n.Kill()
	}
	c.Net.Close()
	if c.t.Failed() {
		c.saveLogs()
	}
	if c.t.Failed() || PrintLogs {
		for _, n := range c.Nodes() {
			tail := n.Logs()
			if len(tail) > 20000 && !PrintLogs {
				tail = "...\n" + tail[len(tail)-20000:]
			}
			c.t.Logf("--- log of %s (%s) ---\n%s", n.Name, n.Dir+".log", tail)
		}
	}
	for _, n := range c.Nodes() {
		if n.logFile != nil {
			n.logFile.Close()
		}
	}
}

// saveLogs copies the node logs out of the test's temp dir.
func (c *Cluster) saveLogs() {
	dir := LogDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "jepsen-logs"); err != nil {
			return
		}
	}
	dir = filepath.Join(dir, strings.NewReplacer("/", "_").Replace(c.t.Name())+"-logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	for _, n := range c.Nodes() {
		if b, err := os.ReadFile(n.Dir + ".log"); err == nil {
			_ = os.WriteFile(filepath.Join(dir, n.Name+".log"), b, 0o644)
		}
	}
	c.t.Logf("node logs saved in %s", dir)
}

// WaitReady waits until /readyz answers 200.
func (c *Cluster) WaitReady(n *Node, timeout time.Duration) {
	c.t.Helper()
	err := waitFor(timeout, func() error {
		code, err := httpGet(context.Background(), n.HTTP, "/readyz", nil)
		if err != nil || code != 200 {
			return fmt.Errorf("readyz %d %v", code, err)
		}
		return nil
	})
	if err != nil {
		c.t.Fatalf("%s not ready: %v", n.Name, err)
	}
}

// Status is the subset of /v1/cluster/status the tests use.
type Status struct {
	Name         string `json:"name"`
	Role         string `json:"role"`
	Leader       string `json:"leader"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	Revision     int64  `json:"revision"`
	Members      []struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Learner bool   `json:"learner"`
	} `json:"members"`
}

// NodeStatus asks one node for its status.
func NodeStatus(ctx context.Context, n *Node) (Status, error) {
	var st Status
	code, err := httpGet(ctx, n.HTTP, "/v1/cluster/status", &st)
	if err == nil && code != 200 {
		err = fmt.Errorf("status %d", code)
	}
	return st, err
}

// Leader returns the running, unpaused member that reports itself leader
// with the highest term, or nil.
func (c *Cluster) Leader() *Node {
	var best *Node
	var term uint64
	for _, n := range c.Members() {
		if !n.Running() || n.Paused() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		st, err := NodeStatus(ctx, n)
		cancel()
		if err == nil && st.Role == "leader" && st.Term >= term {
			best, term = n, st.Term
		}
	}
	return best
}

// Join starts a fresh node (advertising its proxy as its peer address)
// that joins through a running member.
func (c *Cluster) Join(learner bool) (*Node, error) {
	n := c.newNode(true)
	n.Learner = learner
	via := c.anyRunning()
	if via == nil {
		return n, fmt.Errorf("join %s: no running member", n.Name)
	}
	extra := []string{"--join", via.HTTP}
	if learner {
		extra = append(extra, "--learner")
	}
	return n, n.start(extra...)
}

func (c *Cluster) anyRunning() *Node {
	for _, n := range c.Members() {
		if n.Running() && !n.Paused() {
			return n
		}
	}
	return nil
}

// Remove asks the cluster to remove a member; on success the node is
// marked removed (the process exits by itself; it is killed later).
func (c *Cluster) Remove(ctx context.Context, n *Node) error {
	return c.memberOp(ctx, http.MethodDelete, "/v1/cluster/members/"+n.Name, func() {
		n.mu.Lock()
		n.removed = true
		n.mu.Unlock()
	})
}

// Promote asks the cluster to promote a learner.
func (c *Cluster) Promote(ctx context.Context, n *Node) error {
	return c.memberOp(ctx, http.MethodPost, "/v1/cluster/members/"+n.Name+"/promote", func() { n.Learner = false })
}

func (c *Cluster) memberOp(ctx context.Context, method, path string, onOK func()) error {
	var last error
	ambiguous := false // an earlier attempt may have taken effect
	for _, via := range c.Members() {
		if !via.Running() || via.Paused() {
			continue
		}
		req, _ := http.NewRequestWithContext(ctx, method, "http://"+via.HTTP+path, nil)
		resp, err := adminClient.Do(req)
		if err != nil {
			last, ambiguous = err, true
			continue
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			onOK()
			return nil
		}
		last = fmt.Errorf("%s %s via %s: %d %s", method, path, via.Name, resp.StatusCode, strings.TrimSpace(body.String()))
		if method == http.MethodDelete && ambiguous && resp.StatusCode == http.StatusNotFound &&
			strings.Contains(body.String(), `"member_not_found"`) {
			// The earlier attempt's answer was lost (the member removed
			// was the one answering, or it timed out), but the removal
			// took effect: the member is gone.
			onOK()
			return nil
		}
		if resp.StatusCode < 500 {
			return last
		}
		ambiguous = true
	}
	return last
}

var adminClient = &http.Client{Timeout: 10 * time.Second}

// httpGet decodes a JSON GET into out (if not nil) and returns the status.
func httpGet(ctx context.Context, addr, path string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := adminClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, err
		}
	}
	return resp.StatusCode, nil
}

// waitFor polls fn every 50ms until it returns nil or timeout passes.
func waitFor(timeout time.Duration, fn func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// LogSize is the current length of the node's log file.
func (n *Node) LogSize() int64 {
	fi, err := os.Stat(n.Dir + ".log")
	if err != nil {
		return 0
	}
	return fi.Size()
}

// WaitLog waits until the node's log, past offset, contains substr.
func (n *Node) WaitLog(substr string, offset int64, timeout time.Duration) bool {
	return waitForFast(timeout, func() bool {
		b, _ := os.ReadFile(n.Dir + ".log")
		return int64(len(b)) > offset && strings.Contains(string(b[offset:]), substr)
	})
}

// CountLog counts the lines of the node's log that contain substr.
func (n *Node) CountLog(substr string) int { return strings.Count(n.Logs(), substr) }

func waitForFast(timeout time.Duration, fn func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !fn() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// Crashes lists the exits of processes that were neither killed by the
// test nor removed from the cluster.
func (c *Cluster) Crashes() []string {
	var out []string
	for _, n := range c.Nodes() {
		n.mu.Lock()
		out = append(out, n.crashes...)
		n.mu.Unlock()
	}
	return out
}

// Describe lists every node's process state (for failure messages).
func (c *Cluster) Describe() string {
	var s []string
	for _, n := range c.Nodes() {
		n.mu.Lock()
		state := "never started"
		if n.done != nil {
			select {
			case <-n.done:
				state = fmt.Sprintf("exited (%v)", n.exitErr)
			default:
				state = "running"
				if n.paused {
					state = "paused"
				}
			}
		}
		if n.removed {
			state += ", removed"
		}
		s = append(s, fmt.Sprintf("%s: %s, incarnation %d", n.Name, state, n.incarnation))
		n.mu.Unlock()
	}
	return strings.Join(s, "; ")
}
