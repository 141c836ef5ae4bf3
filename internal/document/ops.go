package document

import (
	"math"
)

// OpKind is a document operation. The numbering is part of the wire format
// (command.DocOp uses the same numbers).
type OpKind uint8

const (
	// Writes: proposed through raft, applied by the state machine.
	OpSet       OpKind = iota + 1 // Values[0] at Path; NX only if absent, XX only if present
	OpDel                         // delete what Path selects (the root: the whole document)
	OpArrAppend                   // append Values to each array
	OpArrInsert                   // insert Values before Index
	OpArrPop                      // remove and return the element at Index (clamped; -1 = last)
	OpArrTrim                     // keep elements Index..Stop (inclusive, as LTRIM)
	OpNumIncrBy                   // add the number Values[0]
	OpNumMultBy                   // multiply by the number Values[0]
	OpStrAppend                   // append the string Values[0]
	OpMerge                       // RFC 7386 merge patch Values[0]
	OpClear                       // empty containers, zero numbers
	OpToggle                      // negate booleans

	// Reads: evaluated at the edge on a read of the stored document.
	OpGet      // Paths (or Path) with Format
	OpType     // type names
	OpArrLen   // array lengths
	OpArrIndex // first index of Values[0] in [Index, Stop)
	OpStrLen   // string lengths in bytes
	OpObjKeys  // object keys
	OpObjLen   // object sizes
	OpResp     // the value as RESP (JSON.RESP)

	MaxOp = OpResp
)

// IsWrite reports whether the op changes the document.
func (k OpKind) IsWrite() bool { return k >= OpSet && k <= OpToggle }

// Op is one operation.
type Op struct {
	Kind   OpKind
	Path   *Path
	Paths  []*Path // OpGet with several paths
	Values []*Value
	Index  int64
	Stop   int64
	NX, XX bool
	Format Format // OpGet
}

// Apply applies op to doc (nil: the key does not exist) and returns the new
// document (nil: delete the key), the reply, and whether anything changed.
// Apply modifies doc in place; on error the caller must discard doc. It is
// deterministic and does no I/O.
//
// A bug that panics in an operation becomes a CodeInternal error instead
// of a crash: Apply runs inside every node's apply loop, where a panic on
// one client's input would stop the whole cluster. The recovery is as
// deterministic as the panic, so every node gets the same result.
func Apply(doc *Value, op *Op) (nd *Value, r Reply, changed bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			nd, r, changed = doc, replyNil, false
			err = errorf(CodeInternal, "internal error applying op %d: %v", op.Kind, p)
		}
	}()
	return apply(doc, op)
}

func apply(doc *Value, op *Op) (*Value, Reply, bool, error) {
	if op.Path == nil && op.Kind != OpGet {
		return doc, replyNil, false, errorf(CodeBadRequest, "no path")
	}
	if doc == nil && op.Kind.IsWrite() && op.Kind != OpSet && op.Kind != OpMerge && op.Kind != OpDel {
		return nil, replyNil, false, errorf(CodeNoSuchKey, "could not perform this operation on a key that doesn't exist")
	}
	if n := needValues(op.Kind); len(op.Values) < n || (n == 1 && op.Kind != OpArrAppend && op.Kind != OpArrInsert && len(op.Values) != 1) {
		return doc, replyNil, false, errorf(CodeBadRequest, "wrong number of values")
	}
	if op.Kind == OpStrAppend && op.Values[0].kind != String {
		return doc, replyNil, false, errorf(CodeBadRequest, "the value to append must be a JSON string")
	}
	if (op.Kind == OpNumIncrBy || op.Kind == OpNumMultBy) && !isNumber(op.Values[0]) {
		return doc, replyNil, false, errorf(CodeBadRequest, "the operand must be a JSON number")
	}
	switch op.Kind {
	case OpSet:
		return set(doc, op)
	case OpDel:
		return del(doc, op)
	case OpMerge:
		return merge(doc, op)
	case OpGet:
		r, err := get(doc, op)
		return doc, r, false, err
	}
	if doc == nil {
		return nil, replyNil, false, nil // reads of a missing key
	}
	return perMatch(doc, op)
}

func needValues(k OpKind) int {
	switch k {
	case OpSet, OpArrAppend, OpArrInsert, OpNumIncrBy, OpNumMultBy, OpStrAppend, OpMerge, OpArrIndex:
		return 1
	}
	return 0
}

func noPath(p *Path) *Error {
	return errorf(CodeNoPath, "Path '%s' does not exist", p.Text)
}

