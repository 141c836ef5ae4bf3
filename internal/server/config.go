// Package server is the composition root of a node: it opens storage,
// builds the raft log, state machine, transport, raft node, service and
// front ends, starts them in order and stops them in reverse.
package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/cairndb/cairn/internal/membership"
	"github.com/cairndb/cairn/internal/transport"
	"github.com/cairndb/cairn/internal/watch"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Config is a node's configuration. Defaults match `cairn server` with no flags.
type Config struct {
	Name       string // unique member name (default node1)
	DataDir    string // default ./cairn-data
	ListenPeer string // raft transport (default 127.0.0.1:7380)
	// AdvertisePeer is the peer address other members dial, when it differs
	// from ListenPeer (NAT, a proxy); default ListenPeer.
	AdvertisePeer string
	ListenHTTP    string // HTTP API (default 127.0.0.1:7379)
	ListenRESP    string // Redis protocol front end (default 127.0.0.1:6380)

	// InitialCluster bootstraps a new cluster: "name=host:peerport,...".
	// Empty means a single-node cluster of this node.
	InitialCluster string
	// Join is the HTTP address of any member of a running cluster to join.
	Join string
	// Learner joins as a read-only replica that is never promoted.
	Learner bool

	Logger *slog.Logger

	// EnablePprof serves Go's profiler under /debug/pprof/ on the HTTP
	// listener.
	EnablePprof bool

	// FS, if set, is the filesystem under Pebble (tests inject errors).
	FS vfs.FS

	// NewTransport, if set, replaces the TCP peer transport (tests use the
	// in-memory one). ListenPeer is then only the address advertised.
	NewTransport func(id uint64, h transport.Handler) (transport.Transport, error)

	// Tuning, mostly for tests.
	TickInterval    time.Duration // raft tick (default 100ms)
	ElectionTicks   int           // default 10
	CacheSize       int64         // Pebble block cache (default 64 MiB)
	MemTableSize    int64         // one Pebble memtable (default 32 MiB)
	LatestCache     int64         // latest-record cache in bytes (0: default 32 MiB; negative: off)
	CompactEntries  uint64        // raft log compaction threshold (default 10000)
	CatchUpEntries  uint64        // entries kept after compaction (default 5000)
	RetainRevisions int64         // MVCC history kept (default 100000)
	CompactInterval time.Duration // how often retention is enforced (default 1m)
	LessorInterval  time.Duration // how often the leader expires leases and keys (default 50ms)
	// Watch configures the watch hub (queue bounds, progress interval).
	Watch watch.Config
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.Name == "" {
		c.Name = "node1"
	}
	if c.DataDir == "" {
		c.DataDir = "cairn-data"
	}
	if c.ListenPeer == "" {
		c.ListenPeer = "127.0.0.1:7380"
	}
	if c.AdvertisePeer == "" {
		c.AdvertisePeer = c.ListenPeer
	}
	if c.ListenHTTP == "" {
		c.ListenHTTP = "127.0.0.1:7379"
	}
	if c.ListenRESP == "" {
		c.ListenRESP = "127.0.0.1:6380"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.InitialCluster != "" && c.Join != "" {
		return errors.New("server: --initial-cluster and --join are mutually exclusive")
	}
	if c.Learner && c.Join == "" {
		return errors.New("server: --learner needs --join (a learner joins a running cluster)")
	}
	for _, a := range []string{c.ListenPeer, c.AdvertisePeer, c.ListenHTTP, c.ListenRESP} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("server: bad listen address %q: %w", a, err)
		}
	}
	if c.InitialCluster != "" {
		ms, err := ParseInitialCluster(c.InitialCluster)
		if err != nil {
			return err
		}
		found := false
		for _, m := range ms {
			found = found || m.Name == c.Name
		}
		if !found {
			return fmt.Errorf("server: --initial-cluster does not list this node's --name %q", c.Name)
		}
	}
	return nil
}

// ParseInitialCluster parses "name=host:port,..." into members.
func ParseInitialCluster(s string) ([]membership.Member, error) {
	var out []membership.Member
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, addr, ok := strings.Cut(part, "=")
		if !ok || name == "" || addr == "" {
			return nil, fmt.Errorf("server: bad --initial-cluster entry %q (want name=host:port)", part)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("server: bad peer address in --initial-cluster entry %q: %w", part, err)
		}
		if seen[name] {
			return nil, fmt.Errorf("server: duplicate name %q in --initial-cluster", name)
		}
		seen[name] = true
		out = append(out, membership.Member{ID: membership.IDFromName(name), Name: name, PeerAddr: addr})
	}
	if len(out) == 0 {
		return nil, errors.New("server: --initial-cluster is empty")
	}
	return out, nil
}
