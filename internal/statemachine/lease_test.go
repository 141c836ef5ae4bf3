package statemachine

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/raftnode"
	"github.com/cockroachdb/datadriven"
)

// dumpLease formats a lease-namespace record (k without namespace and group).
func dumpLease(k, v []byte) string {
	be := func(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }
	vi := func() int64 { x, _ := binary.Varint(v); return x }
	switch k[0] {
	case leaseKindLease:
		rec, err := decodeLeaseRecord(be(k[1:9]), v)
		if err != nil {
			return fmt.Sprintf("lease %d %v\n", be(k[1:9]), err)
		}
		if rec.renewals != 0 {
			return fmt.Sprintf("lease %d ttl=%d renewals=%d\n", be(k[1:9]), rec.ttl, rec.renewals)
		}
		return fmt.Sprintf("lease %d ttl=%d\n", be(k[1:9]), rec.ttl)
	case leaseKindKey:
		return fmt.Sprintf("lease-key %d %q\n", be(k[1:9]), k[9:])
	case leaseKindExpiry:
		return fmt.Sprintf("expiry %d %q\n", be(k[1:9]), k[9:])
	case leaseKindQueue:
		n, m := binary.Uvarint(k[1:])
		name := k[1+m : 1+m+int(n)]
		return fmt.Sprintf("lock-queue %q token=%d lease=%d\n", name, be(k[1+m+int(n):]), vi())
	case leaseKindWaiter:
		return fmt.Sprintf("lease-waiter %d token=%d %q\n", be(k[1:9]), be(k[9:17]), v)
	case leaseKindNextID:
		return fmt.Sprintf("lease-next-id %d\n", be(v))
	}
	return fmt.Sprintf("lease-ns %q\n", k)
}

// oneT applies one request in its own entry and returns its result.
func (e *env) oneT(t *testing.T, r *command.Request) *command.Result {
	t.Helper()
	rs := e.apply(e.entry(r))
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	return rs[0]
}

