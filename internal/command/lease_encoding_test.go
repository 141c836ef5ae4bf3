package command

import (
	"errors"
	"testing"
)

func leaseRequestCases() map[string]*Request {
	return map[string]*Request{
		"lease-grant":      {ID: 20, LeaseGrant: &LeaseGrantRequest{ID: 7, TTL: 5000}},
		"lease-grant-auto": {ID: 20, LeaseGrant: &LeaseGrantRequest{TTL: 1}},
		"lease-revoke":     {ID: 21, LeaseRevoke: &LeaseRevokeRequest{ID: 1 << 62, Expired: true}},
		"lease-revoke-if":  {ID: 21, LeaseRevoke: &LeaseRevokeRequest{ID: 7, Expired: true, CheckRenewals: true, Renewals: 1 << 40}},
		"lease-revoke-neg": {ID: 21, LeaseRevoke: &LeaseRevokeRequest{ID: -1}},
		"lease-keepalive":  {ID: 22, LeaseKeepAlive: &LeaseKeepAliveRequest{ID: 3}},
		"expire-set":       {ID: 23, Expire: &ExpireRequest{Op: ExpireSet, Key: []byte("k"), At: 1798761600000, Now: 1798761500000, Cond: ExpireGT}},
		"expire-persist":   {ID: 23, Expire: &ExpireRequest{Op: ExpirePersist, Key: []byte("k")}},
		"expire-reap":      {ID: 23, Expire: &ExpireRequest{Op: ExpireReap, Key: []byte("k\x00"), At: -5}},
		"lock-acquire":     {ID: 24, Lock: &LockRequest{Op: LockAcquire, Name: []byte("db"), Lease: 9}},
		"lock-release":     {ID: 24, Lock: &LockRequest{Op: LockRelease, Name: []byte("db"), Token: 1 << 40}},
		"fence-empty":      {ID: 25, Fence: &FenceRequest{Name: []byte("db"), Token: 4}},
		"mutate-keepttl":   {ID: 26, Mutate: &MutateRequest{Op: MutateSet, Key: []byte("k"), Value: []byte("v"), KeepTTL: true}},
		"fence": {ID: 25, Fence: &FenceRequest{Name: []byte("db"), Token: 4, Ops: []TxnOp{
			{Put: &PutRequest{Key: []byte("a"), Value: []byte("1")}},
			{Mutate: &MutateRequest{Op: MutateSet, Key: []byte("b"), Value: []byte("2")}},
			{Expire: &ExpireRequest{Op: ExpireSet, Key: []byte("b"), At: 10, Now: 5, Cond: ExpireIfWritten}},
			{Delete: &DeleteRequest{Key: []byte("c")}},
		}}},
	}
}

func leaseResultCases() map[string]*Result {
	return map[string]*Result{
		"lease":        {ID: 30, Revision: 3, Lease: &LeaseResult{ID: 5, TTL: 2000, Renewals: 12}},
		"lease-revoke": {ID: 30, Revision: 4, Lease: &LeaseResult{ID: 5, Deleted: 3, Promoted: []LockGrant{{Name: []byte("a"), Token: 3, Lease: 6}, {Name: []byte("b"), Token: 9, Lease: 7}}}},
		"lease-err":    {ID: 30, Revision: 4, Err: ErrCodeLeaseNotFound},
		"expire":       {ID: 31, Revision: 5, Expire: &ExpireResult{Existed: true, Done: true, Deleted: true, Prev: 77}},
		"expire-none":  {ID: 31, Revision: 5, Expire: &ExpireResult{}},
		"lock":         {ID: 32, Revision: 6, Lock: &LockResult{Token: 6, Held: true}},
		"lock-release": {ID: 32, Revision: 7, Lock: &LockResult{Token: 6, Held: true, Promoted: []LockGrant{{Name: []byte("x"), Token: 8, Lease: 2}}}},
		"fenced":       {ID: 33, Revision: 7, Err: ErrCodeFenced},
		"txn-expire": {ID: 34, Revision: 8, Txn: &TxnResult{Succeeded: true, Results: []TxnOpResult{
			{Mutate: &MutateResult{Written: true}},
			{Expire: &ExpireResult{Existed: true, Done: true}},
		}}},
	}
}

func TestDecodeLeaseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"unknown revoke flag", []byte{1, tagLeaseRevoke, 1, 2, 4}},
		{"revoke renewals missing", []byte{1, tagLeaseRevoke, 1, 2, 3}},
		{"expire op 0", []byte{1, tagExpire, 1, 0, 1, 'k', 0, 0, 0}},
		{"unknown expire op", []byte{1, tagExpire, 1, byte(maxExpireOp) + 1, 1, 'k', 0, 0, 0}},
		{"unknown expire cond", []byte{1, tagExpire, 1, byte(ExpireSet), 1, 'k', 0, 0, byte(maxExpireCond) + 1}},
		{"lock op 0", []byte{1, tagLock, 1, 0, 1, 'n', 0, 0}},
		{"unknown lock op", []byte{1, tagLock, 1, byte(maxLockOp) + 1, 1, 'n', 0, 0}},
		{"unknown fence op tag", []byte{1, tagFence, 1, 1, 'n', 2, 1, 9}},
	} {
		if _, err := DecodeRequest(tc.b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err %v, want ErrCorrupt", tc.name, err)
		}
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"unknown expire result flag", []byte{1, tagExpire, 1, 0, 0, 8, 0}},
		{"absurd grant count", []byte{1, tagLock, 1, 0, 0, 2, 0, 0x80, 0x80, 0x04}},
		{"bad lock held", []byte{1, tagLock, 1, 0, 0, 2, 2, 0}},
	} {
		if _, err := DecodeResult(tc.b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("result %s: err %v, want ErrCorrupt", tc.name, err)
		}
	}
}
