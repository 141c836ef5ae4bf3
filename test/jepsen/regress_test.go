package jepsen

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"
)

// TestAPIRangeFromEmptyKey: docs/API.md says `key=K&end=%00` reads every
// key >= K, including from the empty key. It used to reach the state
// machine with an empty key and answer 500 internal.
func TestAPIRangeFromEmptyKey(t *testing.T) {
	c := NewCluster(t, bins, ClusterOptions{Nodes: 1}, t.Logf)
	n := c.Members()[0]
	kv := NewKV(5 * time.Second)
	if _, err := kv.Put(context.Background(), n.HTTP, "a", "1"); err != nil {
		t.Fatal(err)
	}
	for _, stale := range []bool{false, true} {
		q := url.Values{"key": {""}, "end": {"\x00"}}
		if stale {
			q.Set("consistency", "stale")
		}
		var r rangeResp
		_, err := kv.do(context.Background(), "GET", n.HTTP, "/v1/kv?"+q.Encode(), nil, &r)
		if err != nil {
			t.Errorf("GET /v1/kv?%s: %v", q.Encode(), err)
			continue
		}
		if len(r.KVs) != 1 || r.KVs[0].Key != "a" {
			t.Errorf("GET /v1/kv?%s = %+v, want the one key a", q.Encode(), r)
		}
	}
}

// TestRemoveLeaderViaFollower: DELETE /v1/cluster/members/{leader} sent to
// a follower used to fail with 400 "no other reachable voter": only the
// leader tracks followers' progress. Found by TestJepsenMembership seed
// 1000. The leader must be removed (leadership moves first), as when the
// request goes to the leader itself.
func TestRemoveLeaderViaFollower(t *testing.T) {
	c := NewCluster(t, bins, ClusterOptions{Nodes: 3}, t.Logf)
	var leader *Node
	if err := waitFor(10*time.Second, func() error {
		if leader = c.Leader(); leader == nil {
			return os.ErrNotExist
		}
		return nil
	}); err != nil {
		t.Fatal("no leader")
	}
	var follower *Node
	for _, n := range c.Members() {
		if n != leader {
			follower = n
			break
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, "http://"+follower.HTTP+"/v1/cluster/members/"+leader.Name, nil)
	resp, err := adminClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("DELETE leader %s via follower %s: %d %s", leader.Name, follower.Name, resp.StatusCode, body)
	}
}
