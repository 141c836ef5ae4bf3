package command

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Encoding (format version 1)
//
// Every encoded request and result starts with the format version byte, so
// a node can refuse a command written by a newer binary instead of
// misreading it. Integers are varints (signed) or uvarints (unsigned and
// lengths); byte strings are a uvarint length followed by the bytes; flags
// are one byte whose unknown bits must be zero; an optional value is a
// presence byte (0 or 1) followed by the value.
//
//	request      = version tag:byte id:uvarint [now:varint] body
//	  put        = key value flags:byte(1=prev_kv 2=typed) lease:varint [type:byte]  tag 1
//	  delete     = key end flags:byte(1=prev_kv)                       tag 2
//	  txn        = n:uvarint compare*n  n:uvarint op*n  n:uvarint op*n tag 3
//	  compact    = revision:varint                                      tag 4
//	  mutate     = op:byte key dest value int:varint float:8 bytes (IEEE 754 bits, big endian)
//	               flags:byte(1=nx 2=xx 4=prev_value 8=keep_ttl)        tag 5
//	  doc        = op:byte key path n:uvarint value*n index:varint stop:varint
//	               flags:byte(1=nx 2=xx)                                tag 6
//	  lease ops, expire, lock, fence: see lease_encoding.go              tags 7..12
//	  publish    = channel message                                      tag 13
//	  undo       = see undo.go                                          tag 16
//	  (none)     =                                                      tag 0
//	compare      = key target:byte result:byte value int:varint
//	               (CompareUnchangedSince: value = span end, int = revision)
//	op           = tag:byte (put | delete | range | mutate | doc | none)
//	  range      = key end limit:varint revision:varint flags:byte(1=keys_only 2=count_only)  tag 3
//
//	result       = version tag:byte id:uvarint revision:varint err body
//	  put        = opt(kv)                                              tag 1
//	  delete     = deleted:varint n:uvarint opt(kv)*n                   tag 2
//	  txn        = succeeded:byte n:uvarint opresult*n                  tag 3
//	  mutate     = err flags:byte(1=written 2=existed) prev value int:varint  tag 5
//	  doc        = err msg flags:byte(1=written) reply                  tag 6
//	  publish    = receivers:varint                                     tag 13
//	  stale      = high:uvarint                                         tag 17
//	  (none)     =                                                      tag 0
//	opresult     = tag:byte (put | delete | range | mutate | doc | none)
//	  range      = n:uvarint opt(kv)*n more:byte count:varint           tag 3
//	kv           = key value create:varint mod:varint version:varint lease:varint
//	               [type:byte expire:varint]   (presence byte 2 instead of 1)
//
// A request or op with no operation set encodes as tag 0 ("none"), which
// decodes fine and which the state machine answers with ErrCodeInvalid; one
// with several set encodes the first of Put, Delete, Txn/Range, Compact.
// Empty byte strings decode as nil. A mutate op outside 1..MutateRename is
// a decoding error, like an unknown tag, and so is a doc op outside
// 1..DocToggle. Mutate (tag 5) and Doc (tag 6) were added without a format
// version bump: older binaries refuse them as unknown tags.
// A put's value type follows its lease only when it is not TypeBytes (flag
// 2), so untyped puts encode as before; older binaries refuse the flag.
// The type byte must be a known type other than TypeBytes.
// A request whose Now is set (> 0) has the high bit of its tag set
// (tagFlagNow) and now after its id; a flagged now must be > 0, so each
// request has one encoding. Requests without Now encode as before the
// field existed, so old log entries decode unchanged; older binaries
// refuse the flagged tags as unknown.

// FormatVersion is the first byte of every encoded request and result.
const FormatVersion byte = 1

// ErrCorrupt is wrapped by every decoding error.
var ErrCorrupt = errors.New("command: corrupt encoding")

