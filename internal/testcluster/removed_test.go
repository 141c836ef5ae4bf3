package testcluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/membership"
	"github.com/cairndb/cairn/internal/server"
	"github.com/cairndb/cairn/internal/service"
)

// notRemoved fails the test if any named node believes it was removed.
func notRemoved(t *testing.T, c *Cluster, names ...string) {
	t.Helper()
	for _, name := range names {
		select {
		case <-c.Node(name).Server.Removed():
			t.Fatalf("%s was told it was removed", name)
		default:
		}
	}
}

// TestRemovedWhileIsolated: a member removed while it cannot hear the
// cluster never applies its removal; once the network heals, its peers
// refuse its traffic and it stops with ErrRemoved. A member that was only
// partitioned and healed is never told it was removed.
func TestRemovedWhileIsolated(t *testing.T) {
	c := New(t, 3, Options{})
	ctx := ctxT(t, 60*time.Second)
	if _, err := put(ctx, c.Node("n1"), "a", "1"); err != nil {
		t.Fatal(err)
	}

	// An ordinary partition and heal: nobody is told it was removed.
	c.Net.Isolate(c.Node("n2").ID)
	c.Eventually(10*time.Second, "n2 loses the leader", func() error {
		if l := c.Node("n2").Server.Node().Leader(); l != 0 {
			return fmt.Errorf("n2 still sees leader %x", l)
		}
		return nil
	})
	c.Net.Heal()
	c.WaitLeader(10 * time.Second)
	if _, err := put(ctx, c.Node("n1"), "b", "2"); err != nil {
		t.Fatal(err)
	}
	c.WaitConverged(20 * time.Second)
	notRemoved(t, c, "n1", "n2", "n3")

	// Isolate n3 and remove it through the majority.
	victim := c.Node("n3")
	c.Net.Isolate(victim.ID)
	var leader *Node
	c.Eventually(10*time.Second, "a leader other than n3", func() error {
		for _, name := range []string{"n1", "n2"} {
			if nd := c.Node(name); nd.Server.Node().IsLeader() {
				leader = nd
				return nil
			}
		}
		return errors.New("no leader among n1, n2")
	})
	if err := leader.Server.Service().Remove(ctx, victim.ID); err != nil {
		t.Fatalf("remove n3: %v", err)
	}
	select {
	case <-victim.Server.Removed():
		t.Fatal("n3 learned of its removal while isolated")
	default:
	}

	// Heal: n3's pre-votes reach its former peers, which refuse them.
	c.Net.Heal()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := victim.Server.Wait(wctx); !errors.Is(err, server.ErrRemoved) {
		t.Fatalf("n3 Wait: %v, want ErrRemoved", err)
	}
	c.Stop("n3")

	// The rest keeps working and was never told it was removed.
	if _, err := put(ctx, c.Node("n1"), "c", "3"); err != nil {
		t.Fatal(err)
	}
	notRemoved(t, c, "n1", "n2")
	for _, m := range mustMembers(t, c) {
		if m.ID == victim.ID {
			t.Fatal("removed member still listed")
		}
	}
	// A removed ID cannot join again.
	_, err := c.Node("n1").Server.Service().Join(ctx, membership.Member{Name: victim.Name, PeerAddr: victim.PeerAddr})
	if !errors.Is(err, service.ErrMemberExists) {
		t.Fatalf("join under a removed ID: %v, want ErrMemberExists", err)
	}
}
