package query_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/query"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cairndb/cairn/internal/testcluster"
)

// svcStore is a query.Store over a real service (state machine, raft,
// txn encoding and validation) with a hook before each commit.
type svcStore struct {
	s            *service.Service
	beforeCommit func()
}

func (st *svcStore) ReadRevision(ctx context.Context, stale bool) (int64, error) {
	_, rev, err := st.s.Range(ctx, &command.RangeRequest{Key: []byte{0}, CountOnly: true, End: []byte{0}}, service.ReadOptions{})
	return rev, err
}

func (st *svcStore) Get(ctx context.Context, key []byte, rev int64) (*command.KeyValue, error) {
	res, _, err := st.s.Range(ctx, &command.RangeRequest{Key: key, Revision: rev}, service.ReadOptions{Consistency: service.Stale})
	if err != nil || len(res.KVs) == 0 {
		return nil, err
	}
	return res.KVs[0], nil
}

func (st *svcStore) Keys(ctx context.Context, start, end []byte, rev int64, limit int) ([]*command.KeyValue, bool, error) {
	if end == nil {
		end = []byte{0}
	}
	res, _, err := st.s.Range(ctx, &command.RangeRequest{Key: start, End: end, Revision: rev, Limit: int64(limit), KeysOnly: true},
		service.ReadOptions{Consistency: service.Stale})
	if err != nil {
		return nil, false, err
	}
	return res.KVs, res.More, nil
}

func (st *svcStore) Commit(ctx context.Context, txn *command.TxnRequest) (*command.Result, error) {
	if st.beforeCommit != nil {
		st.beforeCommit()
	}
	return st.s.Txn(ctx, txn)
}

// TestPhantomOnCluster: against the real state machine, a key created
// (or created and deleted again) under a prefix a script listed, between
// the script's read and its commit, makes the script run again.
func TestPhantomOnCluster(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{})
	svc := c.WaitLeader(10 * time.Second).Server.Service()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	put := func(k string) {
		t.Helper()
		if _, err := svc.Put(ctx, &command.PutRequest{Key: []byte(k), Value: []byte("1")}); err != nil {
			t.Fatal(err)
		}
	}
	del := func(k string) {
		t.Helper()
		if _, err := svc.Delete(ctx, &command.DeleteRequest{Key: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	put("item/a")
	put("item/b")
	for _, tc := range []struct {
		name     string
		meddle   func()
		attempts int
	}{
		{"creation", func() { put("item/c") }, 2},
		{"create and delete", func() { put("item/x"); del("item/x") }, 2},
		{"outside the prefix", func() { put("other") }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := true
			st := &svcStore{s: svc, beforeCommit: func() {
				if first {
					first = false
					tc.meddle()
				}
			}}
			res, err := query.Run(ctx, st, "db['count'] = len(db.keys('item/'))", query.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Attempts != tc.attempts {
				t.Fatalf("attempts %d, want %d", res.Attempts, tc.attempts)
			}
		})
	}
	res, err := query.Run(ctx, &svcStore{s: svc}, "db['count']", query.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Value) != "3" {
		t.Fatalf("count = %s, want 3", res.Value)
	}
}