// Operation tags. Request, txn op and result tags share numbers where the
// operations correspond.
const (
	tagNone    byte = 0
	tagPut     byte = 1
	tagDelete  byte = 2
	tagTxn     byte = 3 // requests and results
	tagRange   byte = 3 // txn ops and txn op results
	tagCompact byte = 4
	tagMutate  byte = 5 // requests, txn ops, results and txn op results
	tagDoc     byte = 6 // requests, txn ops, results and txn op results
	tagPublish byte = 13

	// tagFlagNow, or-ed into a request's tag, says the proposer's clock
	// (Request.Now) follows the id. Request tags stay below it.
	tagFlagNow byte = 0x80
)

const (
	flagPrevKV    byte = 1 << 0
	flagTyped     byte = 1 << 1 // put: a value type byte follows the lease
	flagKeysOnly  byte = 1 << 0
	flagCountOnly byte = 1 << 1

	flagNX        byte = 1 << 0
	flagXX        byte = 1 << 1
	flagPrevValue byte = 1 << 2
	flagKeepTTL   byte = 1 << 3

	flagWritten byte = 1 << 0
	flagExisted byte = 1 << 1
)

// EncodeRequest appends the encoding of r to dst and returns the extended
// slice. It does not allocate when dst has room.
func EncodeRequest(dst []byte, r *Request) []byte {
	dst = append(dst, FormatVersion)
	switch {
	case r.Put != nil:
		dst = appendRequestHead(dst, tagPut, r)
		dst = appendPut(dst, r.Put)
	case r.Delete != nil:
		dst = appendRequestHead(dst, tagDelete, r)
		dst = appendDelete(dst, r.Delete)
	case r.Txn != nil:
		dst = appendRequestHead(dst, tagTxn, r)
		dst = appendTxn(dst, r.Txn)
	case r.Compact != nil:
		dst = appendRequestHead(dst, tagCompact, r)
		dst = binary.AppendVarint(dst, r.Compact.Revision)
	case r.Mutate != nil:
		dst = appendRequestHead(dst, tagMutate, r)
		dst = appendMutate(dst, r.Mutate)
	case r.Doc != nil:
		dst = appendRequestHead(dst, tagDoc, r)
		dst = appendDoc(dst, r.Doc)
	case r.Publish != nil:
		dst = appendRequestHead(dst, tagPublish, r)
		dst = appendBytes(dst, r.Publish.Channel)
		dst = appendBytes(dst, r.Publish.Message)
	case r.Undo != nil:
		dst = appendRequestHead(dst, tagUndo, r)
		dst = appendUndo(dst, r.Undo)
	default:
		if tag, ok := leaseRequestTag(r); ok {
			dst = appendRequestHead(dst, tag, r)
			return appendLeaseRequest(dst, r)
		}
		dst = appendRequestHead(dst, tagNone, r)
	}
	return dst
}

