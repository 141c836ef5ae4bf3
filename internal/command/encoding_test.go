package command

import (
	"bytes"
	"errors"
	"maps"
	"math"
	"reflect"
	"testing"
)

func requestCases() map[string]*Request {
	m := map[string]*Request{
		"empty":      {ID: 7},
		"put":        {ID: 1, Put: &PutRequest{Key: []byte("k"), Value: []byte("v")}},
		"put-now":    {ID: 1, Now: 1798761600123, Put: &PutRequest{Key: []byte("k"), Value: []byte("v")}},
		"empty-now":  {ID: 7, Now: 1},
		"mutate-now": {ID: 9, Now: 1 << 62, Mutate: &MutateRequest{Op: MutateIncrBy, Key: []byte("n"), Int: 1}},
		"put-all":    {ID: 1<<63 | 5, Put: &PutRequest{Key: []byte("k\x00\xff"), Value: []byte("v"), PrevKV: true, Lease: -3}},
		"put-doc":    {ID: 7, Put: &PutRequest{Key: []byte("d"), Value: []byte(`[1,2]`), Type: TypeDocument}},
		"put-nil-value": {
			ID: 2, Put: &PutRequest{Key: []byte("k")},
		},
		"delete":        {ID: 3, Delete: &DeleteRequest{Key: []byte("a")}},
		"delete-range":  {ID: 4, Delete: &DeleteRequest{Key: []byte("a"), End: []byte("\x00"), PrevKV: true}},
		"compact":       {ID: 5, Compact: &CompactRequest{Revision: 1 << 40}},
		"compact-neg":   {ID: 5, Compact: &CompactRequest{Revision: -1}},
		"txn-empty":     {ID: 6, Txn: &TxnRequest{}},
		"mutate-set":    {ID: 9, Mutate: &MutateRequest{Op: MutateSet, Key: []byte("k"), Value: []byte("v"), NX: true, PrevValue: true}},
		"mutate-xx":     {ID: 9, Mutate: &MutateRequest{Op: MutateSet, Key: []byte("k"), XX: true}},
		"mutate-incr":   {ID: 10, Mutate: &MutateRequest{Op: MutateIncrBy, Key: []byte("n"), Int: -1 << 63}},
		"mutate-float":  {ID: 11, Mutate: &MutateRequest{Op: MutateIncrByFloat, Key: []byte("f"), Float: -0.1}},
		"mutate-range":  {ID: 12, Mutate: &MutateRequest{Op: MutateSetRange, Key: []byte("s"), Int: 5, Value: []byte("\x00ab")}},
		"publish":       {ID: 15, Publish: &PublishRequest{Channel: []byte("news"), Message: []byte("m\x00")}},
		"publish-empty": {ID: 16, Publish: &PublishRequest{}},
		"undo":          {ID: 17, Undo: &UndoRequest{}},
		"redo":          {ID: 18, Undo: &UndoRequest{Redo: true}},
		"mutate-rename": {ID: 13, Mutate: &MutateRequest{Op: MutateRename, Key: []byte("a"), Dest: []byte("b"), NX: true}},
		"mutate-all-ops": {ID: 14, Txn: &TxnRequest{Success: []TxnOp{
			{Mutate: &MutateRequest{Op: MutateSet, Key: []byte("a"), Value: []byte("1")}},
			{Mutate: &MutateRequest{Op: MutateDelete, Key: []byte("a"), PrevValue: true}},
			{Mutate: &MutateRequest{Op: MutateIncrBy, Key: []byte("a"), Int: 3}},
			{Mutate: &MutateRequest{Op: MutateIncrByFloat, Key: []byte("a"), Float: 1e300}},
			{Mutate: &MutateRequest{Op: MutateAppend, Key: []byte("a"), Value: []byte("x")}},
			{Mutate: &MutateRequest{Op: MutateSetRange, Key: []byte("a"), Int: 1 << 20, Value: []byte("y")}},
			{Mutate: &MutateRequest{Op: MutateRename, Key: []byte("a"), Dest: []byte("b")}},
			{Put: &PutRequest{Key: []byte("c"), Value: []byte("2")}},
		}}},
		"doc-set":    {ID: 15, Doc: &DocRequest{Op: DocSet, Key: []byte("d"), Path: []byte("$.a"), Values: [][]byte{[]byte(`{"x":1}`)}, NX: true}},
		"doc-insert": {ID: 16, Doc: &DocRequest{Op: DocArrInsert, Key: []byte("d"), Path: []byte("/a"), Values: [][]byte{[]byte("1"), []byte(`"s"`)}, Index: -3, XX: true}},
		"doc-trim":   {ID: 17, Doc: &DocRequest{Op: DocArrTrim, Key: []byte("d"), Path: []byte("['a']"), Index: 1, Stop: -1 << 63}},
		"doc-txn": {ID: 18, Txn: &TxnRequest{Success: []TxnOp{
			{Doc: &DocRequest{Op: DocNumIncrBy, Key: []byte("d"), Path: []byte("$.n"), Values: [][]byte{[]byte("1")}}},
			{Doc: &DocRequest{Op: DocToggle, Key: []byte("d"), Path: []byte(".t")}},
			{Range: &RangeRequest{Key: []byte("d")}},
		}}},
		"txn": {ID: 8, Txn: &TxnRequest{
			Compares: []Compare{
				{Key: []byte("a"), Target: CompareValue, Result: CompareEqual, Value: []byte("x")},
				{Key: []byte("b"), Target: CompareVersion, Result: CompareGreater, Int: 3},
				{Key: []byte("c"), Target: CompareCreateRevision, Result: CompareLess, Int: -9},
				{Key: []byte("d"), Target: CompareModRevision, Result: CompareNotEqual, Int: 1 << 50},
				{Key: []byte("e"), Target: CompareExists, Result: CompareEqual, Int: 1},
				{Key: []byte("f"), Target: 200, Result: 100, Value: []byte("junk"), Int: 4},
				{Key: []byte("g"), Target: CompareUnchangedSince, Result: CompareEqual, Value: []byte("h"), Int: 77},
				{Key: []byte("\x00"), Target: CompareUnchangedSince, Result: CompareEqual, Value: []byte{0}, Int: 1 << 40},
				{Key: []byte("k"), Target: CompareUnchangedSince, Result: CompareEqual},
			},
			Success: []TxnOp{
				{Put: &PutRequest{Key: []byte("a"), Value: []byte("1"), PrevKV: true, Lease: 9}},
				{Delete: &DeleteRequest{Key: []byte("b"), End: []byte("c")}},
				{Range: &RangeRequest{Key: []byte("a"), End: []byte("z"), Limit: 10, Revision: 4, KeysOnly: true}},
				{Range: &RangeRequest{Key: []byte("a"), CountOnly: true}},
				{},
			},
			Failure: []TxnOp{
				{Range: &RangeRequest{Key: []byte("q"), KeysOnly: true, CountOnly: true}},
			},
		}},
	}
	maps.Copy(m, leaseRequestCases())
	return m
}

