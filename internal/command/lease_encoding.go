package command

import (
	"encoding/binary"
	"fmt"
)

// Encoding of the lease, expiry and lock commands (tags 7..12):
//
//	request
//	  lease grant     = id:varint ttl:varint                            tag 7
//	  lease revoke    = id:varint flags:byte(1=expired 2=check renewals)
//	                    [renewals:varint, with flag 2]                  tag 8
//	  lease keepalive = id:varint                                       tag 9
//	  expire          = op:byte key at:varint now:varint cond:byte      tag 10 (also a txn op)
//	  lock            = op:byte name lease:varint token:varint          tag 11
//	  fence           = name token:varint n:uvarint op*n                tag 12
//	result
//	  lease           = id:varint ttl:varint deleted:varint grants
//	                    renewals:varint                                 tag 7
//	  expire          = flags:byte(1=existed 2=done 4=deleted) prev:varint  tag 10 (also a txn op result)
//	  lock            = token:varint held:byte grants                   tag 11
//	  (a fence answers with a txn result, tag 3, or tag 0 and an error)
//	grants            = n:uvarint (name token:varint lease:varint)*n
//
// An expire op outside 1..ExpireReap or cond outside 0..ExpireIfWritten,
// and a lock op outside 1..LockRelease, are decoding errors.

const (
	tagLeaseGrant     byte = 7
	tagLeaseRevoke    byte = 8
	tagLeaseKeepAlive byte = 9
	tagExpire         byte = 10 // requests, txn ops, results and txn op results
	tagLock           byte = 11 // requests and results
	tagFence          byte = 12

	tagLeaseResult byte = 7 // grant, revoke and keep-alive results
)

const (
	flagExpired       byte = 1 << 0
	flagCheckRenewals byte = 1 << 1

	flagExpExisted byte = 1 << 0
	flagExpDone    byte = 1 << 1
	flagExpDeleted byte = 1 << 2
)

// minGrantSize bounds the count of lock grants (name length, token, lease).
const minGrantSize = 3

func leaseRequestTag(r *Request) (byte, bool) {
	switch {
	case r.LeaseGrant != nil:
		return tagLeaseGrant, true
	case r.LeaseRevoke != nil:
		return tagLeaseRevoke, true
	case r.LeaseKeepAlive != nil:
		return tagLeaseKeepAlive, true
	case r.Expire != nil:
		return tagExpire, true
	case r.Lock != nil:
		return tagLock, true
	case r.Fence != nil:
		return tagFence, true
	}
	return 0, false
}

func appendLeaseRequest(dst []byte, r *Request) []byte {
	switch {
	case r.LeaseGrant != nil:
		dst = binary.AppendVarint(dst, r.LeaseGrant.ID)
		return binary.AppendVarint(dst, r.LeaseGrant.TTL)
	case r.LeaseRevoke != nil:
		dst = binary.AppendVarint(dst, r.LeaseRevoke.ID)
		var f byte
		if r.LeaseRevoke.Expired {
			f |= flagExpired
		}
		if r.LeaseRevoke.CheckRenewals {
			f |= flagCheckRenewals
		}
		dst = append(dst, f)
		if r.LeaseRevoke.CheckRenewals {
			dst = binary.AppendVarint(dst, r.LeaseRevoke.Renewals)
		}
		return dst
	case r.LeaseKeepAlive != nil:
		return binary.AppendVarint(dst, r.LeaseKeepAlive.ID)
	case r.Expire != nil:
		return appendExpire(dst, r.Expire)
	case r.Lock != nil:
		l := r.Lock
		dst = append(dst, byte(l.Op))
		dst = appendBytes(dst, l.Name)
		dst = binary.AppendVarint(dst, l.Lease)
		return binary.AppendVarint(dst, l.Token)
	case r.Fence != nil:
		dst = appendBytes(dst, r.Fence.Name)
		dst = binary.AppendVarint(dst, r.Fence.Token)
		return appendTxnOps(dst, r.Fence.Ops)
	}
	return dst
}

func appendExpire(dst []byte, e *ExpireRequest) []byte {
	dst = append(dst, byte(e.Op))
	dst = appendBytes(dst, e.Key)
	dst = binary.AppendVarint(dst, e.At)
	dst = binary.AppendVarint(dst, e.Now)
	return append(dst, byte(e.Cond))
}