// quietMiss reports whether a write whose path matches nothing replies
// nil (or an empty array) instead of failing: only for a JSONPath that
// could have matched several locations (a wildcard, slice, union, filter
// or recursive descent). A definite path (legacy, Python, JSON Pointer, or
// a JSONPath such as $.a.b[0]) names one location, so a write there that
// finds nothing is doc_no_path. RedisJSON replies nil/[] for every
// JSONPath; this is a deliberate difference (docs/DOCUMENTS.md).
func quietMiss(p *Path) bool { return p.Multi && !p.definite() }

func wrongType(want string, got *Value) *Error {
	return errorf(CodeWrongType, "wrong type of path value - expected %s but found %s", want, got.kind.TypeName())
}

// setAt replaces the value at l; it returns the new root. Matches can
// overlap (`$..[0]` selects an element and elements inside it), and a
// write at an outer match may have emptied or replaced l's parent: a
// location whose slot no longer holds l.v is left alone (found by
// FuzzApply: an index past the end of an emptied array).
func setAt(doc *Value, l loc, nv *Value) *Value {
	switch {
	case l.parent == nil:
		return nv
	case l.parent.kind == Array:
		if l.idx >= 0 && l.idx < len(l.parent.arr) && l.parent.arr[l.idx] == l.v {
			l.parent.arr[l.idx] = nv
		}
	case l.parent.kind == Object:
		if l.parent.Member(l.key) == l.v {
			l.parent.SetMember(l.key, nv)
		}
	}
	return doc
}

// create adds val (built per parent by mk) at a path that does not exist:
// possible when the last segment names a member of an existing object. It
// returns the number of members created.
func create(doc *Value, p *Path, mk func() *Value) (int, error) {
	n := len(p.Segs)
	last := p.Segs[n-1]
	key := last.Key
	switch {
	case last.Descend:
		return 0, nil
	case last.Kind == SegIndex && p.Pointer:
		key = formatInt(last.Index)
	}
	parents, err := matchFrom(doc, p.Segs[:n-1], p.Pointer, p.Text)
	if err != nil {
		return 0, err
	}
	if last.Kind != SegKey && !(last.Kind == SegIndex && p.Pointer) {
		if last.Kind == SegIndex && len(parents) > 0 && parents[0].v.kind == Array {
			return 0, errorf(CodeRange, "array index out of range")
		}
		return 0, nil
	}
	created := 0
	for _, pl := range parents {
		if pl.v.kind == Object {
			pl.v.SetMember(key, mk())
			created++
		}
	}
	return created, nil
}

func set(doc *Value, op *Op) (*Value, Reply, bool, error) {
	p, val := op.Path, op.Values[0]
	if doc == nil {
		if !p.IsRoot() {
			return nil, replyNil, false, errorf(CodeNewAtRoot, "new objects must be created at the root")
		}
		if op.XX {
			return nil, replyNil, false, nil
		}
		return val.Clone(), replyOK, true, nil
	}
	locs, err := p.match(doc)
	if err != nil {
		return doc, replyNil, false, err
	}
	if len(locs) > 0 {
		if op.NX {
			return doc, replyNil, false, nil
		}
		for _, l := range locs {
			doc = setAt(doc, l, val.Clone())
		}
		return doc, replyOK, true, nil
	}
	if op.XX {
		return doc, replyNil, false, nil
	}
	n, err := create(doc, p, val.Clone)
	if err != nil {
		return doc, replyNil, false, err
	}
	if n == 0 {
		if quietMiss(p) {
			return doc, replyNil, false, nil
		}
		return doc, replyNil, false, noPath(p)
	}
	return doc, replyOK, true, nil
}

func del(doc *Value, op *Op) (*Value, Reply, bool, error) {
	if doc == nil {
		return nil, intReply(0), false, nil
	}
	if op.Path.IsRoot() {
		return nil, intReply(1), true, nil
	}
	locs, err := op.Path.match(doc)
	if err != nil {
		return doc, replyNil, false, err
	}
	if len(locs) == 0 {
		return doc, intReply(0), false, nil
	}
	gone := make(map[*Value]bool, len(locs))
	var parents []*Value
	for _, l := range locs {
		if gone[l.v] || l.parent == nil {
			continue
		}
		gone[l.v] = true
		parents = append(parents, l.parent)
	}
	for _, par := range parents {
		removeChildren(par, gone)
	}
	return doc, intReply(int64(len(gone))), true, nil
}

