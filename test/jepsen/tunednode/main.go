// Command tunednode runs one Cairn node exactly as `cairn server` does
// (same server.Config, same flags) plus test-only knobs that the real
// binary does not expose:
//
//	--advertise-peer    the peer address other members dial (a fault proxy),
//	                    while the transport listens on --listen-peer
//	--compact-entries   raft log compaction threshold (default 10000)
//	--catch-up-entries  entries kept after compaction (default 5000)
//	--compact-interval  how often MVCC retention is enforced (default 1m)
//
// The fault tests in test/jepsen use it where small thresholds are needed
// (snapshots and MVCC compaction within seconds) and for nodes added with
// --join, whose peer address must be a proxy too. It is not shipped.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cairndb/cairn/internal/server"
	"github.com/cairndb/cairn/internal/transport"
)

func main() {
	os.Exit(run())
}

func run() int {
	var cfg server.Config
	var advertise, logLevel string
	f := flag.NewFlagSet("tunednode", flag.ExitOnError)
	f.StringVar(&cfg.Name, "name", "node1", "unique name of this member")
	f.StringVar(&cfg.DataDir, "data-dir", "cairn-data", "data directory")
	f.StringVar(&cfg.ListenPeer, "listen-peer", "127.0.0.1:7380", "address the raft transport listens on")
	f.StringVar(&cfg.ListenHTTP, "listen-http", "127.0.0.1:7379", "HTTP API address")
	f.StringVar(&cfg.ListenRESP, "listen-resp", "127.0.0.1:6380", "RESP address")
	f.StringVar(&cfg.InitialCluster, "initial-cluster", "", "bootstrap: name=host:peerport,...")
	f.StringVar(&cfg.Join, "join", "", "join through this member's HTTP address")
	f.BoolVar(&cfg.Learner, "learner", false, "join as a read-only learner")
	f.Int64Var(&cfg.RetainRevisions, "retain-revisions", 100000, "MVCC history to keep")
	f.StringVar(&advertise, "advertise-peer", "", "peer address advertised to the cluster (default --listen-peer)")
	f.Uint64Var(&cfg.CompactEntries, "compact-entries", 0, "raft log compaction threshold (0: default)")
	f.Uint64Var(&cfg.CatchUpEntries, "catch-up-entries", 0, "entries kept after compaction (0: default)")
	f.DurationVar(&cfg.CompactInterval, "compact-interval", 0, "MVCC retention interval (0: default)")
	f.StringVar(&logLevel, "log-level", "info", "log level")
	_ = f.Parse(os.Args[1:])

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "bad --log-level %q\n", logLevel)
		return 2
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if advertise != "" {
		listen := cfg.ListenPeer
		cfg.ListenPeer = advertise // what the member list carries
		cfg.NewTransport = func(id uint64, h transport.Handler) (transport.Transport, error) {
			return transport.NewTCP(transport.TCPConfig{ID: id, ListenAddr: listen, Handler: h,
				Logger: cfg.Logger.With("component", "transport")})
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tunednode:", err)
		return 1
	}
	fmt.Printf("cairn node %s listening: http=%s peer=%s\n", cfg.Name, srv.HTTPAddr(), srv.PeerAddr())
	err = srv.Wait(ctx)
	done := make(chan struct{})
	go func() { srv.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		fmt.Fprintln(os.Stderr, "tunednode: stop timed out")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tunednode:", err)
		return 1
	}
	return 0
}
