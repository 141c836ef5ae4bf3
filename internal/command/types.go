// Package command defines the requests that are proposed through raft and
// the results the state machine returns, and their versioned binary
// encoding. It is pure: no I/O, no clock.
package command

import "bytes"

// KeyValue is one version of a key.
type KeyValue struct {
	Key            []byte    `json:"key"`
	Value          []byte    `json:"value,omitempty"`
	CreateRevision int64     `json:"create_revision"`
	ModRevision    int64     `json:"mod_revision"`
	Version        int64     `json:"version"` // number of writes since creation; 1 for a new key
	Lease          int64     `json:"lease,omitempty"`
	Type           ValueType `json:"type,omitempty"`      // how Value is interpreted; 0 = plain bytes
	ExpireAt       int64     `json:"expire_at,omitempty"` // per-key expiry, Unix milliseconds; 0 = none
}

// ValueType says how a stored value is interpreted. The state machine keeps
// it with each version, so a plain GET of a document can be refused and
// TYPE can answer without parsing the value.
type ValueType uint8

const (
	TypeBytes    ValueType = 0 // plain bytes (Redis string)
	TypeDocument ValueType = 1 // a JSON document (see internal/document)
)

// Request is one proposal. Exactly one of the operation fields is set.
type Request struct {
	// ID identifies the request so the proposer can match its result. It is
	// unique per proposing node (node ID in the high bits, a counter below).
	ID uint64

	// Now is the proposer's clock when it proposed the request, Unix
	// milliseconds (0 = unknown: entries written before the field existed,
	// and tests). The state machine, which never reads a clock, uses it to
	// treat a key whose expiry is at or before Now as absent, as Redis
	// does, before the reaper has deleted it (see docs/LEASES.md, "Reads").
	Now int64

	Put     *PutRequest
	Delete  *DeleteRequest
	Txn     *TxnRequest
	Compact *CompactRequest
	Mutate  *MutateRequest
	Doc     *DocRequest

	// Leases, expiry and locks (lease.go).
	LeaseGrant     *LeaseGrantRequest
	LeaseRevoke    *LeaseRevokeRequest
	LeaseKeepAlive *LeaseKeepAliveRequest
	Expire         *ExpireRequest
	Lock           *LockRequest
	Fence          *FenceRequest
	Publish        *PublishRequest
	Undo           *UndoRequest
}

// PutRequest writes Value at Key.
type PutRequest struct {
	Key    []byte
	Value  []byte
	PrevKV bool // return the previous version
	Lease  int64
	Type   ValueType // how Value is interpreted; stored with the version
}

// DeleteRequest deletes Key, or every key in [Key, End) when End is set.
type DeleteRequest struct {
	Key    []byte
	End    []byte
	PrevKV bool
}

// RangeRequest reads Key, or keys in [Key, End) when End is set (End = "\x00"
// means every key >= Key, as in etcd). Used by reads and inside txns.
type RangeRequest struct {
	Key       []byte
	End       []byte
	Limit     int64 // 0 = no limit
	Revision  int64 // 0 = latest
	KeysOnly  bool
	CountOnly bool
}

// PrefixEnd is the range End covering every key that starts with p (as
// etcd's GetPrefixRangeEnd): p with its last byte below 0xff incremented
// and the rest dropped, or "\x00" (every key >= Key) when p is empty or all
// 0xff.
func PrefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0}
}

// CompareTarget is what a Compare inspects.
type CompareTarget uint8

const (
	CompareValue CompareTarget = iota + 1
	CompareVersion
	CompareCreateRevision
	CompareModRevision
	CompareExists // Int is 1 (exists) or 0 (absent); Result must be EQ or NE
	// CompareUnchangedSince holds when no key in the span Key, Value changed
	// (put, delete, expiry: any write) at a revision in (Int, current]. The
	// span follows RangeRequest: Value empty means exactly Key, Value "\x00"
	// every key >= Key, else [Key, Value). Int is the revision the caller
	// read at; Result must be CompareEqual. The compare fails when Int is
	// below the compaction horizon or above the store revision: it cannot be
	// vouched for, and the caller retries at a newer revision. See
	// docs/QUERY.md ("Transactions") for its cost.
	CompareUnchangedSince
)

// CompareResult is the relation a Compare asserts.
type CompareResult uint8