// appendRequestHead appends a request's tag, ID and, when it has one, the
// proposer's clock (flagging the tag).
func appendRequestHead(dst []byte, tag byte, r *Request) []byte {
	if r.Now > 0 {
		dst = append(dst, tag|tagFlagNow)
		dst = binary.AppendUvarint(dst, r.ID)
		return binary.AppendVarint(dst, r.Now)
	}
	dst = append(dst, tag)
	return binary.AppendUvarint(dst, r.ID)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func appendPut(dst []byte, p *PutRequest) []byte {
	dst = appendBytes(dst, p.Key)
	dst = appendBytes(dst, p.Value)
	var flags byte
	if p.PrevKV {
		flags |= flagPrevKV
	}
	if p.Type != TypeBytes {
		flags |= flagTyped
	}
	dst = append(dst, flags)
	dst = binary.AppendVarint(dst, p.Lease)
	if p.Type != TypeBytes {
		dst = append(dst, byte(p.Type))
	}
	return dst
}

func appendDelete(dst []byte, d *DeleteRequest) []byte {
	dst = appendBytes(dst, d.Key)
	dst = appendBytes(dst, d.End)
	var flags byte
	if d.PrevKV {
		flags |= flagPrevKV
	}
	return append(dst, flags)
}

func appendRange(dst []byte, r *RangeRequest) []byte {
	dst = appendBytes(dst, r.Key)
	dst = appendBytes(dst, r.End)
	dst = binary.AppendVarint(dst, r.Limit)
	dst = binary.AppendVarint(dst, r.Revision)
	var flags byte
	if r.KeysOnly {
		flags |= flagKeysOnly
	}
	if r.CountOnly {
		flags |= flagCountOnly
	}
	return append(dst, flags)
}

func appendMutate(dst []byte, m *MutateRequest) []byte {
	dst = append(dst, byte(m.Op))
	dst = appendBytes(dst, m.Key)
	dst = appendBytes(dst, m.Dest)
	dst = appendBytes(dst, m.Value)
	dst = binary.AppendVarint(dst, m.Int)
	dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(m.Float))
	var flags byte
	if m.NX {
		flags |= flagNX
	}
	if m.XX {
		flags |= flagXX
	}
	if m.PrevValue {
		flags |= flagPrevValue
	}
	if m.KeepTTL {
		flags |= flagKeepTTL
	}
	return append(dst, flags)
}

func appendMutateResult(dst []byte, m *MutateResult) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(m.Err)))
	dst = append(dst, m.Err...)
	var flags byte
	if m.Written {
		flags |= flagWritten
	}
	if m.Existed {
		flags |= flagExisted
	}
	dst = append(dst, flags)
	dst = appendBytes(dst, m.Prev)
	dst = appendBytes(dst, m.Value)
	return binary.AppendVarint(dst, m.Int)
}

func appendTxn(dst []byte, t *TxnRequest) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(t.Compares)))
	for i := range t.Compares {
		c := &t.Compares[i]
		dst = appendBytes(dst, c.Key)
		dst = append(dst, byte(c.Target), byte(c.Result))
		dst = appendBytes(dst, c.Value)
		dst = binary.AppendVarint(dst, c.Int)
	}
	dst = appendTxnOps(dst, t.Success)
	return appendTxnOps(dst, t.Failure)
}

func appendTxnOps(dst []byte, ops []TxnOp) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ops)))
	for i := range ops {
		op := &ops[i]
		switch {
		case op.Put != nil:
			dst = append(dst, tagPut)
			dst = appendPut(dst, op.Put)
		case op.Delete != nil:
			dst = append(dst, tagDelete)
			dst = appendDelete(dst, op.Delete)
		case op.Range != nil:
			dst = append(dst, tagRange)
			dst = appendRange(dst, op.Range)
		case op.Mutate != nil:
			dst = append(dst, tagMutate)
			dst = appendMutate(dst, op.Mutate)
		case op.Doc != nil:
			dst = append(dst, tagDoc)
			dst = appendDoc(dst, op.Doc)
		case op.Expire != nil:
			dst = append(dst, tagExpire)
			dst = appendExpire(dst, op.Expire)
		default:
			dst = append(dst, tagNone)
		}
	}
	return dst
}

