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

// MaxWork bounds the values one path evaluation may visit or select.
// Recursive descent and filters multiply ($..*..*..* visits every value
// once per ancestor, per step); an evaluation over the budget fails with
// CodeTooComplex instead of running for a long time inside the state
// machine.
const MaxWork = 1 << 22

// Find returns the values the path selects in doc, in document order
// (pre-order for recursive descent). The values alias doc.
func (p *Path) Find(doc *Value) ([]*Value, error) {
	locs, err := p.match(doc)
	if err != nil {
		return nil, err
	}
	out := make([]*Value, len(locs))
	for i, l := range locs {
		out[i] = l.v
	}
	return out, nil
}

func (p *Path) match(doc *Value) ([]loc, error) {
	return matchFrom(doc, p.Segs, p.Pointer, p.Text)
}

// matchFrom evaluates segs from the root.
func matchFrom(doc *Value, segs []Segment, pointer bool, text string) ([]loc, error) {
	ev := &evaluator{root: doc, left: MaxWork}
	locs := ev.matchSegs([]loc{{v: doc}}, segs, pointer)
	if ev.left < 0 {
		return nil, errorf(CodeTooComplex, "path '%s' selects or visits more than %d values", text, MaxWork)
	}
	return locs, nil
}

// evaluator is one path evaluation with its work budget.
type evaluator struct {
	root *Value
	left int // values it may still visit; < 0: over budget, stop
}

func (ev *evaluator) matchSegs(cur []loc, segs []Segment, pointer bool) []loc {
	for i := range segs {
		seg := &segs[i]
		var next []loc
		for _, l := range cur {
			if ev.left < 0 {
				return nil
			}
			if seg.Descend {
				ev.walk(l, func(d loc) { next = ev.selectSeg(next, d, seg, pointer) })
			} else {
				next = ev.selectSeg(next, l, seg, pointer)
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
func (ev *evaluator) walk(l loc, f func(loc)) {
	if ev.left--; ev.left < 0 {
		return
	}
	f(l)
	v := l.v
	switch v.kind {
	case Array:
		for i, e := range v.arr {
			ev.walk(loc{v: e, parent: v, idx: i}, f)
		}
	case Object:
		for i, e := range v.vals {
			ev.walk(loc{v: e, parent: v, key: v.keys[i]}, f)
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

func (ev *evaluator) selectSeg(out []loc, l loc, seg *Segment, pointer bool) []loc {
	if ev.left < 0 {
		return out
	}
	n := len(out)
	defer func() { ev.left -= len(out) - n }()
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
			out = ev.selectSeg(out, l, &seg.Union[k], pointer)
		}
	case SegFilter:
		for _, c := range appendChildren(nil, v) {
			if ev.test(seg.Filter, c.v) {
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

func (ev *evaluator) test(e *Expr, cur *Value) bool {
	switch e.Kind {
	case ExprOr:
		return ev.test(e.L, cur) || ev.test(e.R, cur)
	case ExprAnd:
		return ev.test(e.L, cur) && ev.test(e.R, cur)
	case ExprNot:
		return !ev.test(e.L, cur)
	case ExprExists:
		return ev.operand(e.L, cur) != nil
	case ExprCmp:
		l, r := ev.operand(e.L, cur), ev.operand(e.R, cur)
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
func (ev *evaluator) operand(e *Expr, cur *Value) *Value {
	if e.Kind == ExprLiteral {
		return e.Lit
	}
	start := ev.root
	if e.Rel {
		start = cur
	}
	m := ev.matchSegs([]loc{{v: start}}, e.Segs, false)
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