const (
	CompareEqual CompareResult = iota + 1
	CompareNotEqual
	CompareLess
	CompareGreater
)

// Compare is one condition of a txn. A missing key has value nil, version 0,
// create and mod revision 0.
type Compare struct {
	Key    []byte
	Target CompareTarget
	Result CompareResult
	Value  []byte // for CompareValue; the span end for CompareUnchangedSince
	Int    int64  // for the numeric targets; the revision for CompareUnchangedSince
}

// TxnOp is one operation of a txn branch. Exactly one field is set.
type TxnOp struct {
	Put    *PutRequest
	Delete *DeleteRequest
	Range  *RangeRequest
	Mutate *MutateRequest
	Doc    *DocRequest
	Expire *ExpireRequest
}

// TxnRequest applies Success if every compare holds, else Failure. The whole
// txn is one revision. A key may be written at most once per branch by Put
// and Delete ops (as in etcd); Mutate ops are exempt: they apply in order,
// each seeing the writes before it, so a key may be mutated several times
// (Redis MULTI/EXEC semantics). A key written n times in one txn gets its
// version raised by n; its history keeps the last write of the revision.
type TxnRequest struct {
	Compares []Compare
	Success  []TxnOp
	Failure  []TxnOp
}

// CompactRequest discards versions older than Revision (the newest version
// of each key at Revision is kept). Proposed by the leader on a schedule.
type CompactRequest struct {
	Revision int64
}

// Result is what the state machine returns for one request.
type Result struct {
	ID       uint64
	Revision int64  // the store's revision after the request
	Err      string // non-empty if the request failed as a whole (see Err* codes)

	Put    *PutResult
	Delete *DeleteResult
	Txn    *TxnResult
	Mutate *MutateResult
	Doc    *DocResult
	Lease  *LeaseResult
	Expire *ExpireResult
	Lock   *LockResult

	Publish *PublishResult
	Undo    *UndoResult
	Stale   *StaleResult // with Err ErrCodeStaleRequest (dedup.go)
}

// PublishRequest publishes Message on a pub/sub channel (Redis PUBLISH).
// It goes through raft so subscribers on every node receive it in commit
// order, but it changes no key and leaves the store revision alone.
type PublishRequest struct {
	Channel []byte
	Message []byte
}

// PublishResult is the outcome of a PublishRequest. Receivers is counted
// by the node that applied it: the proposer's Result has the number of
// subscriptions on the node that served the PUBLISH that received it.
type PublishResult struct {
	Receivers int64
}

// Error codes carried in Result.Err (the state machine is deterministic, so
// errors are data, the same on every node).
const (
	ErrCodeCompacted    = "compacted" // a read at a revision older than the compaction horizon
	ErrCodeFutureRev    = "future_revision"
	ErrCodeDuplicateKey = "duplicate_key" // a txn branch writes one key twice
	ErrCodeInvalid      = "invalid"       // malformed request (empty key, ...)

	// Mutate errors (MutateResult.Err, and Result.Err for a standalone
	// Mutate). They depend on the stored data, so inside a txn they fail
	// only their op, as Redis fails one command of an EXEC.
	ErrCodeNotInteger = "not_integer" // IncrBy on a value that is not a 64-bit decimal integer
	ErrCodeNotFloat   = "not_float"   // IncrByFloat on a value that is not a float
	ErrCodeOverflow   = "overflow"    // IncrBy would overflow int64
	ErrCodeNaNOrInf   = "nan_or_inf"  // IncrByFloat would produce NaN or an infinity
	ErrCodeTooLarge   = "too_large"   // Append/SetRange would exceed MaxValueSize
	ErrCodeNoSuchKey  = "no_such_key" // Rename of a missing key
)

// MaxValueSize is the largest value the state machine writes (8 MiB). The
// service refuses larger values up front; Append and SetRange, whose result
// size depends on the stored data, fail with ErrCodeTooLarge in the state
// machine, deterministically.
const MaxValueSize = 8 << 20

type PutResult struct {
	PrevKV *KeyValue
}

type DeleteResult struct {
	Deleted int64
	PrevKVs []*KeyValue
}

type RangeResult struct {
	KVs   []*KeyValue
	More  bool
	Count int64
}

type TxnResult struct {
	Succeeded bool
	Results   []TxnOpResult
}