// EncodeResult appends the encoding of r to dst and returns the extended
// slice.
func EncodeResult(dst []byte, r *Result) []byte {
	dst = append(dst, FormatVersion)
	var tag byte
	switch {
	case r.Put != nil:
		tag = tagPut
	case r.Delete != nil:
		tag = tagDelete
	case r.Txn != nil:
		tag = tagTxn
	case r.Mutate != nil:
		tag = tagMutate
	case r.Doc != nil:
		tag = tagDoc
	case r.Publish != nil:
		tag = tagPublish
	case r.Undo != nil:
		tag = tagUndo
	case r.Stale != nil:
		tag = tagStale
	default:
		tag = leaseResultTag(r)
	}
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, r.ID)
	dst = binary.AppendVarint(dst, r.Revision)
	dst = binary.AppendUvarint(dst, uint64(len(r.Err)))
	dst = append(dst, r.Err...)
	switch tag {
	case tagPut:
		dst = appendOptKV(dst, r.Put.PrevKV)
	case tagDelete:
		dst = appendDeleteResult(dst, r.Delete)
	case tagTxn:
		dst = appendBool(dst, r.Txn.Succeeded)
		dst = binary.AppendUvarint(dst, uint64(len(r.Txn.Results)))
		for i := range r.Txn.Results {
			dst = appendTxnOpResult(dst, &r.Txn.Results[i])
		}
	case tagMutate:
		dst = appendMutateResult(dst, r.Mutate)
	case tagDoc:
		dst = appendDocResult(dst, r.Doc)
	case tagPublish:
		dst = binary.AppendVarint(dst, r.Publish.Receivers)
	case tagUndo:
		dst = appendUndoResult(dst, r.Undo)
	case tagStale:
		dst = binary.AppendUvarint(dst, r.Stale.High)
	default:
		dst = appendLeaseResult(dst, tag, r)
	}
	return dst
}

func appendOptKV(dst []byte, kv *KeyValue) []byte {
	if kv == nil {
		return append(dst, 0)
	}
	ext := kv.Type != 0 || kv.ExpireAt != 0
	if ext {
		dst = append(dst, 2)
	} else {
		dst = append(dst, 1)
	}
	dst = appendBytes(dst, kv.Key)
	dst = appendBytes(dst, kv.Value)
	dst = binary.AppendVarint(dst, kv.CreateRevision)
	dst = binary.AppendVarint(dst, kv.ModRevision)
	dst = binary.AppendVarint(dst, kv.Version)
	dst = binary.AppendVarint(dst, kv.Lease)
	if ext {
		dst = append(dst, byte(kv.Type))
		dst = binary.AppendVarint(dst, kv.ExpireAt)
	}
	return dst
}

func appendKVs(dst []byte, kvs []*KeyValue) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(kvs)))
	for _, kv := range kvs {
		dst = appendOptKV(dst, kv)
	}
	return dst
}

func appendDeleteResult(dst []byte, d *DeleteResult) []byte {
	dst = binary.AppendVarint(dst, d.Deleted)
	return appendKVs(dst, d.PrevKVs)
}

func appendTxnOpResult(dst []byte, r *TxnOpResult) []byte {
	switch {
	case r.Put != nil:
		dst = append(dst, tagPut)
		return appendOptKV(dst, r.Put.PrevKV)
	case r.Delete != nil:
		dst = append(dst, tagDelete)
		return appendDeleteResult(dst, r.Delete)
	case r.Range != nil:
		dst = append(dst, tagRange)
		dst = appendKVs(dst, r.Range.KVs)
		dst = appendBool(dst, r.Range.More)
		return binary.AppendVarint(dst, r.Range.Count)
	case r.Mutate != nil:
		dst = append(dst, tagMutate)
		return appendMutateResult(dst, r.Mutate)
	case r.Doc != nil:
		dst = append(dst, tagDoc)
		return appendDocResult(dst, r.Doc)
	case r.Expire != nil:
		dst = append(dst, tagExpire)
		return appendExpireResult(dst, r.Expire)
	default:
		return append(dst, tagNone)
	}
}

// decoder reads one encoding. The first error sticks: later reads return
// zero values, so decoding code checks d.err once at the end.
type decoder struct {
	b   []byte // the unread input
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("command: %s: %w", what, ErrCorrupt)
	}
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated " + what)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) flags(what string, known byte) byte {
	f := d.byte(what)
	if f&^known != 0 {
		d.fail("unknown " + what)
	}
	return f
}