func (d *decoder) leaseRequest(tag byte, r *Request) {
	switch tag {
	case tagLeaseGrant:
		r.LeaseGrant = &LeaseGrantRequest{ID: d.varint("lease id"), TTL: d.varint("lease ttl")}
	case tagLeaseRevoke:
		r.LeaseRevoke = &LeaseRevokeRequest{ID: d.varint("lease id")}
		f := d.flags("revoke flags", flagExpired|flagCheckRenewals)
		r.LeaseRevoke.Expired = f&flagExpired != 0
		if f&flagCheckRenewals != 0 {
			r.LeaseRevoke.CheckRenewals = true
			r.LeaseRevoke.Renewals = d.varint("lease renewals")
		}
	case tagLeaseKeepAlive:
		r.LeaseKeepAlive = &LeaseKeepAliveRequest{ID: d.varint("lease id")}
	case tagExpire:
		r.Expire = &ExpireRequest{}
		d.expire(r.Expire)
	case tagLock:
		l := &LockRequest{Op: LockOp(d.byte("lock op"))}
		if d.err == nil && (l.Op == 0 || l.Op > maxLockOp) {
			d.fail(fmt.Sprintf("unknown lock op %d", l.Op))
		}
		l.Name = d.bytes("lock name")
		l.Lease = d.varint("lock lease")
		l.Token = d.varint("lock token")
		r.Lock = l
	case tagFence:
		f := &FenceRequest{Name: d.bytes("fence name"), Token: d.varint("fence token")}
		f.Ops = d.txnOps()
		r.Fence = f
	}
}

func (d *decoder) expire(e *ExpireRequest) {
	e.Op = ExpireOp(d.byte("expire op"))
	if d.err == nil && (e.Op == 0 || e.Op > maxExpireOp) {
		d.fail(fmt.Sprintf("unknown expire op %d", e.Op))
	}
	e.Key = d.bytes("expire key")
	e.At = d.varint("expire at")
	e.Now = d.varint("expire now")
	e.Cond = ExpireCond(d.byte("expire cond"))
	if d.err == nil && e.Cond > maxExpireCond {
		d.fail(fmt.Sprintf("unknown expire cond %d", e.Cond))
	}
}

func leaseResultTag(r *Result) byte {
	switch {
	case r.Lease != nil:
		return tagLeaseResult
	case r.Expire != nil:
		return tagExpire
	case r.Lock != nil:
		return tagLock
	}
	return tagNone
}

func appendLeaseResult(dst []byte, tag byte, r *Result) []byte {
	switch tag {
	case tagLeaseResult:
		l := r.Lease
		dst = binary.AppendVarint(dst, l.ID)
		dst = binary.AppendVarint(dst, l.TTL)
		dst = binary.AppendVarint(dst, l.Deleted)
		dst = appendGrants(dst, l.Promoted)
		return binary.AppendVarint(dst, l.Renewals)
	case tagExpire:
		return appendExpireResult(dst, r.Expire)
	case tagLock:
		dst = binary.AppendVarint(dst, r.Lock.Token)
		dst = appendBool(dst, r.Lock.Held)
		return appendGrants(dst, r.Lock.Promoted)
	}
	return dst
}

func appendExpireResult(dst []byte, e *ExpireResult) []byte {
	var f byte
	if e.Existed {
		f |= flagExpExisted
	}
	if e.Done {
		f |= flagExpDone
	}
	if e.Deleted {
		f |= flagExpDeleted
	}
	dst = append(dst, f)
	return binary.AppendVarint(dst, e.Prev)
}

func appendGrants(dst []byte, gs []LockGrant) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(gs)))
	for i := range gs {
		dst = appendBytes(dst, gs[i].Name)
		dst = binary.AppendVarint(dst, gs[i].Token)
		dst = binary.AppendVarint(dst, gs[i].Lease)
	}
	return dst
}

func (d *decoder) leaseResult(tag byte, r *Result) {
	switch tag {
	case tagLeaseResult:
		r.Lease = &LeaseResult{ID: d.varint("lease id"), TTL: d.varint("lease ttl"), Deleted: d.varint("lease deleted")}
		r.Lease.Promoted = d.grants()
		r.Lease.Renewals = d.varint("lease renewals")
	case tagExpire:
		r.Expire = d.expireResult()
	case tagLock:
		r.Lock = &LockResult{Token: d.varint("lock token"), Held: d.bool("lock held")}
		r.Lock.Promoted = d.grants()
	}
}

func (d *decoder) expireResult() *ExpireResult {
	f := d.flags("expire result flags", flagExpExisted|flagExpDone|flagExpDeleted)
	return &ExpireResult{
		Existed: f&flagExpExisted != 0,
		Done:    f&flagExpDone != 0,
		Deleted: f&flagExpDeleted != 0,
		Prev:    d.varint("expire prev"),
	}
}

func (d *decoder) grants() []LockGrant {
	n := d.count("lock grants", minGrantSize)
	if n == 0 {
		return nil
	}
	gs := make([]LockGrant, n)
	for i := range gs {
		gs[i] = LockGrant{Name: d.bytes("grant name"), Token: d.varint("grant token"), Lease: d.varint("grant lease")}
		if d.err != nil {
			return nil
		}
	}
	return gs
}
