package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairndb/cairn/client"
)

// TestLeaderPausedKeepsLeases: the leader is paused (SIGSTOP) for several
// TTLs while a client keeps its lease alive through the other two nodes.
// When the old leader resumes it still believes it leads and finds every
// lease deadline it knew in the past; the expiry revokes it proposes must
// lose to the keep-alives its successor applied, so the leased key never
// disappears. Once the client stops, the lease expires.
func TestLeaderPausedKeepsLeases(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	procs, _ := startCluster(t)
	leader := findLeader(t, procs)
	var others []string
	for _, p := range procs {
		if p != leader {
			others = append(others, "http://"+p.http)
		}
	}
	cl, err := client.New(client.Config{Endpoints: others, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	const ttl = time.Second
	// Granted through a follower, applied by the leader's lessor too.
	var g *client.LeaseGrantResponse
	eventually(t, 10*time.Second, "grant", func() error {
		g, err = cl.Grant(ctx, ttl)
		return err
	})
	eventually(t, 10*time.Second, "leased put", func() error {
		_, err := cl.Put(ctx, []byte("leased"), []byte("v"), client.WithLease(g.ID))
		return err
	})

	stop := make(chan struct{})
	kaDone := make(chan struct{})
	go func() { // keep-alives every TTL/5, through the followers only
		defer close(kaDone)
		for {
			kctx, cancel := context.WithTimeout(ctx, ttl/2)
			_, _ = cl.KeepAliveOnce(kctx, g.ID) // may fail during the election
			cancel()
			select {
			case <-stop:
				return
			case <-time.After(ttl / 5):
			}
		}
	}()
	check := func(what string) {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := cl.Get(rctx, []byte("leased"))
		if errors.Is(err, client.ErrKeyNotFound) {
			t.Fatalf("the leased key vanished %s; leader log:\n%s", what, leader.logs())
		}
	}

	if err := leader.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	for time.Since(paused) < 4*ttl {
		check("while the leader was paused")
		time.Sleep(50 * time.Millisecond)
	}
	if err := leader.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	for time.Since(resumed) < 3*ttl {
		check("after the old leader resumed")
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	<-kaDone
	eventually(t, 15*time.Second, "the lease to expire", func() error {
		_, err := cl.Get(ctx, []byte("leased"))
		if errors.Is(err, client.ErrKeyNotFound) {
			return nil
		}
		return fmt.Errorf("leased key still there (%v)", err)
	})
	if strings.Contains(leader.logs(), "panic") {
		t.Fatalf("old leader panicked:\n%s", leader.logs())
	}
}
