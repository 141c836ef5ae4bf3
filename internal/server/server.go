package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/internal/httpapi"
	"github.com/cairndb/cairn/internal/membership"
	"github.com/cairndb/cairn/internal/raftlog"
	"github.com/cairndb/cairn/internal/raftnode"
	"github.com/cairndb/cairn/internal/respserver"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cairndb/cairn/internal/statemachine"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/transport"
	"github.com/cairndb/cairn/internal/watch"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// ErrRemoved is returned by Wait when this node was removed from the cluster.
var ErrRemoved = errors.New("server: this member was removed from the cluster")

// Server is one running node.
type Server struct {
	cfg  Config
	log  *slog.Logger
	self membership.Member

	db      *storage.DB
	rlog    *raftlog.Storage
	sm      *statemachine.StateMachine
	tr      transport.Transport
	node    *raftnode.Node
	svc     *service.Service
	hub     *watch.Hub
	httpSrv *http.Server
	httpLn  net.Listener
	respSrv *respserver.Server
	respLn  net.Listener

	peersMu sync.Mutex // guards peers
	peers   map[uint64]string

	removedOnce sync.Once
	removed     chan struct{}
	stopc       chan struct{} // closed when shutdown begins
	stopOnce    sync.Once
	wg          sync.WaitGroup
}

// handlerProxy breaks the construction cycle between the transport (which
// needs a handler) and the raft node (which needs a transport). Until the
// node is set, messages are dropped (raft retransmits).
//
// It also implements transport.RemovalHandler: peers are refused when the
// state machine knows them as removed, and a refusal by a peer stops this
// node as its own removal does (see noteRemoved).
type handlerProxy struct {
	h       atomic.Pointer[raftnode.Node]
	sm      atomic.Pointer[statemachine.StateMachine]
	removed func(by uint64)
}

func (p *handlerProxy) IsRemoved(id uint64) bool {
	sm := p.sm.Load()
	return sm != nil && sm.IsRemoved(id)
}

func (p *handlerProxy) Removed(by uint64) {
	if p.removed != nil {
		p.removed(by)
	}
}

func (p *handlerProxy) Receive(g uint64, m *pb.Message) {
	if h := p.h.Load(); h != nil {
		h.Receive(g, m)
	}
}

func (p *handlerProxy) ReceiveSnapshot(g uint64, m *pb.Message, body io.Reader) error {
	if h := p.h.Load(); h != nil {
		return h.ReceiveSnapshot(g, m, body)
	}
	return errors.New("server: raft node not started yet")
}

func (p *handlerProxy) ReportUnreachable(g, to uint64) {
	if h := p.h.Load(); h != nil {
		h.ReportUnreachable(g, to)
	}
}

func (p *handlerProxy) ReportSnapshot(g, to uint64, fail bool) {
	if h := p.h.Load(); h != nil {
		h.ReportSnapshot(g, to, fail)
	}
}

