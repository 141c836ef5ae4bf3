package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// walSyncFailer fails writes and syncs of Pebble's WAL once armed.
type walSyncFailer struct{ armed atomic.Bool }

func (f *walSyncFailer) String() string { return "wal-sync-failer" }

func (f *walSyncFailer) MaybeError(op errorfs.Op) error {
	if !f.armed.Load() || !strings.HasSuffix(op.Path, ".log") {
		return nil
	}
	switch op.Kind {
	case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo, errorfs.OpFileWrite, errorfs.OpFileWriteAt:
		return errorfs.ErrInjected
	}
	return nil
}

func testConfig(dir string, fs vfs.FS) Config {
	return Config{
		Name: "solo", DataDir: dir, ListenPeer: "127.0.0.1:0", ListenHTTP: "127.0.0.1:0", ListenRESP: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler), TickInterval: 10 * time.Millisecond, FS: fs,
	}
}

func waitLeader(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Node().WaitLeader(ctx, func(l uint64) bool { return l != 0 }); err != nil {
		t.Fatalf("no leader: %v", err)
	}
}

// TestSyncFailureNeverAcknowledges runs a node in a child process whose WAL
// writes start failing. Pebble treats a failed WAL write or sync as fatal
// and exits the process; what matters is that the write in flight is never
// acknowledged and that every acknowledged write survives a restart.
func TestSyncFailureNeverAcknowledges(t *testing.T) {
	if dir := os.Getenv("CAIRN_SYNC_FAIL_CHILD"); dir != "" {
		syncFailureChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSyncFailureNeverAcknowledges$", "-test.v")
	cmd.Env = append(os.Environ(), "CAIRN_SYNC_FAIL_CHILD="+dir)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child survived a failed sync; output:\n%s", out)
	}
	if !strings.Contains(string(out), "ACKED before") {
		t.Fatalf("child never acknowledged the first write; output:\n%s", out)
	}
	if strings.Contains(string(out), "ACKED during") {
		t.Fatalf("a write was acknowledged although its fsync failed; output:\n%s", out)
	}

	s, err := Start(context.Background(), testConfig(dir, nil))
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer s.Stop()
	waitLeader(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, _, err := s.Service().Range(ctx, &command.RangeRequest{Key: []byte("before")}, service.ReadOptions{})
	if err != nil || len(res.KVs) != 1 || string(res.KVs[0].Value) != "1" {
		t.Fatalf("acknowledged write lost after restart: %v %v", res, err)
	}
}

func syncFailureChild(dir string) {
	failer := &walSyncFailer{}
	s, err := Start(context.Background(), testConfig(dir, errorfs.Wrap(vfs.Default, failer)))
	if err != nil {
		fmt.Println("start:", err)
		os.Exit(3)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Node().WaitLeader(ctx, func(l uint64) bool { return l != 0 }); err != nil {
		fmt.Println("no leader:", err)
		os.Exit(3)
	}
	if _, err := s.Service().Put(ctx, &command.PutRequest{Key: []byte("before"), Value: []byte("1")}); err != nil {
		fmt.Println("put before:", err)
		os.Exit(3)
	}
	fmt.Println("ACKED before")
	failer.armed.Store(true)
	if _, err := s.Service().Put(ctx, &command.PutRequest{Key: []byte("during"), Value: []byte("2")}); err == nil {
		fmt.Println("ACKED during")
	}
	// A node that failed cleanly (rather than exiting) must report why.
	if werr := s.Wait(ctx); werr != nil {
		fmt.Println("node stopped:", werr)
		os.Exit(4)
	}
	os.Exit(0)
}

func TestRestartNeedsNoFlagsAndRejectsOtherName(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(context.Background(), testConfig(dir, nil))
	if err != nil {
		t.Fatal(err)
	}
	waitLeader(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Service().Put(ctx, &command.PutRequest{Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	s.Stop()

	cfg := testConfig(dir, nil)
	cfg.Name = "other"
	if _, err := Start(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "belongs to member") {
		t.Fatalf("restart under another name: err = %v", err)
	}
	s, err = Start(context.Background(), testConfig(dir, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	waitLeader(t, s)
	res, _, err := s.Service().Range(ctx, &command.RangeRequest{Key: []byte("k")}, service.ReadOptions{})
	if err != nil || len(res.KVs) != 1 {
		t.Fatalf("after restart: %v %v", res, err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"join and initial cluster", func(c *Config) { c.Join = "127.0.0.1:1"; c.InitialCluster = "solo=127.0.0.1:2" }, "mutually exclusive"},
		{"learner without join", func(c *Config) { c.Learner = true }, "needs --join"},
		{"bad listen address", func(c *Config) { c.ListenHTTP = "nonsense" }, "bad listen address"},
		{"self not in initial cluster", func(c *Config) { c.InitialCluster = "a=127.0.0.1:1" }, "does not list"},
		{"malformed initial cluster", func(c *Config) { c.InitialCluster = "solo" }, "want name=host:port"},
		{"duplicate name", func(c *Config) { c.InitialCluster = "solo=127.0.0.1:1,solo=127.0.0.1:2" }, "duplicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir(), nil)
			tc.mod(&cfg)
			cfg.SetDefaults()
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

// A node whose peer port is taken fails to start with an error; it used to
// panic while cleaning up (a nil *TCP stored in the transport interface).
func TestStartPeerPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := testConfig(t.TempDir(), nil)
	cfg.ListenPeer = l.Addr().String()
	s, err := Start(context.Background(), cfg)
	if err == nil {
		s.Stop()
		t.Fatal("started with its peer port in use")
	}
}
