package testcluster

import (
	"testing"
	"time"
)

// Removing the leader through a follower hands leadership to another voter
// first (only the leader knows followers' progress). Found by the fault
// harness (test/jepsen, Membership).
func TestRemoveLeaderThroughFollower(t *testing.T) {
	c := New(t, 3, Options{})
	ctx := ctxT(t, 30*time.Second)
	leader := c.WaitLeader(5 * time.Second)
	var follower *Node
	for _, nd := range c.Running() {
		if nd.ID != leader.ID {
			follower = nd
		}
	}
	if err := follower.Server.Service().Remove(ctx, leader.ID); err != nil {
		t.Fatalf("remove leader via follower: %v", err)
	}
	c.Stop(leader.Name)
	next := c.WaitLeader(10 * time.Second)
	if next.ID == leader.ID {
		t.Fatal("removed node still leads")
	}
	if _, err := put(ctx, next, "after", "remove"); err != nil {
		t.Fatalf("write after removing the leader: %v", err)
	}
	for _, m := range mustMembers(t, c) {
		if m.ID == leader.ID {
			t.Fatal("removed leader still a member")
		}
	}
}
