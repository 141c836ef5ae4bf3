package document

import (
	"strconv"
	"strings"
)

// Canonical returns the path in one normal spelling (JSONPath with every
// member name bracketed and JSON-quoted), prefixed with "$" when Multi.
// Two paths with the same Canonical select the same values.
func (p *Path) Canonical() string {
	var b strings.Builder
	if p.Multi {
		b.WriteByte('$')
	}
	writeSegs(&b, p.Segs)
	if b.Len() == 0 {
		return "."
	}
	return b.String()
}

func writeSegs(b *strings.Builder, segs []Segment) {
	for i := range segs {
		s := &segs[i]
		if s.Descend {
			b.WriteString("..")
		}
		b.WriteByte('[')
		writeSeg(b, s)
		b.WriteByte(']')
	}
}

func writeSeg(b *strings.Builder, s *Segment) {
	switch s.Kind {
	case SegKey:
		b.Write(appendString(nil, s.Key))
	case SegIndex:
		b.WriteString(strconv.FormatInt(s.Index, 10))
	case SegWildcard:
		b.WriteByte('*')
	case SegSlice:
		if s.HasStart {
			b.WriteString(strconv.FormatInt(s.Start, 10))
		}
		b.WriteByte(':')
		if s.HasEnd {
			b.WriteString(strconv.FormatInt(s.End, 10))
		}
		if s.Step != 1 {
			b.WriteByte(':')
			b.WriteString(strconv.FormatInt(s.Step, 10))
		}
	case SegUnion:
		for i := range s.Union {
			if i > 0 {
				b.WriteByte(',')
			}
			writeSeg(b, &s.Union[i])
		}
	case SegFilter:
		b.WriteString("?(")
		writeExpr(b, s.Filter)
		b.WriteByte(')')
	}
}

func writeExpr(b *strings.Builder, e *Expr) {
	switch e.Kind {
	case ExprOr, ExprAnd:
		op := " || "
		if e.Kind == ExprAnd {
			op = " && "
		}
		b.WriteByte('(')
		writeExpr(b, e.L)
		b.WriteString(op)
		writeExpr(b, e.R)
		b.WriteByte(')')
	case ExprNot:
		b.WriteByte('!')
		writeExpr(b, e.L)
	case ExprCmp:
		writeExpr(b, e.L)
		b.WriteString(" " + e.Op + " ")
		writeExpr(b, e.R)
	case ExprExists:
		writeExpr(b, e.L)
	case ExprLiteral:
		b.Write(e.Lit.AppendJSON(nil))
	case ExprPath:
		if e.Rel {
			b.WriteByte('@')
		} else {
			b.WriteByte('$')
		}
		writeSegs(b, e.Segs)
	}
}