// removeChildren drops the children of v that are in gone.
func removeChildren(v *Value, gone map[*Value]bool) {
	switch v.kind {
	case Array:
		out := v.arr[:0]
		for _, e := range v.arr {
			if !gone[e] {
				out = append(out, e)
			}
		}
		clear(v.arr[len(out):])
		v.arr = out
	case Object:
		keys, vals := v.keys[:0], v.vals[:0]
		for i, e := range v.vals {
			if !gone[e] {
				keys, vals = append(keys, v.keys[i]), append(vals, e)
			}
		}
		v.keys, v.vals = keys, vals
	}
}

// mergePatch applies an RFC 7386 merge patch to target (nil: absent) and
// returns the result; it reuses target.
func mergePatch(target, patch *Value) *Value {
	if patch.kind != Object {
		return patch.Clone()
	}
	if target == nil || target.kind != Object {
		target = NewObject()
	}
	for i, k := range patch.keys {
		pv := patch.vals[i]
		if pv.kind == Null {
			target.DeleteMember(k)
			continue
		}
		target.SetMember(k, mergePatch(target.Member(k), pv))
	}
	return target
}

func merge(doc *Value, op *Op) (*Value, Reply, bool, error) {
	p, patch := op.Path, op.Values[0]
	if doc == nil {
		if !p.IsRoot() {
			return nil, replyNil, false, errorf(CodeNewAtRoot, "new objects must be created at the root")
		}
		return mergePatch(nil, patch), replyOK, true, nil
	}
	locs, err := p.match(doc)
	if err != nil {
		return doc, replyNil, false, err
	}
	if len(locs) == 0 {
		if patch.kind == Null {
			return doc, replyOK, false, nil
		}
		n, err := create(doc, p, func() *Value { return mergePatch(nil, patch) })
		if err != nil {
			return doc, replyNil, false, err
		}
		if n == 0 && !quietMiss(p) {
			return doc, replyNil, false, noPath(p)
		}
		return doc, replyOK, n > 0, nil
	}
	if patch.kind == Null {
		gone := map[*Value]bool{}
		for _, l := range locs {
			if l.parent == nil {
				return NewNull(), replyOK, true, nil
			}
			gone[l.v] = true
		}
		for _, l := range locs {
			removeChildren(l.parent, gone)
		}
		return doc, replyOK, true, nil
	}
	for _, l := range locs {
		doc = setAt(doc, l, mergePatch(l.v, patch))
	}
	return doc, replyOK, true, nil
}

// perMatch applies the ops that act on each match separately. In JSONPath
// mode a match of the wrong type gets a nil reply; in legacy mode it is an
// error, and so is a path that matches nothing. A write at a definite
// JSONPath that matches nothing is an error too (see quietMiss). A legacy
// reply is the first match's.
func perMatch(doc *Value, op *Op) (*Value, Reply, bool, error) {
	p := op.Path
	locs, err := p.match(doc)
	if err != nil {
		return doc, replyNil, false, err
	}
	if len(locs) == 0 && (!p.Multi || (op.Kind.IsWrite() && !quietMiss(p))) {
		if op.Kind == OpType || op.Kind == OpClear || op.Kind == OpResp {
			if op.Kind == OpClear {
				return doc, intReply(0), false, nil
			}
			return doc, replyNil, false, nil
		}
		return doc, replyNil, false, noPath(p)
	}
	changed := false
	replies := make([]Reply, 0, len(locs))
	var nums []*Value // NUMINCRBY/NUMMULTBY in JSONPath mode
	cleared := int64(0)
	for _, l := range locs {
		r, nv, err := one(l.v, op)
		if err != nil {
			if !p.Multi || CodeOf(err) != CodeWrongType {
				return doc, replyNil, false, err
			}
			r = replyNil
		}
		if nv != nil {
			doc = setAt(doc, l, nv)
		}
		if op.Kind.IsWrite() && err == nil && (op.Kind != OpArrPop || r.Kind != ReplyNil) && op.Kind != OpClear {
			changed = true
		}
		if op.Kind == OpClear && r.Kind == ReplyInt {
			cleared++
			changed = true
		}
		if op.Kind == OpNumIncrBy || op.Kind == OpNumMultBy {
			if r.Kind == ReplyJSON {
				nums = append(nums, r.JSON)
			} else {
				nums = append(nums, NewNull())
			}
		}
		replies = append(replies, r)
	}
	switch {
	case op.Kind == OpClear:
		return doc, intReply(cleared), changed, nil
	case (op.Kind == OpNumIncrBy || op.Kind == OpNumMultBy) && p.Multi:
		return doc, jsonReply(NewArray(nums...)), changed, nil
	case p.Multi:
		return doc, arrayReply(replies), changed, nil
	}
	r := replies[0]
	switch op.Kind {
	case OpType:
		r.Kind = ReplySimple
	case OpToggle:
		r = Reply{Kind: ReplyBulk, Str: "false"}
		if replies[0].Int == 1 {
			r.Str = "true"
		}
	}
	return doc, r, changed, nil
}

