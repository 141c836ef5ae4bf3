package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cairndb/cairn/internal/server"
	"github.com/spf13/cobra"
)

// newServerCmd is `cairn server`: run a node until SIGINT/SIGTERM.
func newServerCmd() *cobra.Command {
	var cfg server.Config
	var logLevel string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a Cairn node",
		Long: `Run a Cairn node. With no flags it starts (or restarts) a single-node
cluster with its data in ./cairn-data. Restarting with the same --data-dir
needs no bootstrap flags.

  3-node local cluster:
    cairn server --name n1 --data-dir d1 --listen-peer 127.0.0.1:7381 --listen-http 127.0.0.1:7371 \
      --initial-cluster n1=127.0.0.1:7381,n2=127.0.0.1:7382,n3=127.0.0.1:7383
    (and likewise n2, n3 with their own ports)
  join a running cluster:
    cairn server --name n4 --data-dir d4 --listen-peer 127.0.0.1:7384 --listen-http 127.0.0.1:7374 --join 127.0.0.1:7371`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("bad --log-level %q", logLevel)
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := server.Start(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cairn node %s listening: http=%s peer=%s data-dir=%s\n",
				cfg.Name, srv.HTTPAddr(), srv.PeerAddr(), cfg.DataDir)
			err = srv.Wait(ctx)
			cfg.Logger.Info("shutting down")
			srv.Stop()
			if errors.Is(err, server.ErrRemoved) {
				return err
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Name, "name", "node1", "unique name of this member")
	f.StringVar(&cfg.DataDir, "data-dir", "cairn-data", "directory for this node's data")
	f.StringVar(&cfg.ListenPeer, "listen-peer", "127.0.0.1:7380", "address for raft traffic between nodes")
	f.StringVar(&cfg.AdvertisePeer, "advertise-peer", "", "peer address other members dial, if not --listen-peer (NAT, proxies)")
	f.StringVar(&cfg.ListenHTTP, "listen-http", "127.0.0.1:7379", "address of the HTTP API")
	f.StringVar(&cfg.ListenRESP, "listen-resp", "127.0.0.1:6380", "address of the Redis protocol front end")
	f.StringVar(&cfg.InitialCluster, "initial-cluster", "", "bootstrap a new cluster: name=host:peerport,...")
	f.StringVar(&cfg.Join, "join", "", "join a running cluster through the HTTP address of any member")
	f.BoolVar(&cfg.Learner, "learner", false, "join as a read-only replica (never promoted to voter)")
	f.Int64Var(&cfg.RetainRevisions, "retain-revisions", 100000, "MVCC history to keep, in revisions (negative: keep all)")
	f.Var(latestCacheFlag{&cfg.LatestCache}, "latest-cache", "memory for the latest-record cache in front of storage, e.g. 32MiB (0 disables it)")
	f.Var(sizeFlag{&cfg.CacheSize, "64MiB"}, "block-cache", "memory for Pebble's block cache, on top of the memtables")
	f.Var(sizeFlag{&cfg.MemTableSize, "32MiB"}, "memtable-size", "size of one Pebble memtable (up to two are in memory)")
	f.Uint64Var(&cfg.CompactEntries, "compact-entries", 10000, "truncate the raft log once it holds this many entries")
	f.Uint64Var(&cfg.CatchUpEntries, "catch-up-entries", 5000, "entries kept after truncation for followers that are slightly behind")
	f.DurationVar(&cfg.CompactInterval, "compact-interval", time.Minute, "how often the leader enforces --retain-revisions")
	f.BoolVar(&cfg.EnablePprof, "enable-pprof", false, "serve Go's profiler under /debug/pprof/ on the HTTP address")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}

// latestCacheFlag parses a byte size (B, KiB, MiB, GiB; a bare number is
// bytes) into server.Config.LatestCache; "0" disables the cache.
type latestCacheFlag struct{ v *int64 }

func (f latestCacheFlag) String() string {
	if f.v == nil || *f.v == 0 {
		return "32MiB"
	}
	if *f.v < 0 {
		return "0"
	}
	return strconv.FormatInt(*f.v, 10)
}

func (f latestCacheFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return fmt.Errorf("want a size such as 32MiB or 0, got %q", s)
	}
	if n == 0 {
		*f.v = -1 // off
		return nil
	}
	*f.v = n
	return nil
}

func (latestCacheFlag) Type() string { return "size" }

// sizeFlag parses a positive byte size (B, KiB, MiB, GiB; a bare number is
// bytes). def is what the zero value means, for the help text.
type sizeFlag struct {
	v   *int64
	def string
}

func (f sizeFlag) String() string {
	if f.v == nil || *f.v == 0 {
		return f.def
	}
	return strconv.FormatInt(*f.v, 10)
}

func (f sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil || n == 0 {
		return fmt.Errorf("want a size such as %s, got %q", f.def, s)
	}
	*f.v = n
	return nil
}

func (sizeFlag) Type() string { return "size" }

// parseSize parses a byte size: a number with an optional B, KiB, MiB or
// GiB suffix, at most 1 TiB.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}