func resultCases() map[string]*Result {
	kv := func(k, v string, c, m, ver, l int64) *KeyValue {
		kv := &KeyValue{CreateRevision: c, ModRevision: m, Version: ver, Lease: l}
		if k != "" {
			kv.Key = []byte(k)
		}
		if v != "" {
			kv.Value = []byte(v)
		}
		return kv
	}
	m := map[string]*Result{
		"empty":         {ID: 1, Revision: 5},
		"error":         {ID: 2, Revision: 5, Err: ErrCodeCompacted},
		"put":           {ID: 3, Revision: 6, Put: &PutResult{}},
		"publish":       {ID: 3, Revision: 6, Publish: &PublishResult{Receivers: 3}},
		"publish-zero":  {ID: 3, Revision: 6, Publish: &PublishResult{}},
		"stale":         {ID: 1<<40 | 3, Revision: 6, Err: ErrCodeStaleRequest, Stale: &StaleResult{High: 1<<40 - 1}},
		"duplicate":     {ID: 1<<40 | 3, Revision: 6, Err: ErrCodeDuplicateRequest},
		"undo":          {ID: 4, Revision: 9, Undo: &UndoResult{Target: 7, Keys: 2}},
		"undo-conflict": {ID: 4, Revision: 9, Err: ErrCodeUndoConflict, Undo: &UndoResult{Target: 7, ConflictKey: []byte("k")}},
		"put-prev":      {ID: 3, Revision: 6, Put: &PutResult{PrevKV: kv("k", "v", 2, 4, 3, 0)}},
		"put-prev-ext":  {ID: 3, Revision: 6, Put: &PutResult{PrevKV: &KeyValue{Key: []byte("d"), Value: []byte(`{"a":1}`), CreateRevision: 1, ModRevision: 2, Version: 2, Type: TypeDocument, ExpireAt: 1798761600000}}},
		"delete-none":   {ID: 4, Revision: 6, Delete: &DeleteResult{}},
		"delete":        {ID: 4, Revision: 7, Delete: &DeleteResult{Deleted: 2, PrevKVs: []*KeyValue{kv("a", "", 1, 1, 1, 7), nil}}},
		"txn-empty":     {ID: 5, Txn: &TxnResult{}},
		"mutate-empty":  {ID: 6, Revision: 3, Mutate: &MutateResult{}},
		"mutate-err":    {ID: 6, Revision: 3, Err: ErrCodeNotInteger, Mutate: &MutateResult{Err: ErrCodeNotInteger, Existed: true}},
		"mutate":        {ID: 7, Revision: 4, Mutate: &MutateResult{Written: true, Existed: true, Prev: []byte("old"), Value: []byte("1.5"), Int: -7}},
		"txn-mutate": {ID: 8, Revision: 4, Txn: &TxnResult{Succeeded: true, Results: []TxnOpResult{
			{Mutate: &MutateResult{Written: true, Int: 1}},
			{Mutate: &MutateResult{Err: ErrCodeOverflow}},
			{Put: &PutResult{}},
		}}},
		"txn-negative": {ID: 5, Revision: -1, Txn: &TxnResult{Succeeded: false}},
		"doc":          {ID: 9, Revision: 4, Doc: &DocResult{Written: true, Reply: []byte{1, 2}}},
		"doc-err":      {ID: 9, Revision: 4, Err: "doc_no_path", Doc: &DocResult{Err: "doc_no_path", Msg: "Path '.a' does not exist"}},
		"txn-doc": {ID: 10, Revision: 5, Txn: &TxnResult{Succeeded: true, Results: []TxnOpResult{
			{Doc: &DocResult{Written: true, Reply: []byte{0}}},
			{Doc: &DocResult{Err: ErrCodeWrongType, Msg: "not a document"}},
		}}},
		"txn": {ID: 1<<64 - 1, Revision: 1 << 62, Txn: &TxnResult{Succeeded: true, Results: []TxnOpResult{
			{Put: &PutResult{PrevKV: kv("a", "b", 1, 2, 2, 0)}},
			{Put: &PutResult{}},
			{Delete: &DeleteResult{Deleted: 1}},
			{Range: &RangeResult{KVs: []*KeyValue{kv("a", "1", 1, 1, 1, 0), kv("b", "", 2, 3, 2, 0)}, More: true, Count: 10}},
			{Range: &RangeResult{Count: 3}},
			{},
		}}},
	}
	maps.Copy(m, leaseResultCases())
	return m
}