// one applies a per-match op to v. It returns the reply and, when the
// value is replaced (numbers, strings, booleans, cleared numbers), the new
// value. A wrong type is a CodeWrongType error.
func one(v *Value, op *Op) (Reply, *Value, error) {
	switch op.Kind {
	case OpType:
		return Reply{Kind: ReplyBulk, Str: v.kind.TypeName()}, nil, nil
	case OpResp:
		return respReply(v), nil, nil
	case OpClear:
		switch v.kind {
		case Array:
			clear(v.arr)
			v.arr = v.arr[:0]
		case Object:
			v.keys, v.vals = v.keys[:0], v.vals[:0]
		case Int, Float:
			return intReply(1), NewInt(0), nil
		default:
			return replyNil, nil, nil
		}
		return intReply(1), nil, nil
	case OpToggle:
		if v.kind != Bool {
			return replyNil, nil, wrongType("boolean", v)
		}
		nv := NewBool(!v.b)
		if nv.b {
			return intReply(1), nv, nil
		}
		return intReply(0), nv, nil
	case OpNumIncrBy, OpNumMultBy:
		if !isNumber(v) {
			return replyNil, nil, wrongType("number", v)
		}
		nv, err := arith(v, op.Values[0], op.Kind == OpNumMultBy)
		if err != nil {
			return replyNil, nil, err
		}
		return jsonReply(nv), nv, nil
	case OpStrAppend, OpStrLen:
		if v.kind != String {
			return replyNil, nil, wrongType("string", v)
		}
		if op.Kind == OpStrLen {
			return intReply(int64(len(v.s))), nil, nil
		}
		nv := NewString(v.s + op.Values[0].s)
		return intReply(int64(len(nv.s))), nv, nil
	case OpObjKeys, OpObjLen:
		if v.kind != Object {
			return replyNil, nil, wrongType("object", v)
		}
		if op.Kind == OpObjLen {
			return intReply(int64(len(v.keys))), nil, nil
		}
		keys := make([]Reply, len(v.keys))
		for i, k := range v.keys {
			keys[i] = Reply{Kind: ReplyBulk, Str: k}
		}
		return arrayReply(keys), nil, nil
	}
	// Array ops.
	if v.kind != Array {
		return replyNil, nil, wrongType("array", v)
	}
	n := len(v.arr)
	switch op.Kind {
	case OpArrLen:
		return intReply(int64(n)), nil, nil
	case OpArrAppend:
		for _, e := range op.Values {
			v.arr = append(v.arr, e.Clone())
		}
		return intReply(int64(len(v.arr))), nil, nil
	case OpArrInsert:
		i := op.Index
		if i < 0 {
			i += int64(n)
		}
		if i < 0 || i > int64(n) {
			return replyNil, nil, errorf(CodeRange, "index out of bounds")
		}
		ins := make([]*Value, len(op.Values))
		for j, e := range op.Values {
			ins[j] = e.Clone()
		}
		v.arr = append(v.arr[:i], append(ins, v.arr[i:]...)...)
		return intReply(int64(len(v.arr))), nil, nil
	case OpArrPop:
		if n == 0 {
			return replyNil, nil, nil
		}
		i := op.Index
		if i < 0 {
			i += int64(n)
		}
		i = min(max(i, 0), int64(n-1))
		e := v.arr[i]
		v.arr = append(v.arr[:i], v.arr[i+1:]...)
		v.arr[:n][n-1] = nil
		return jsonReply(e), nil, nil
	case OpArrTrim:
		start, stop := op.Index, op.Stop
		if start < 0 {
			start += int64(n)
		}
		if stop < 0 {
			stop += int64(n)
		}
		start = max(start, 0)
		stop = min(stop, int64(n-1))
		if start > stop || start >= int64(n) {
			clear(v.arr)
			v.arr = v.arr[:0]
		} else {
			kept := append([]*Value(nil), v.arr[start:stop+1]...)
			v.arr = kept
		}
		return intReply(int64(len(v.arr))), nil, nil
	case OpArrIndex:
		start, stop := op.Index, op.Stop
		if start < 0 {
			start += int64(n)
		}
		if stop < 0 {
			stop += int64(n)
		}
		if stop == 0 && op.Stop == 0 || stop > int64(n) {
			stop = int64(n)
		}
		start = max(start, 0)
		for i := start; i < stop; i++ {
			if Equal(v.arr[i], op.Values[0]) {
				return intReply(i), nil, nil
			}
		}
		return intReply(-1), nil, nil
	}
	return replyNil, nil, errorf(CodeBadRequest, "unknown document op %d", op.Kind)
}