func (d *decoder) bool(what string) bool {
	switch d.byte(what) {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("bad " + what)
		return false
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad " + what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad " + what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns a length-prefixed byte string, aliasing the input with its
// capacity clipped (appending to it cannot overwrite what follows). Empty
// strings are nil.
func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("bad " + what + " length")
		return nil
	}
	if n == 0 {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// count reads a number of elements each at least minSize bytes long and
// rejects counts the remaining input cannot hold, so corrupt input never
// causes a huge allocation.
func (d *decoder) count(what string, minSize int) int {
	n := d.uvarint(what)
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)/minSize) {
		d.fail("bad " + what + " count")
		return 0
	}
	return int(n)
}

func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return d.err
}

// header checks the version byte and returns the tag and the decoder over
// a private copy of the rest, so the decoded value never aliases b.
func header(b []byte, kind string) (tag byte, d decoder, err error) {
	if len(b) < 2 {
		return 0, decoder{}, fmt.Errorf("command: truncated %s: %w", kind, ErrCorrupt)
	}
	if b[0] != FormatVersion {
		return 0, decoder{}, fmt.Errorf("command: unknown %s format version %d: %w", kind, b[0], ErrCorrupt)
	}
	rest := b[2:]
	if len(rest) > 0 {
		rest = append(make([]byte, 0, len(rest)), rest...)
	}
	return b[1], decoder{b: rest}, nil
}

