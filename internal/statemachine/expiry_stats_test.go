package statemachine

import (
	"testing"

	"github.com/cairndb/cairn/internal/command"
)

// TestExpiryStats: INFO keyspace's expires and avg_ttl count the keys with
// an expiry after now, not persistent keys, and drop a key whose expiry
// is removed or that is deleted.
func TestExpiryStats(t *testing.T) {
	e := newEnv(t)
	expire := func(k string, op command.ExpireOp, at int64) *command.Request {
		return &command.Request{Expire: &command.ExpireRequest{Op: op, Key: []byte(k), At: at, Now: 1}}
	}
	put := func(k string) *command.Request {
		return &command.Request{Put: &command.PutRequest{Key: []byte(k), Value: []byte("v")}}
	}
	check := func(what string, now, wantCount, wantAvg int64) {
		t.Helper()
		n, avg, err := e.sm.ExpiryStats(now)
		if err != nil || n != wantCount || avg != wantAvg {
			t.Fatalf("%s: ExpiryStats(%d) = %d, %d, %v; want %d, %d", what, now, n, avg, err, wantCount, wantAvg)
		}
	}
	check("empty", 0, 0, 0)
	for _, k := range []string{"a", "b", "c", "plain"} {
		e.oneT(t, put(k))
	}
	e.oneT(t, expire("a", command.ExpireSet, 1000))
	e.oneT(t, expire("b", command.ExpireSet, 2000))
	e.oneT(t, expire("c", command.ExpireSet, 4000))
	check("three", 0, 3, (1000+2000+4000)/3)
	check("at 1000 (a's expiry has passed)", 1000, 2, (1000+3000)/2)
	check("after all", 4000, 0, 0)
	e.oneT(t, expire("b", command.ExpirePersist, 0))
	e.oneT(t, &command.Request{Delete: &command.DeleteRequest{Key: []byte("c")}})
	check("after PERSIST b and DEL c", 500, 1, 500)
}