// arith adds or multiplies: Int op Int stays Int (an overflow is an
// error), anything else is Float (NaN or an infinity is an error).
func arith(v, by *Value, mult bool) (*Value, error) {
	if v.kind == Int && by.kind == Int {
		a, b := v.i, by.i
		if mult {
			if a != 0 && b != 0 {
				r := a * b
				if r/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
					return nil, errorf(CodeOverflow, "result is out of the int64 range")
				}
				return NewInt(r), nil
			}
			return NewInt(0), nil
		}
		if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
			return nil, errorf(CodeOverflow, "result is out of the int64 range")
		}
		return NewInt(a + b), nil
	}
	var f float64
	if mult {
		f = v.Float() * by.Float()
	} else {
		f = v.Float() + by.Float()
	}
	nv, err := NewFloat(f)
	if err != nil {
		return nil, errorf(CodeOverflow, "result is not a finite number")
	}
	return nv, nil
}

// respReply is JSON.RESP's representation: null is nil, true/false simple
// strings, integers integers, other numbers bulk strings, strings bulk
// strings, arrays ["[" elements...], objects ["{" key value ...].
func respReply(v *Value) Reply {
	switch v.kind {
	case Null:
		return replyNil
	case Bool:
		if v.b {
			return Reply{Kind: ReplySimple, Str: "true"}
		}
		return Reply{Kind: ReplySimple, Str: "false"}
	case Int:
		return intReply(v.i)
	case Float:
		return Reply{Kind: ReplyBulk, Str: string(appendFloat(nil, v.f))}
	case String:
		return Reply{Kind: ReplyBulk, Str: v.s}
	case Array:
		out := []Reply{{Kind: ReplySimple, Str: "["}}
		for _, e := range v.arr {
			out = append(out, respReply(e))
		}
		return arrayReply(out)
	default:
		out := []Reply{{Kind: ReplySimple, Str: "{"}}
		for i, k := range v.keys {
			out = append(out, Reply{Kind: ReplyBulk, Str: k}, respReply(v.vals[i]))
		}
		return arrayReply(out)
	}
}

// get is JSON.GET. One path: legacy replies the first match (an error if
// none), JSONPath the array of matches. Several paths: an object keyed by
// path text, each holding the legacy value or the array of matches (if any
// path is JSONPath, every path is treated as JSONPath, as RedisJSON does).
// The reply is a ReplyBulk of the text laid out with op.Format.
func get(doc *Value, op *Op) (Reply, error) {
	if doc == nil {
		return replyNil, nil
	}
	paths := op.Paths
	if len(paths) == 0 {
		if op.Path != nil {
			paths = []*Path{op.Path}
		} else {
			paths = []*Path{{Text: "."}}
		}
	}
	var out *Value
	if len(paths) == 1 {
		v, err := getOne(doc, paths[0], paths[0].Multi)
		if err != nil {
			return replyNil, err
		}
		out = v
	} else {
		multi := false
		for _, p := range paths {
			multi = multi || p.Multi
		}
		out = NewObject()
		for _, p := range paths {
			v, err := getOne(doc, p, multi)
			if err != nil {
				return replyNil, err
			}
			out.SetMember(p.Text, v)
		}
	}
	return Reply{Kind: ReplyBulk, Str: string(out.Indented(op.Format))}, nil
}

func getOne(doc *Value, p *Path, multi bool) (*Value, error) {
	found, err := p.Find(doc)
	if err != nil {
		return nil, err
	}
	if multi {
		return NewArray(found...), nil
	}
	if len(found) == 0 {
		return nil, noPath(p)
	}
	return found[0], nil
}

func formatInt(i int64) string { return string(NewInt(i).AppendJSON(nil)) }
