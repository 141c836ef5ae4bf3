// Package command defines the requests that are proposed through raft and
// the results the state machine returns, and their versioned binary
// encoding. It is pure: no I/O, no clock.
package command

// KeyValue is one version of a key.
type KeyValue struct {
	Key            []byte `json:"key"`
	Value          []byte `json:"value,omitempty"`
	CreateRevision int64  `json:"create_revision"`
	ModRevision    int64  `json:"mod_revision"`
	Version        int64  `json:"version"` // number of writes since creation; 1 for a new key
	Lease          int64  `json:"lease,omitempty"`
}

// Request is one proposal. Exactly one of the operation fields is set.
type Request struct {
	// ID identifies the request so the proposer can match its result. It is
	// unique per proposing node (node ID in the high bits, a counter below).
	ID uint64

	Put     *PutRequest
	Delete  *DeleteRequest
	Txn     *TxnRequest
	Compact *CompactRequest
}

// PutRequest writes Value at Key.
type PutRequest struct {
	Key    []byte
	Value  []byte
	PrevKV bool // return the previous version
	Lease  int64
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

// CompareTarget is what a Compare inspects.
type CompareTarget uint8

const (
	CompareValue CompareTarget = iota + 1
	CompareVersion
	CompareCreateRevision
	CompareModRevision
	CompareExists // Int is 1 (exists) or 0 (absent); Result must be EQ or NE
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
	Value  []byte // for CompareValue
	Int    int64  // for the numeric targets
}

// TxnOp is one operation of a txn branch. Exactly one field is set.
type TxnOp struct {
	Put    *PutRequest
	Delete *DeleteRequest
	Range  *RangeRequest
}

// TxnRequest applies Success if every compare holds, else Failure. The whole
// txn is one revision. A key may be written at most once per branch.
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
}

// Error codes carried in Result.Err (the state machine is deterministic, so
// errors are data, the same on every node).
const (
	ErrCodeCompacted    = "compacted" // a read at a revision older than the compaction horizon
	ErrCodeFutureRev    = "future_revision"
	ErrCodeDuplicateKey = "duplicate_key" // a txn branch writes one key twice
	ErrCodeInvalid      = "invalid"       // malformed request (empty key, ...)
)

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
}