// Start opens storage and starts every component. On error everything
// already started is stopped.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, peers: map[uint64]string{}, removed: make(chan struct{}), stopc: make(chan struct{})}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("server: create data dir: %w", err)
	}
	ident, err := loadIdentity(cfg.DataDir, cfg.Name)
	if err != nil {
		return nil, err
	}
	s.self = membership.Member{ID: ident.ID, Name: ident.Name, PeerAddr: cfg.AdvertisePeer, HTTPAddr: cfg.ListenHTTP, RESPAddr: cfg.ListenRESP, ReadOnly: cfg.Learner}

	if s.db, err = storage.Open(filepath.Join(cfg.DataDir, "db"), storage.Options{CacheSize: cfg.CacheSize, MemTableSize: uint64(max(cfg.MemTableSize, 0)), FS: cfg.FS}); err != nil {
		return nil, err
	}
	if s.rlog, err = raftlog.Open(s.db, 0); err != nil {
		return nil, err
	}
	proxy := &handlerProxy{removed: s.removedByPeer}
	// s.tr is set only on success: a failed NewTCP returns a nil *TCP,
	// which in the interface would be non-nil and make close() panic
	// (a node whose peer port is taken crashed instead of reporting it).
	var tr transport.Transport
	if cfg.NewTransport != nil {
		tr, err = cfg.NewTransport(ident.ID, proxy)
	} else {
		var tcp *transport.TCP
		if tcp, err = transport.NewTCP(transport.TCPConfig{ID: ident.ID, ListenAddr: cfg.ListenPeer, Handler: proxy, Logger: s.log.With("component", "transport")}); err == nil {
			tr = tcp
		}
	}
	if err != nil {
		return nil, err
	}
	s.tr = tr
	s.hub = watch.NewHub(cfg.Watch)
	s.svc = service.New(service.Config{
		ID: ident.ID, Name: ident.Name, Logger: s.log.With("component", "service"),
		RetainRevisions: cfg.RetainRevisions, CompactInterval: cfg.CompactInterval,
		ElectionTimeout: cfg.TickInterval * time.Duration(cfg.ElectionTicks),
		LessorInterval:  cfg.LessorInterval,
		Hub:             s.hub,
	})
	if s.sm, err = statemachine.Open(s.db, 0, statemachine.Options{
		OnResult:  s.svc.DeliverResult,
		OnMembers: s.onMembers,
		Logger:    s.log.With("component", "statemachine"),
		Changes:   s.hub,

		LatestCacheBytes: cfg.LatestCache,
	}); err != nil {
		return nil, err
	}
	s.hub.SetSource(s.sm)
	proxy.sm.Store(s.sm)

	var bootstrap []raft.Peer
	hasState := s.sm.AppliedIndex() > 0
	if last, _ := s.rlog.LastIndex(); last > 0 {
		hasState = true
	}
	switch {
	case hasState:
		s.onMembers(s.sm.Members())
		s.log.Info("restarting from existing data", "dir", cfg.DataDir, "applied", s.sm.AppliedIndex())
	case cfg.Join != "":
		members, err := joinCluster(ctx, cfg.Join, s.self)
		if err != nil {
			return nil, err
		}
		s.onMembers(members)
	default:
		initial := []membership.Member{{ID: ident.ID, Name: ident.Name, PeerAddr: cfg.AdvertisePeer}}
		if cfg.InitialCluster != "" {
			if initial, err = ParseInitialCluster(cfg.InitialCluster); err != nil {
				return nil, err
			}
		}
		for _, m := range initial {
			bootstrap = append(bootstrap, raft.Peer{ID: m.ID, Context: m.Encode()})
			s.addPeer(m.ID, m.PeerAddr)
		}
		s.log.Info("bootstrapping new cluster", "members", len(initial))
	}
	if s.node, err = raftnode.New(raftnode.Config{
		ID: ident.ID, DB: s.db, Log: s.rlog, StateMachine: s.sm, Transport: s.tr,
		Logger: s.log.With("component", "raftnode"), SnapshotDir: filepath.Join(cfg.DataDir, "snap"),
		Bootstrap: bootstrap, TickInterval: cfg.TickInterval, ElectionTicks: cfg.ElectionTicks,
		CompactEntries: cfg.CompactEntries, CatchUpEntries: cfg.CatchUpEntries,
	}); err != nil {
		return nil, err
	}
	proxy.h.Store(s.node)
	s.svc.SetBackends(s.node, s.sm)

	if s.httpLn, err = net.Listen("tcp", cfg.ListenHTTP); err != nil {
		return nil, fmt.Errorf("server: listen http: %w", err)
	}
	if s.respLn, err = net.Listen("tcp", cfg.ListenRESP); err != nil {
		return nil, fmt.Errorf("server: listen resp: %w", err)
	}
	s.httpSrv = &http.Server{
		Handler:           s.httpHandler(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	s.node.Start()
	s.svc.Start()
	s.wg.Add(1)
	go s.publishAttributes()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	s.respSrv = respserver.New(s.svc, respserver.Options{Logger: s.log.With("component", "resp"), PubSub: s.svc})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.respSrv.Serve(s.respLn); err != nil && !errors.Is(err, respserver.ErrServerClosed) {
			s.log.Error("resp server stopped", "err", err)
		}
	}()
	s.log.Info("cairn node started", "name", ident.Name, "id", membership.IDString(ident.ID),
		"peer", s.PeerAddr(), "http", s.httpLn.Addr().String(), "resp", s.respLn.Addr().String(), "data_dir", cfg.DataDir)
	return s, nil
}