// DecodeRequest decodes a request encoded by EncodeRequest. The result does
// not alias b. Errors wrap ErrCorrupt.
func DecodeRequest(b []byte) (*Request, error) {
	tag, d, err := header(b, "request")
	if err != nil {
		return nil, err
	}
	hasNow := tag&tagFlagNow != 0
	tag &^= tagFlagNow
	id := d.uvarint("id")
	var now int64
	if hasNow {
		if now = d.varint("now"); now <= 0 && d.err == nil {
			d.fail("bad now")
		}
	}
	var r *Request
	switch tag {
	case tagPut:
		// One allocation for both structs.
		a := &struct {
			r Request
			p PutRequest
		}{}
		r = &a.r
		d.put(&a.p)
		r.Put = &a.p
	case tagDelete:
		a := &struct {
			r Request
			d DeleteRequest
		}{}
		r = &a.r
		d.delete(&a.d)
		r.Delete = &a.d
	case tagTxn:
		r = &Request{}
		r.Txn = d.txn()
	case tagCompact:
		r = &Request{}
		r.Compact = &CompactRequest{Revision: d.varint("compact revision")}
	case tagMutate:
		a := &struct {
			r Request
			m MutateRequest
		}{}
		r = &a.r
		d.mutate(&a.m)
		r.Mutate = &a.m
	case tagDoc:
		a := &struct {
			r Request
			m DocRequest
		}{}
		r = &a.r
		d.doc(&a.m)
		r.Doc = &a.m
	case tagPublish:
		a := &struct {
			r Request
			p PublishRequest
		}{}
		r = &a.r
		a.p.Channel = d.bytes("publish channel")
		a.p.Message = d.bytes("publish message")
		r.Publish = &a.p
	case tagUndo:
		a := &struct {
			r Request
			u UndoRequest
		}{}
		r = &a.r
		d.undo(&a.u)
		r.Undo = &a.u
	case tagNone:
		r = &Request{}
	case tagLeaseGrant, tagLeaseRevoke, tagLeaseKeepAlive, tagExpire, tagLock, tagFence:
		r = &Request{}
		d.leaseRequest(tag, r)
	default:
		return nil, fmt.Errorf("command: unknown request tag %d: %w", tag, ErrCorrupt)
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	r.ID, r.Now = id, now
	return r, nil
}

func (d *decoder) put(p *PutRequest) {
	p.Key = d.bytes("put key")
	p.Value = d.bytes("put value")
	flags := d.flags("put flags", flagPrevKV|flagTyped)
	p.PrevKV = flags&flagPrevKV != 0
	p.Lease = d.varint("put lease")
	if flags&flagTyped != 0 {
		p.Type = ValueType(d.byte("put type"))
		if p.Type == TypeBytes || p.Type > TypeDocument {
			d.fail("bad put type")
		}
	}
}

func (d *decoder) delete(p *DeleteRequest) {
	p.Key = d.bytes("delete key")
	p.End = d.bytes("delete end")
	p.PrevKV = d.flags("delete flags", flagPrevKV)&flagPrevKV != 0
}

func (d *decoder) rangeReq(p *RangeRequest) {
	p.Key = d.bytes("range key")
	p.End = d.bytes("range end")
	p.Limit = d.varint("range limit")
	p.Revision = d.varint("range revision")
	f := d.flags("range flags", flagKeysOnly|flagCountOnly)
	p.KeysOnly = f&flagKeysOnly != 0
	p.CountOnly = f&flagCountOnly != 0
}

func (d *decoder) mutate(m *MutateRequest) {
	m.Op = MutateOp(d.byte("mutate op"))
	if d.err == nil && (m.Op == 0 || m.Op > maxMutateOp) {
		d.fail(fmt.Sprintf("unknown mutate op %d", m.Op))
	}
	m.Key = d.bytes("mutate key")
	m.Dest = d.bytes("mutate dest")
	m.Value = d.bytes("mutate value")
	m.Int = d.varint("mutate int")
	m.Float = math.Float64frombits(d.uint64("mutate float"))
	f := d.flags("mutate flags", flagNX|flagXX|flagPrevValue|flagKeepTTL)
	m.NX = f&flagNX != 0
	m.XX = f&flagXX != 0
	m.PrevValue = f&flagPrevValue != 0
	m.KeepTTL = f&flagKeepTTL != 0
}

func (d *decoder) mutateResult() *MutateResult {
	m := &MutateResult{}
	if e := d.bytes("mutate error"); len(e) > 0 {
		m.Err = string(e)
	}
	f := d.flags("mutate result flags", flagWritten|flagExisted)
	m.Written = f&flagWritten != 0
	m.Existed = f&flagExisted != 0
	m.Prev = d.bytes("mutate prev")
	m.Value = d.bytes("mutate value")
	m.Int = d.varint("mutate int")
	return m
}

// uint64 reads 8 bytes, big endian.
func (d *decoder) uint64(what string) uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail("truncated " + what)
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// Minimum encoded sizes, used to bound counts.
const (
	minCompareSize = 5 // key len, target, result, value len, int
	minOpSize      = 1 // tag
	minKVSize      = 1 // presence byte
)

func (d *decoder) txn() *TxnRequest {
	t := &TxnRequest{}
	if n := d.count("compares", minCompareSize); n > 0 {
		t.Compares = make([]Compare, n)
		for i := range t.Compares {
			c := &t.Compares[i]
			c.Key = d.bytes("compare key")
			c.Target = CompareTarget(d.byte("compare target"))
			c.Result = CompareResult(d.byte("compare result"))
			c.Value = d.bytes("compare value")
			c.Int = d.varint("compare int")
		}
	}
	t.Success = d.txnOps()
	t.Failure = d.txnOps()
	return t
}

func (d *decoder) txnOps() []TxnOp {
	n := d.count("txn ops", minOpSize)
	if n == 0 {
		return nil
	}
	ops := make([]TxnOp, n)
	for i := range ops {
		switch tag := d.byte("txn op tag"); tag {
		case tagPut:
			ops[i].Put = &PutRequest{}
			d.put(ops[i].Put)
		case tagDelete:
			ops[i].Delete = &DeleteRequest{}
			d.delete(ops[i].Delete)
		case tagRange:
			ops[i].Range = &RangeRequest{}
			d.rangeReq(ops[i].Range)
		case tagMutate:
			ops[i].Mutate = &MutateRequest{}
			d.mutate(ops[i].Mutate)
		case tagDoc:
			ops[i].Doc = &DocRequest{}
			d.doc(ops[i].Doc)
		case tagExpire:
			ops[i].Expire = &ExpireRequest{}
			d.expire(ops[i].Expire)
		case tagNone:
		default:
			d.fail(fmt.Sprintf("unknown txn op tag %d", tag))
		}
		if d.err != nil {
			return nil
		}
	}
	return ops
}

// DecodeResult decodes a result encoded by EncodeResult. The result does
// not alias b. Errors wrap ErrCorrupt.
func DecodeResult(b []byte) (*Result, error) {
	tag, d, err := header(b, "result")
	if err != nil {
		return nil, err
	}
	r := &Result{}
	r.ID = d.uvarint("id")
	r.Revision = d.varint("revision")
	if e := d.bytes("error"); len(e) > 0 {
		r.Err = string(e)
	}
	switch tag {
	case tagPut:
		r.Put = &PutResult{PrevKV: d.optKV()}
	case tagDelete:
		r.Delete = d.deleteResult()
	case tagTxn:
		t := &TxnResult{Succeeded: d.bool("txn succeeded")}
		if n := d.count("txn results", minOpSize); n > 0 {
			t.Results = make([]TxnOpResult, n)
			for i := range t.Results {
				d.txnOpResult(&t.Results[i])
				if d.err != nil {
					break
				}
			}
		}
		r.Txn = t
	case tagMutate:
		r.Mutate = d.mutateResult()
	case tagDoc:
		r.Doc = d.docResult()
	case tagLeaseResult, tagExpire, tagLock:
		d.leaseResult(tag, r)
	case tagPublish:
		r.Publish = &PublishResult{Receivers: d.varint("publish receivers")}
	case tagUndo:
		r.Undo = d.undoResult()
	case tagStale:
		r.Stale = &StaleResult{High: d.uvarint("stale high")}
	case tagNone:
	default:
		return nil, fmt.Errorf("command: unknown result tag %d: %w", tag, ErrCorrupt)
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return r, nil
}

func (d *decoder) optKV() *KeyValue {
	presence := d.byte("kv presence")
	if presence == 0 || d.err != nil {
		return nil
	}
	if presence > 2 {
		d.fail("bad kv presence byte")
		return nil
	}
	kv := &KeyValue{
		Key:            d.bytes("kv key"),
		Value:          d.bytes("kv value"),
		CreateRevision: d.varint("kv create revision"),
		ModRevision:    d.varint("kv mod revision"),
		Version:        d.varint("kv version"),
		Lease:          d.varint("kv lease"),
	}
	if presence == 2 {
		kv.Type = ValueType(d.byte("kv type"))
		kv.ExpireAt = d.varint("kv expire")
	}
	return kv
}

func (d *decoder) kvs() []*KeyValue {
	n := d.count("kvs", minKVSize)
	if n == 0 {
		return nil
	}
	kvs := make([]*KeyValue, n)
	for i := range kvs {
		kvs[i] = d.optKV()
		if d.err != nil {
			return nil
		}
	}
	return kvs
}

func (d *decoder) deleteResult() *DeleteResult {
	return &DeleteResult{Deleted: d.varint("deleted"), PrevKVs: d.kvs()}
}

func (d *decoder) txnOpResult(r *TxnOpResult) {
	switch tag := d.byte("txn result tag"); tag {
	case tagPut:
		r.Put = &PutResult{PrevKV: d.optKV()}
	case tagDelete:
		r.Delete = d.deleteResult()
	case tagRange:
		r.Range = &RangeResult{KVs: d.kvs(), More: d.bool("range more"), Count: d.varint("range count")}
	case tagMutate:
		r.Mutate = d.mutateResult()
	case tagDoc:
		r.Doc = d.docResult()
	case tagExpire:
		r.Expire = d.expireResult()
	case tagNone:
	default:
		d.fail(fmt.Sprintf("unknown txn result tag %d", tag))
	}
}