func TestRequestRoundTrip(t *testing.T) {
	for name, r := range requestCases() {
		t.Run(name, func(t *testing.T) {
			b := EncodeRequest(nil, r)
			if b[0] != FormatVersion {
				t.Fatalf("version byte %d", b[0])
			}
			got, err := DecodeRequest(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, r) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
			}
			// Decoding copies: scribbling over the input changes nothing.
			for i := range b {
				b[i] = 0xee
			}
			if !reflect.DeepEqual(got, r) {
				t.Fatal("decoded request aliases its input")
			}
		})
	}
}

func TestResultRoundTrip(t *testing.T) {
	for name, r := range resultCases() {
		t.Run(name, func(t *testing.T) {
			b := EncodeResult(nil, r)
			got, err := DecodeResult(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, r) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
			}
		})
	}
}

// TestDecodeStrict checks that every strict prefix and every extension of a
// valid encoding is rejected with ErrCorrupt.
func TestDecodeStrict(t *testing.T) {
	for name, r := range requestCases() {
		b := EncodeRequest(nil, r)
		for i := 0; i < len(b); i++ {
			if _, err := DecodeRequest(b[:i]); !errors.Is(err, ErrCorrupt) {
				t.Errorf("request %s truncated to %d: err %v", name, i, err)
			}
		}
		if _, err := DecodeRequest(append(b, 0)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("request %s with a trailing byte: err %v", name, err)
		}
	}
	for name, r := range resultCases() {
		b := EncodeResult(nil, r)
		for i := 0; i < len(b); i++ {
			if _, err := DecodeResult(b[:i]); !errors.Is(err, ErrCorrupt) {
				t.Errorf("result %s truncated to %d: err %v", name, i, err)
			}
		}
		if _, err := DecodeResult(append(b, 0)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("result %s with a trailing byte: err %v", name, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version 0", []byte{0, tagPut, 1}},
		{"version 2", []byte{2, tagPut, 1}},
		{"unknown tag", []byte{1, 9, 1}},
		{"bad varint", []byte{1, tagCompact, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"absurd key length", []byte{1, tagPut, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"absurd compare count", []byte{1, tagTxn, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{"unknown put flag", []byte{1, tagPut, 1, 1, 'k', 0, 4, 0}},
		{"typed put without type", []byte{1, tagPut, 1, 1, 'k', 0, 2, 0}},
		{"typed put of type bytes", []byte{1, tagPut, 1, 1, 'k', 0, 2, 0, 0}},
		{"typed put of unknown type", []byte{1, tagPut, 1, 1, 'k', 0, 2, 0, 9}},
		{"unknown txn op tag", []byte{1, tagTxn, 1, 0, 1, 7, 0}},
		{"mutate op 0", []byte{1, tagMutate, 1, 0, 1, 'k', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"unknown mutate op", []byte{1, tagMutate, 1, byte(maxMutateOp) + 1, 1, 'k', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"unknown mutate flag", []byte{1, tagMutate, 1, byte(MutateSet), 1, 'k', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16}},
		{"doc op 0", []byte{1, tagDoc, 1, 0, 1, 'k', 0, 0, 0, 0, 0}},
		{"unknown doc op", []byte{1, tagDoc, 1, byte(maxDocOp) + 1, 1, 'k', 0, 0, 0, 0, 0}},
		{"unknown doc flag", []byte{1, tagDoc, 1, byte(DocSet), 1, 'k', 0, 0, 0, 0, 4}},
		{"doc value count", []byte{1, tagDoc, 1, byte(DocSet), 1, 'k', 0, 9, 0, 0, 0}},
		{"now 0", []byte{1, tagPut | tagFlagNow, 1, 0, 1, 'k', 0, 0, 0}},
		{"negative now", []byte{1, tagPut | tagFlagNow, 1, 1, 1, 'k', 0, 0, 0}},
		{"truncated now", []byte{1, tagNone | tagFlagNow, 1}},
		{"unknown tag with now", []byte{1, 9 | tagFlagNow, 1, 2}},
		{"unknown txn mutate op", []byte{1, tagTxn, 1, 0, 1, tagMutate, 0, 1, 'k', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
	} {
		_, err := DecodeRequest(tc.b)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err %v, want ErrCorrupt", tc.name, err)
		}
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"unknown tag", []byte{1, 9, 1, 0, 0}},
		{"bad presence", []byte{1, tagPut, 1, 0, 0, 2}},
		{"bad bool", []byte{1, tagTxn, 1, 0, 0, 3, 0}},
		{"absurd kv count", []byte{1, tagDelete, 1, 0, 0, 0, 0x80, 0x80, 0x04}},
		{"unknown doc result flag", []byte{1, tagDoc, 1, 0, 0, 0, 0, 2, 0}},
		{"unknown mutate result flag", []byte{1, tagMutate, 1, 0, 0, 0, 4, 0, 0, 0}},
	} {
		_, err := DecodeResult(tc.b)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("result %s: err %v, want ErrCorrupt", tc.name, err)
		}
	}
}

// TestRequestNowCompat checks that a request without Now encodes exactly as
// before the field existed (old log entries decode to the same request and
// replay identically) and that Now only flags the tag and follows the id.
func TestRequestNowCompat(t *testing.T) {
	old := []byte{1, tagPut, 42, 1, 'k', 1, 'v', 0, 0} // format 1 put, written before Now
	r := &Request{ID: 42, Put: &PutRequest{Key: []byte("k"), Value: []byte("v")}}
	if got := EncodeRequest(nil, r); !bytes.Equal(got, old) {
		t.Fatalf("encoding without Now changed: %v, want %v", got, old)
	}
	got, err := DecodeRequest(old)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("old encoding: %+v %v", got, err)
	}
	r.Now = 300 // varint 300 = 0xd8 0x04
	want := []byte{1, tagPut | tagFlagNow, 42, 0xd8, 0x04, 1, 'k', 1, 'v', 0, 0}
	if b := EncodeRequest(nil, r); !bytes.Equal(b, want) {
		t.Fatalf("encoding with Now: %v, want %v", b, want)
	}
	r.Now = -5 // not a clock: not encoded
	if b := EncodeRequest(nil, r); !bytes.Equal(b, old) {
		t.Fatalf("negative Now encoded: %v", b)
	}
}

// checkRequestRoundTrip asserts that a decodable input re-encodes to
// something that decodes to the same request (encodings need not be
// canonical: varints may be overlong).
func checkRequestRoundTrip(t *testing.T, b []byte) {
	r, err := DecodeRequest(b)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error does not wrap ErrCorrupt: %v", err)
		}
		return
	}
	b2 := EncodeRequest(nil, r)
	r2, err := DecodeRequest(b2)
	if err != nil {
		t.Fatalf("re-encoded request does not decode: %v", err)
	}
	// A NaN float (MutateRequest.Float) is never DeepEqual to itself; its
	// bits are checked by the stable re-encoding below.
	if !reflect.DeepEqual(r, r2) && !hasNaN(r) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", r2, r)
	}
	if b3 := EncodeRequest(nil, r2); !bytes.Equal(b2, b3) {
		t.Fatal("encoding is not stable")
	}
}

func hasNaN(r *Request) bool {
	if r.Mutate != nil && math.IsNaN(r.Mutate.Float) {
		return true
	}
	var branches [][]TxnOp
	if r.Txn != nil {
		branches = append(branches, r.Txn.Success, r.Txn.Failure)
	}
	if r.Fence != nil { // a fenced write carries txn ops too
		branches = append(branches, r.Fence.Ops)
	}
	for _, ops := range branches {
		for _, op := range ops {
			if op.Mutate != nil && math.IsNaN(op.Mutate.Float) {
				return true
			}
		}
	}
	return false
}

func FuzzDecodeRequest(f *testing.F) {
	for _, r := range requestCases() {
		f.Add(EncodeRequest(nil, r))
	}
	f.Fuzz(checkRequestRoundTrip)
}

func FuzzDecodeResult(f *testing.F) {
	for _, r := range resultCases() {
		f.Add(EncodeResult(nil, r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResult(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		r2, err := DecodeResult(EncodeResult(nil, r))
		if err != nil {
			t.Fatalf("re-encoded result does not decode: %v", err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", r2, r)
		}
	})
}

func TestEncodePutAllocs(t *testing.T) {
	r := &Request{ID: 42, Put: &PutRequest{Key: []byte("some/key"), Value: make([]byte, 100)}}
	dst := EncodeRequest(nil, r)
	if n := testing.AllocsPerRun(100, func() { dst = EncodeRequest(dst[:0], r) }); n != 0 {
		t.Fatalf("EncodeRequest into a reused buffer: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = DecodeRequest(dst) }); n > 2 {
		t.Fatalf("DecodeRequest of a put: %v allocs, want <= 2", n)
	}
}

func BenchmarkEncodePut(b *testing.B) {
	r := &Request{ID: 42, Put: &PutRequest{Key: []byte("some/key"), Value: make([]byte, 100)}}
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		dst = EncodeRequest(dst[:0], r)
	}
	b.SetBytes(int64(len(dst)))
}

func BenchmarkDecodePut(b *testing.B) {
	enc := EncodeRequest(nil, &Request{ID: 42, Put: &PutRequest{Key: []byte("some/key"), Value: make([]byte, 100)}})
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := DecodeRequest(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeDecodeResultPut(b *testing.B) {
	r := &Result{ID: 42, Revision: 100, Put: &PutResult{}}
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		dst = EncodeResult(dst[:0], r)
		if _, err := DecodeResult(dst); err != nil {
			b.Fatal(err)
		}
	}
}