// httpHandler is the HTTP API, plus /debug/pprof/ when enabled.
func (s *Server) httpHandler() http.Handler {
	api := httpapi.New(s.svc, httpapi.Options{Logger: s.log.With("component", "http"), Watch: s.svc})
	if !s.cfg.EnablePprof {
		return api
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", api)
	return mux
}

// HTTPAddr is the address the HTTP API listens on.
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// RESPAddr is the address the Redis protocol front end listens on.
func (s *Server) RESPAddr() string { return s.respLn.Addr().String() }

// PeerAddr is the address the raft transport listens on.
func (s *Server) PeerAddr() string {
	if a, ok := s.tr.(interface{ Addr() net.Addr }); ok {
		return a.Addr().String()
	}
	return s.cfg.AdvertisePeer
}

// ID is this node's raft ID.
func (s *Server) ID() uint64 { return s.self.ID }

// Service is the node's service (for in-process front ends and tests).
func (s *Server) Service() *service.Service { return s.svc }

// Node is the node's raft node.
func (s *Server) Node() *raftnode.Node { return s.node }

// Removed is closed once this node knows it was removed from the cluster
// (it applied its removal, or a peer refused it as removed); Wait then
// returns ErrRemoved.
func (s *Server) Removed() <-chan struct{} { return s.removed }

// Wait blocks until the node fails, is removed, or ctx ends.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-s.removed:
		return ErrRemoved
	case <-s.node.Done():
		if err := s.node.Err(); err != nil {
			return fmt.Errorf("server: raft node failed: %w", err)
		}
		return nil
	}
}

// Stop shuts the node down: leadership is handed to another voter first
// when this node leads, then front ends, raft and storage stop in order.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.node != nil && s.node.IsLeader() && s.node.Err() == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			if err := s.svc.TransferLeadershipAway(ctx); err == nil {
				s.log.Info("transferred leadership before shutdown", "leader", membership.IDString(s.node.Leader()))
			} else {
				s.log.Debug("no leadership transfer before shutdown", "err", err)
			}
			cancel()
		}
		s.close()
	})
}

// close stops whatever was started, in reverse order.
func (s *Server) close() {
	close(s.stopc)
	if s.hub != nil {
		s.hub.Close() // ends watch streams, so the HTTP shutdown need not wait for them
	}
	if s.respSrv != nil {
		s.respSrv.Close()
	} else if s.respLn != nil {
		s.respLn.Close()
	}
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.httpSrv.Shutdown(ctx)
		cancel()
	} else if s.httpLn != nil {
		s.httpLn.Close()
	}
	s.wg.Wait()
	if s.svc != nil && s.node != nil {
		s.svc.Stop()
	}
	if s.node != nil {
		s.node.Stop()
	}
	if s.tr != nil {
		s.tr.Close()
	}
	if s.sm != nil {
		s.sm.Close()
	}
	if s.db != nil {
		if err := s.db.Close(); err != nil {
			s.log.Warn("closing storage", "err", err)
		}
	}
}

// onMembers keeps the transport's address book in step with membership and
// notices this node's removal.
func (s *Server) onMembers(members []membership.Member) {
	present := map[uint64]bool{}
	for _, m := range members {
		present[m.ID] = true
		if m.ID != s.self.ID {
			s.addPeer(m.ID, m.PeerAddr)
		}
	}
	s.peersMu.Lock()
	var gone []uint64
	for id := range s.peers {
		if !present[id] && id != s.self.ID {
			gone = append(gone, id)
		}
	}
	for _, id := range gone {
		delete(s.peers, id)
	}
	s.peersMu.Unlock()
	for _, id := range gone {
		s.tr.RemovePeer(id)
	}
	if len(members) > 0 && !present[s.self.ID] && s.node != nil {
		s.noteRemoved()
	}
}

// removedByPeer is called by the transport when peer `by` refused this
// node's traffic because its replicated state records this node as
// removed: this node missed the conf change removing it (it was
// partitioned, paused or lagging, and the leader stops replicating to a
// removed member), so it stops as if it had applied it. Only a peer that
// applied the removal refuses, so a member is never told this wrongly.
func (s *Server) removedByPeer(by uint64) {
	if s.sm != nil && s.sm.IsRemoved(by) {
		return // a peer this node knows as removed: its word does not count
	}
	s.noteRemoved("learned_from", membership.IDString(by))
}

// noteRemoved makes Wait return ErrRemoved, once.
func (s *Server) noteRemoved(args ...any) {
	s.removedOnce.Do(func() {
		s.log.Warn("this member was removed from the cluster", args...)
		close(s.removed)
	})
}

func (s *Server) addPeer(id uint64, addr string) {
	if id == s.self.ID || addr == "" {
		return
	}
	s.peersMu.Lock()
	old, ok := s.peers[id]
	s.peers[id] = addr
	s.peersMu.Unlock()
	if !ok || old != addr {
		s.tr.AddPeer(id, addr)
	}
}

// RaftLog is the node's raft log (tests compare logs across nodes).
func (s *Server) RaftLog() *raftlog.Storage { return s.rlog }