// TxnOpResult is the result of one TxnOp; the field matching the op is set.
type TxnOpResult struct {
	Put    *PutResult
	Delete *DeleteResult
	Range  *RangeResult
	Mutate *MutateResult
	Doc    *DocResult
	Expire *ExpireResult
}

// MutateOp is the read-modify-write operation of a MutateRequest.
type MutateOp uint8

// Mutate operations. Each reads the latest value of Key and writes in the
// same apply step, so it is atomic: the Redis string commands that read
// before they write (INCR, APPEND, SETNX, GETSET, RENAME ...) map onto them.
const (
	// MutateSet writes Value at Key. With NX only if Key is absent, with XX
	// only if it exists. PrevValue returns the old value (GETSET, SET GET).
	MutateSet MutateOp = iota + 1
	// MutateDelete deletes Key (Int = 1 if it existed, else 0). PrevValue
	// returns the old value (GETDEL).
	MutateDelete
	// MutateIncrBy adds Int to the decimal integer at Key (absent = 0) and
	// stores the sum in decimal; Int of the result is the new value. The
	// stored value must be a canonical int64 as Redis's string2ll accepts
	// it ("12", "-3"; not "+1", "01", " 1"): else ErrCodeNotInteger. An
	// int64 overflow is ErrCodeOverflow.
	MutateIncrBy
	// MutateIncrByFloat adds the increment to the float at Key (absent =
	// 0) and stores the sum, which the result returns in Value. With Value
	// set (the increment as typed, as RESP sends it) the addition is
	// Redis's: a long double (64-bit mantissa) printed with 17 decimals,
	// trailing zeros removed ("0.1" + "0.2" = "0.3"). Without, Float is
	// added in float64 and printed with strconv 'f', -1. Both are
	// deterministic on every node. Errors: ErrCodeNotFloat, ErrCodeNaNOrInf.
	MutateIncrByFloat
	// MutateAppend appends Value (absent key = empty); Int of the result is
	// the new length. Over MaxValueSize: ErrCodeTooLarge.
	MutateAppend
	// MutateSetRange overwrites the value from byte offset Int (>= 0) with
	// Value, padding with zero bytes; Int of the result is the new length.
	// An empty Value writes nothing and returns the current length (0 and
	// no key for an absent key), as Redis does. Over MaxValueSize:
	// ErrCodeTooLarge.
	MutateSetRange
	// MutateRename moves the value of Key to Dest and deletes Key, in one
	// revision. With NX only if Dest is absent. A missing Key is
	// ErrCodeNoSuchKey; Key == Dest writes nothing.
	MutateRename

	maxMutateOp = MutateRename
)

// MutateRequest is an atomic read-modify-write of one key (two for
// MutateRename), usable as a request and as a TxnOp. The fields an Op does
// not use must be zero.
type MutateRequest struct {
	Op        MutateOp
	Key       []byte
	Dest      []byte  // MutateRename
	Value     []byte  // MutateSet, MutateAppend, MutateSetRange; MutateIncrByFloat: the delta as typed (optional)
	Int       int64   // MutateIncrBy delta, MutateSetRange offset
	Float     float64 // MutateIncrByFloat delta
	NX        bool    // MutateSet: only if Key is absent; MutateRename: only if Dest is absent
	XX        bool    // MutateSet: only if Key exists
	PrevValue bool    // MutateSet, MutateDelete: return the previous value
	KeepTTL   bool    // MutateSet: keep the key's expiry (SET KEEPTTL); else SET clears it
}

// MutateResult is the outcome of one MutateRequest.
type MutateResult struct {
	// Err is the op's error code (ErrCodeNotInteger ...); nothing was
	// written. A standalone Mutate also reports it in Result.Err.
	Err string
	// Written reports that the op wrote (false when an NX/XX condition
	// failed or there was nothing to do).
	Written bool
	// Existed reports that Key existed before the op.
	Existed bool
	// Prev is the previous value when PrevValue was asked (nil for an empty
	// or absent value: see Existed).
	Prev []byte
	// Value is the new value of MutateIncrByFloat.
	Value []byte
	// Int is the new value of MutateIncrBy, the new length for
	// MutateAppend and MutateSetRange, the keys deleted by MutateDelete.
	Int int64
}
