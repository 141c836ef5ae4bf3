package document

import (
	"strconv"
	"strings"
)

// loc is one match of a path: the value and where it sits (parent nil for
// the root).
type loc struct {
	v      *Value
	parent *Value
	key    string // member name when parent is an object
	idx    int    // element index when parent is an array
}

// Find returns the values the path selects in doc, in document order
// (pre-order for recursive descent). The values alias doc.
func (p *Path) Find(doc *Value) []*Value {
	locs := p.match(doc)
	out := make([]*Value, len(locs))
	for i, l := range locs {
		out[i] = l.v
	}
	return out
}

func (p *Path) match(doc *Value) []loc {
	return matchSegs(doc, []loc{{v: doc}}, p.Segs, p.Pointer)
}

func matchSegs(root *Value, cur []loc, segs []Segment, pointer bool) []loc {
	for i := range segs {
		seg := &segs[i]
		var next []loc
		for _, l := range cur {
			if seg.Descend {
				walk(l, func(d loc) { next = selectSeg(root, next, d, seg, pointer) })
			} else {
				next = selectSeg(root, next, l, seg, pointer)
			}
		}
		cur = next
		if len(cur) == 0 {
			break
		}
	}
	return cur
}

// walk calls f on l and every value below it, in pre-order.
func walk(l loc, f func(loc)) {
	f(l)
	v := l.v
	switch v.kind {
	case Array:
		for i, e := range v.arr {
			walk(loc{v: e, parent: v, idx: i}, f)
		}
	case Object:
		for i, e := range v.vals {
			walk(loc{v: e, parent: v, key: v.keys[i]}, f)
		}
	}
}

func normIndex(i int64, n int) (int, bool) {
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

func selectSeg(root *Value, out []loc, l loc, seg *Segment, pointer bool) []loc {
	v := l.v
	switch seg.Kind {
	case SegKey:
		if v.kind == Object {
			if j := v.memberIndex(seg.Key); j >= 0 {
				out = append(out, loc{v: v.vals[j], parent: v, key: seg.Key})
			}
		}
	case SegIndex:
		switch {
		case v.kind == Array:
			if j, ok := normIndex(seg.Index, len(v.arr)); ok {
				out = append(out, loc{v: v.arr[j], parent: v, idx: j})
			}
		case v.kind == Object && pointer:
			k := strconv.FormatInt(seg.Index, 10)
			if j := v.memberIndex(k); j >= 0 {
				out = append(out, loc{v: v.vals[j], parent: v, key: k})
			}
		}
	case SegWildcard:
		out = appendChildren(out, v)
	case SegSlice:
		if v.kind != Array {
			break
		}
		start, end := sliceBounds(seg, len(v.arr))
		for j := start; j < end; j += int(seg.Step) {
			out = append(out, loc{v: v.arr[j], parent: v, idx: j})
		}
	case SegUnion:
		for k := range seg.Union {
			out = selectSeg(root, out, l, &seg.Union[k], pointer)
		}
	case SegFilter:
		for _, c := range appendChildren(nil, v) {
			if seg.Filter.test(root, c.v) {
				out = append(out, c)
			}
		}
	}
	return out
}

func appendChildren(out []loc, v *Value) []loc {
	switch v.kind {
	case Array:
		for i, e := range v.arr {
			out = append(out, loc{v: e, parent: v, idx: i})
		}
	case Object:
		for i, e := range v.vals {
			out = append(out, loc{v: e, parent: v, key: v.keys[i]})
		}
	}
	return out
}

// sliceBounds resolves a slice as Python does (negative bounds count from
// the end; bounds are clamped).
func sliceBounds(seg *Segment, n int) (int, int) {
	clamp := func(i int64, def int) int {
		if i < 0 {
			i += int64(n)
		}
		if i < 0 {
			return 0
		}
		if i > int64(n) {
			return n
		}
		return int(i)
	}
	start, end := 0, n
	if seg.HasStart {
		start = clamp(seg.Start, 0)
	}
	if seg.HasEnd {
		end = clamp(seg.End, n)
	}
	return start, end
}

// Filters.

func (e *Expr) test(root, cur *Value) bool {
	switch e.Kind {
	case ExprOr:
		return e.L.test(root, cur) || e.R.test(root, cur)
	case ExprAnd:
		return e.L.test(root, cur) && e.R.test(root, cur)
	case ExprNot:
		return !e.L.test(root, cur)
	case ExprExists:
		return e.L.operand(root, cur) != nil
	case ExprCmp:
		l, r := e.L.operand(root, cur), e.R.operand(root, cur)
		if l == nil || r == nil {
			return false
		}
		if e.Op == "=~" {
			return l.kind == String && e.re.MatchString(l.s)
		}
		return compare(l, r, e.Op)
	}
	return false
}

// operand returns the value of a literal or the first match of a path.
func (e *Expr) operand(root, cur *Value) *Value {
	if e.Kind == ExprLiteral {
		return e.Lit
	}
	start := root
	if e.Rel {
		start = cur
	}
	m := matchSegs(root, []loc{{v: start}}, e.Segs, false)
	if len(m) == 0 {
		return nil
	}
	return m[0].v
}

func compare(l, r *Value, op string) bool {
	switch op {
	case "==":
		return Equal(l, r)
	case "!=":
		return !Equal(l, r)
	}
	var c int
	switch {
	case isNumber(l) && isNumber(r):
		if l.kind == Int && r.kind == Int {
			c = cmpInt64(l.i, r.i)
		} else {
			lf, rf := l.Float(), r.Float()
			switch {
			case lf < rf:
				c = -1
			case lf > rf:
				c = 1
			}
		}
	case l.kind == String && r.kind == String:
		c = strings.Compare(l.s, r.s)
	default:
		return false
	}
	switch op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	default: // >=
		return c >= 0
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