// leaseDump is the dump restricted to the lease namespace.
func (e *env) leaseDump(t *testing.T) string {
	var out []string
	for _, l := range strings.Split(dump(t, e.db), "\n") {
		for _, p := range []string{"lease", "expiry", "lock-"} {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

func put(k, v string, lease int64) *command.Request {
	return &command.Request{Put: &command.PutRequest{Key: []byte(k), Value: []byte(v), Lease: lease}}
}

func TestLeaseGrantKeepAliveRevoke(t *testing.T) {
	e := newEnv(t)
	r := e.oneT(t, &command.Request{LeaseGrant: &command.LeaseGrantRequest{TTL: 2000}})
	if r.Err != "" || r.Lease.ID != 1 || r.Lease.TTL != 2000 {
		t.Fatalf("auto grant: %+v %+v", r, r.Lease)
	}
	// A chosen ID; the counter skips it afterwards.
	if r := e.oneT(t, &command.Request{LeaseGrant: &command.LeaseGrantRequest{ID: 2, TTL: 5000}}); r.Err != "" {
		t.Fatal(r.Err)
	}
	if r := e.oneT(t, &command.Request{LeaseGrant: &command.LeaseGrantRequest{ID: 2, TTL: 5000}}); r.Err != command.ErrCodeLeaseExists {
		t.Fatalf("duplicate grant: %q", r.Err)
	}
	if r := e.oneT(t, &command.Request{LeaseGrant: &command.LeaseGrantRequest{}}); r.Err != command.ErrCodeInvalid {
		t.Fatalf("zero TTL: %q", r.Err)
	}
	if r := e.oneT(t, &command.Request{LeaseGrant: &command.LeaseGrantRequest{TTL: 1}}); r.Lease.ID != 3 {
		t.Fatalf("auto grant after a chosen ID: %+v", r.Lease)
	}
	if r := e.oneT(t, &command.Request{LeaseKeepAlive: &command.LeaseKeepAliveRequest{ID: 2}}); r.Err != "" || r.Lease.TTL != 5000 || r.Lease.Renewals != 1 {
		t.Fatalf("keepalive: %+v", r)
	}
	if r := e.oneT(t, &command.Request{LeaseKeepAlive: &command.LeaseKeepAliveRequest{ID: 9}}); r.Err != command.ErrCodeLeaseNotFound {
		t.Fatalf("keepalive of a missing lease: %q", r.Err)
	}
	if r := e.oneT(t, put("x", "1", 9)); r.Err != command.ErrCodeLeaseNotFound {
		t.Fatalf("put with a missing lease: %q", r.Err)
	}
	e.oneT(t, put("a", "1", 1))
	e.oneT(t, put("b", "1", 1))
	e.oneT(t, put("c", "1", 2))
	e.oneT(t, put("b", "2", 2)) // moves b to lease 2
	e.oneT(t, put("d", "1", 1))
	e.oneT(t, put("d", "2", 0)) // detaches d
	info, keys, found, err := e.sm.Lease(1, true)
	if err != nil || !found || info.TTL != 2000 || !reflect.DeepEqual(keys, [][]byte{[]byte("a")}) {
		t.Fatalf("lease 1: %+v %q %v %v", info, keys, found, err)
	}
	rev := e.sm.Revision()
	r = e.oneT(t, &command.Request{LeaseRevoke: &command.LeaseRevokeRequest{ID: 2, Expired: true}})
	if r.Err != "" || r.Lease.Deleted != 2 || r.Revision != rev+1 {
		t.Fatalf("revoke: %+v %+v", r, r.Lease)
	}
	kvs, _, err := e.sm.GetMany([][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")})
	if err != nil || kvs[0] == nil || kvs[1] != nil || kvs[2] != nil || kvs[3] == nil {
		t.Fatalf("after revoke: %v %v", kvs, err)
	}
	if r := e.oneT(t, &command.Request{LeaseRevoke: &command.LeaseRevokeRequest{ID: 2}}); r.Err != command.ErrCodeLeaseNotFound {
		t.Fatalf("second revoke: %q", r.Err)
	}
	ls, err := e.sm.Leases()
	if err != nil || !reflect.DeepEqual(ls, []LeaseInfo{{1, 2000, 0}, {3, 1, 0}}) {
		t.Fatalf("leases: %v %v", ls, err)
	}
	e.oneT(t, &command.Request{Delete: &command.DeleteRequest{Key: []byte("a")}})
	want := "lease 1 ttl=2000\nlease 3 ttl=1\nlease-next-id 3"
	if got := e.leaseDump(t); got != want {
		t.Fatalf("lease records:\n%s\nwant\n%s", got, want)
	}
}

func expireReq(op command.ExpireOp, k string, at, now int64, cond command.ExpireCond) *command.Request {
	return &command.Request{Expire: &command.ExpireRequest{Op: op, Key: []byte(k), At: at, Now: now, Cond: cond}}
}

func TestExpire(t *testing.T) {
	e := newEnv(t)
	const now = 1_000_000
	e.oneT(t, put("k", "v", 0))
	for i, tc := range []struct {
		req              *command.Request
		done, del        bool
		wantExp, wantVer int64
	}{
		{expireReq(command.ExpireSet, "k", now+100, now, command.ExpireXX), false, false, 0, 1},
		{expireReq(command.ExpireSet, "k", now+100, now, command.ExpireGT), false, false, 0, 1},
		{expireReq(command.ExpireSet, "k", now+100, now, command.ExpireNX), true, false, now + 100, 2},
		{expireReq(command.ExpireSet, "k", now+200, now, command.ExpireNX), false, false, now + 100, 2},
		{expireReq(command.ExpireSet, "k", now+50, now, command.ExpireGT), false, false, now + 100, 2},
		{expireReq(command.ExpireSet, "k", now+300, now, command.ExpireGT), true, false, now + 300, 3},
		{expireReq(command.ExpireSet, "k", now+400, now, command.ExpireLT), false, false, now + 300, 3},
		{expireReq(command.ExpireSet, "k", now+200, now, command.ExpireLT), true, false, now + 200, 4},
		{expireReq(command.ExpireReap, "k", now+100, 0, 0), false, false, now + 200, 4},
		{expireReq(command.ExpirePersist, "k", 0, 0, 0), true, false, 0, 5},
		{expireReq(command.ExpirePersist, "k", 0, 0, 0), false, false, 0, 5},
		{expireReq(command.ExpireSet, "k", now+500, now, 0), true, false, now + 500, 6},
		{expireReq(command.ExpireReap, "k", now+500, 0, 0), true, true, 0, 0},
		{expireReq(command.ExpireSet, "k", now+500, now, 0), false, false, 0, 0},
	} {
		r := e.oneT(t, tc.req)
		if r.Err != "" || r.Expire.Done != tc.done || r.Expire.Deleted != tc.del {
			t.Fatalf("%d: %+v %+v", i, r, r.Expire)
		}
		kv, _, _ := e.sm.Get([]byte("k"), 0)
		var exp, ver int64
		if kv != nil {
			exp, ver = kv.ExpireAt, kv.Version
		}
		if exp != tc.wantExp || ver != tc.wantVer {
			t.Fatalf("%d: expire %d version %d, want %d %d", i, exp, ver, tc.wantExp, tc.wantVer)
		}
	}
	// A time in the past deletes the key.
	e.oneT(t, put("p", "v", 0))
	if r := e.oneT(t, expireReq(command.ExpireSet, "p", now-1, now, 0)); !r.Expire.Deleted {
		t.Fatalf("past expiry: %+v", r.Expire)
	}
	if r := e.oneT(t, expireReq(command.ExpireSet, "p", 0, now, 0)); r.Err != command.ErrCodeInvalid {
		t.Fatalf("expire at 0: %q", r.Err)
	}
}

func TestExpiryCarriedByWrites(t *testing.T) {
	e := newEnv(t)
	const now, at = 1_000_000, 1_005_000
	mut := func(m *command.MutateRequest) *command.Request { return &command.Request{Mutate: m} }
	setEX := func(k, v string, nx bool) *command.Request {
		return &command.Request{Txn: &command.TxnRequest{Success: []command.TxnOp{
			{Mutate: &command.MutateRequest{Op: command.MutateSet, Key: []byte(k), Value: []byte(v), NX: nx}},
			{Expire: &command.ExpireRequest{Op: command.ExpireSet, Key: []byte(k), At: at, Now: now, Cond: command.ExpireIfWritten}},
		}}}
	}
	exp := func(k string) int64 {
		kv, _, err := e.sm.Get([]byte(k), 0)
		if err != nil || kv == nil {
			return -1
		}
		return kv.ExpireAt
	}
	e.oneT(t, setEX("n", "1", false))
	if kv, _, _ := e.sm.Get([]byte("n"), 0); kv.ExpireAt != at || kv.Version != 1 {
		t.Fatalf("SET EX amends its own version: %+v", kv)
	}
	e.oneT(t, setEX("n", "2", true)) // NX fails: the expiry op must not apply either
	e.oneT(t, mut(&command.MutateRequest{Op: command.MutateIncrBy, Key: []byte("n"), Int: 1}))
	if exp("n") != at {
		t.Fatal("INCR dropped the expiry")
	}
	e.oneT(t, mut(&command.MutateRequest{Op: command.MutateSet, Key: []byte("n"), Value: []byte("5"), KeepTTL: true}))
	if exp("n") != at {
		t.Fatal("SET KEEPTTL dropped the expiry")
	}
	e.oneT(t, mut(&command.MutateRequest{Op: command.MutateRename, Key: []byte("n"), Dest: []byte("m")}))
	if exp("m") != at || exp("n") != -1 {
		t.Fatal("RENAME did not move the expiry")
	}
	ex, err := e.sm.ExpiringBefore(at, 10)
	if err != nil || len(ex) != 1 || string(ex[0].Key) != "m" {
		t.Fatalf("expiry index: %v %v", ex, err)
	}
	if ex, _ := e.sm.ExpiringBefore(at-1, 10); len(ex) != 0 {
		t.Fatalf("expiry index before at: %v", ex)
	}
	e.oneT(t, mut(&command.MutateRequest{Op: command.MutateSet, Key: []byte("m"), Value: []byte("x")}))
	if exp("m") != 0 {
		t.Fatal("SET kept the expiry")
	}
	if got := e.leaseDump(t); got != "" {
		t.Fatalf("index left behind:\n%s", got)
	}
}

func lockReq(op command.LockOp, name string, lease, token int64) *command.Request {
	return &command.Request{Lock: &command.LockRequest{Op: op, Name: []byte(name), Lease: lease, Token: token}}
}

func TestLocksAndFencing(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		e.oneT(t, &command.Request{LeaseGrant: &command.LeaseGrantRequest{TTL: 1000}})
	}
	if r := e.oneT(t, lockReq(command.LockAcquire, "db", 9, 0)); r.Err != command.ErrCodeLeaseNotFound {
		t.Fatalf("acquire with a missing lease: %q", r.Err)
	}
	a := e.oneT(t, lockReq(command.LockAcquire, "db", 1, 0)).Lock
	b := e.oneT(t, lockReq(command.LockAcquire, "db", 2, 0)).Lock
	c := e.oneT(t, lockReq(command.LockAcquire, "db", 3, 0)).Lock
	if !a.Held || b.Held || c.Held || !(a.Token < b.Token && b.Token < c.Token) {
		t.Fatalf("FIFO: %+v %+v %+v", a, b, c)
	}
	if again := e.oneT(t, lockReq(command.LockAcquire, "db", 2, 0)).Lock; again.Token != b.Token || again.Held {
		t.Fatalf("re-acquire: %+v", again)
	}
	fence := func(token int64, v string) *command.Result {
		return e.oneT(t, &command.Request{Fence: &command.FenceRequest{Name: []byte("db"), Token: token,
			Ops: []command.TxnOp{{Put: &command.PutRequest{Key: []byte("data"), Value: []byte(v)}}}}})
	}
	if r := fence(a.Token, "a"); r.Err != "" || !r.Txn.Succeeded {
		t.Fatalf("holder's fenced write: %+v", r)
	}
	if r := fence(b.Token, "b"); r.Err != command.ErrCodeFenced {
		t.Fatalf("waiter's fenced write: %q", r.Err)
	}
	// The holder's lease expires: the next waiter is promoted, the old
	// token is fenced off.
	r := e.oneT(t, &command.Request{LeaseRevoke: &command.LeaseRevokeRequest{ID: 1, Expired: true}})
	if want := []command.LockGrant{{Name: []byte("db"), Token: b.Token, Lease: 2}}; !reflect.DeepEqual(r.Lease.Promoted, want) {
		t.Fatalf("promoted: %+v", r.Lease.Promoted)
	}
	if r := fence(a.Token, "stale"); r.Err != command.ErrCodeFenced {
		t.Fatalf("stale token: %q", r.Err)
	}
	if r := fence(b.Token, "b"); r.Err != "" {
		t.Fatalf("new holder: %q", r.Err)
	}
	// A waiter leaving does not promote; the holder releasing does.
	if r := e.oneT(t, lockReq(command.LockRelease, "db", 0, c.Token)).Lock; !r.Held || len(r.Promoted) != 0 {
		t.Fatalf("waiter release: %+v", r)
	}
	if r := e.oneT(t, lockReq(command.LockRelease, "db", 0, b.Token)).Lock; !r.Held || len(r.Promoted) != 0 {
		t.Fatalf("holder release with no waiter: %+v", r)
	}
	if r := e.oneT(t, lockReq(command.LockRelease, "db", 0, b.Token)).Lock; r.Held {
		t.Fatalf("double release: %+v", r)
	}
	if _, _, ok, _ := e.sm.LockHolder([]byte("db")); ok {
		t.Fatal("lock still held")
	}
	kv, _, _ := e.sm.Get([]byte("data"), 0)
	if string(kv.Value) != "b" {
		t.Fatalf("data = %q", kv.Value)
	}
	if got, want := e.leaseDump(t), "lease 2 ttl=1000\nlease 3 ttl=1000\nlease-next-id 3"; got != want {
		t.Fatalf("lease records:\n%s\nwant\n%s", got, want)
	}
}

// TestLeaseSnapshotAndReplay checks that lease state survives a snapshot
// round trip and that replaying the log on a fresh store gives the same
// bytes.
func TestLeaseSnapshotAndReplay(t *testing.T) {
	e := newEnv(t)
	e.oneT(t, &command.Request{LeaseGrant: &command.LeaseGrantRequest{TTL: 1000}})
	e.oneT(t, put("a", "1", 1))
	e.oneT(t, lockReq(command.LockAcquire, "l", 1, 0))
	e.oneT(t, expireReq(command.ExpireSet, "a", 5000, 1, 0))
	before := dump(t, e.db)
	e.snapshotRoundTrip(t)
	if after := dump(t, e.db); after != before {
		t.Fatalf("snapshot round trip:\n%s\nwant\n%s", after, before)
	}
	f := newEnv(t)
	f.apply(e.entries...)
	if got := dump(t, f.db); got != before {
		t.Fatalf("replay:\n%s\nwant\n%s", got, before)
	}
}

// leaseGrant handles "lease-grant id=N ttl=MS": a grant applied in its own
// entry with request ID 0, so the IDs of later requests do not shift.
func (e *env) leaseGrant(t *testing.T, d *datadriven.TestData) string {
	req := &command.Request{LeaseGrant: &command.LeaseGrantRequest{ID: intArg(d.CmdArgs, "id"), TTL: intArg(d.CmdArgs, "ttl")}}
	e.index++
	rs := e.apply(raftnode.Entry{Index: e.index, Term: 1, Proposals: [][]byte{command.EncodeRequest(nil, req)}})
	if rs[0].Err != "" {
		return "err=" + rs[0].Err + "\n"
	}
	return fmt.Sprintf("lease %d ttl=%d\n", rs[0].Lease.ID, rs[0].Lease.TTL)
}

// An expiry revoke computed from an older renewal count loses to the
// keep-alives applied before it; one computed from the current count
// applies. Unconditional revokes (clients, older leaders) always apply.
func TestLeaseRevokeLosesToKeepAlive(t *testing.T) {
	e := newEnv(t)
	id := e.oneT(t, &command.Request{LeaseGrant: &command.LeaseGrantRequest{TTL: 1000}}).Lease.ID
	e.oneT(t, put("k", "v", id))
	expire := func(renewals int64) *command.Result {
		return e.oneT(t, &command.Request{LeaseRevoke: &command.LeaseRevokeRequest{ID: id, Expired: true, CheckRenewals: true, Renewals: renewals}})
	}
	for want := int64(1); want <= 2; want++ {
		if r := e.oneT(t, &command.Request{LeaseKeepAlive: &command.LeaseKeepAliveRequest{ID: id}}); r.Err != "" || r.Lease.Renewals != want {
			t.Fatalf("keepalive %d: %+v %+v", want, r, r.Lease)
		}
	}
	rev := e.sm.Revision()
	for _, stale := range []int64{0, 1, 3} {
		if r := expire(stale); r.Err != command.ErrCodeLeaseRenewed || r.Lease != nil {
			t.Fatalf("revoke at renewals %d: %+v", stale, r)
		}
	}
	if e.sm.Revision() != rev {
		t.Fatalf("a losing revoke moved the revision: %d -> %d", rev, e.sm.Revision())
	}
	if got, want := e.leaseDump(t), fmt.Sprintf("lease-key %d \"k\"\nlease %d ttl=1000 renewals=2\nlease-next-id %d", id, id, id); got != want {
		t.Fatalf("lease records:\n%s\nwant\n%s", got, want)
	}
	ls, err := e.sm.Leases()
	if err != nil || len(ls) != 1 || ls[0].Renewals != 2 {
		t.Fatalf("leases: %+v %v", ls, err)
	}
	if r := expire(2); r.Err != "" || r.Lease.Deleted != 1 {
		t.Fatalf("revoke at the current count: %+v", r)
	}
	if got := e.leaseDump(t); got != fmt.Sprintf("lease-next-id %d", id) {
		t.Fatalf("after revoke:\n%s", got)
	}
}
