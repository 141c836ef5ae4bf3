package document

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Path is a parsed path. The three spellings parse into the same segments:
//
//	JSONPath (RedisJSON)   $.users[4].name   $..name   $.a[*]   $.a[1:3]   $.a[?(@.age > 30)]
//	legacy (RedisJSON)     .users[4].name   users[4].name   .   (root)
//	Python subscripts      ['users'][4]['name']   ["x"]   [-1]
//	JSON Pointer           /users/4/name   (and "" for the root)
//
// A path starting with '$' is Multi: operations reply with one result per
// match (RedisJSON's "enhanced" syntax). Every other spelling is definite:
// replies are a single value, and a path that matches nothing is an error
// (RedisJSON's "restricted" syntax). Wildcards, slices, unions, recursive
// descent and filters may appear in any spelling but JSON Pointer.
type Path struct {
	Text    string
	Multi   bool
	Pointer bool // spelled as a JSON Pointer: an index segment also selects the object member named by the number
	Segs    []Segment
}

// SegKind is the kind of one path segment.
type SegKind uint8

const (
	SegKey      SegKind = iota + 1 // .name or ['name']
	SegIndex                       // [n]; negative counts from the end
	SegWildcard                    // .* or [*]
	SegSlice                       // [start:end:step]
	SegUnion                       // ['a','b'] or [1,3]
	SegFilter                      // [?(expr)]
)

// Segment is one step of a path. With Descend (the ".." of JSONPath) the
// selector applies to the current value and every value below it.
type Segment struct {
	Kind    SegKind
	Descend bool
	Key     string
	Index   int64
	// Slice bounds; HasStart/HasEnd false means the array's start/end.
	Start, End, Step int64
	HasStart, HasEnd bool
	Union            []Segment // SegKey and SegIndex members
	Filter           *Expr
}

// IsRoot reports whether the path is the document root.
func (p *Path) IsRoot() bool { return len(p.Segs) == 0 }

// definite reports whether the path selects at most one value.
func (p *Path) definite() bool {
	for _, s := range p.Segs {
		if s.Descend || (s.Kind != SegKey && s.Kind != SegIndex) {
			return false
		}
	}
	return true
}

// MaxPathLen bounds the length of a path's text.
const MaxPathLen = 4096

// ParsePath parses a path in any of the three spellings.
func ParsePath(text string) (*Path, error) {
	if len(text) > MaxPathLen {
		return nil, errorf(CodeBadPath, "path longer than %d bytes", MaxPathLen)
	}
	p := &Path{Text: text}
	switch {
	case text == "" || text[0] == '/':
		p.Pointer = true
		segs, err := parsePointer(text)
		if err != nil {
			return nil, err
		}
		p.Segs = segs
		return p, nil
	case text == ".":
		return p, nil
	}
	pp := pathParser{s: text, full: text}
	if text[0] == '$' {
		p.Multi = true
		pp.i = 1
	} else if text[0] != '.' && text[0] != '[' {
		pp.bare = true // legacy "a.b" is ".a.b"
	}
	segs, err := pp.segments(false)
	if err != nil {
		return nil, err
	}
	if pp.i != len(pp.s) {
		return nil, pp.fail("unexpected character")
	}
	p.Segs = segs
	return p, nil
}

func parsePointer(text string) ([]Segment, error) {
	if text == "" {
		return nil, nil
	}
	var segs []Segment
	for _, tok := range strings.Split(text[1:], "/") {
		if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(tok, "~0", ""), "~1", ""), "~") {
			return nil, errorf(CodeBadPath, "bad JSON Pointer %q: '~' must be followed by 0 or 1", text)
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		if n, ok := pointerIndex(tok); ok {
			segs = append(segs, Segment{Kind: SegIndex, Index: n})
		} else {
			segs = append(segs, Segment{Kind: SegKey, Key: tok})
		}
	}
	return segs, nil
}

// pointerIndex accepts RFC 6901 array indexes: "0" or digits without a
// leading zero.
func pointerIndex(tok string) (int64, bool) {
	if tok == "" || (len(tok) > 1 && tok[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(tok); i++ {
		if !digit(tok[i]) {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(tok, 10, 64)
	return n, err == nil
}

type pathParser struct {
	s    string
	i    int
	full string
	bare bool // the first member name has no leading '.'
}

func (p *pathParser) fail(what string) *Error {
	return errorf(CodeBadPath, "bad path %q at offset %d: %s", p.full, p.i, what)
}

func (p *pathParser) eof() bool { return p.i >= len(p.s) }

func (p *pathParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}

func (p *pathParser) spaces() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// segments parses segments until the end, or (inFilter) until a character
// that cannot continue a path.
func (p *pathParser) segments(inFilter bool) ([]Segment, error) {
	var segs []Segment
	if p.bare {
		p.bare = false
		name := p.name()
		if name == "" {
			return nil, p.fail("expected a member name")
		}
		segs = append(segs, Segment{Kind: SegKey, Key: name})
	}
	for !p.eof() {
		var descend bool
		switch p.peek() {
		case '.':
			p.i++
			if p.peek() == '.' {
				p.i++
				descend = true
			}
			if p.peek() == '[' {
				if !descend {
					return nil, p.fail("'[' after '.'")
				}
				break
			}
			if p.peek() == '*' {
				p.i++
				segs = append(segs, Segment{Kind: SegWildcard, Descend: descend})
				continue
			}
			name := p.name()
			if name == "" {
				return nil, p.fail("expected a member name")
			}
			segs = append(segs, Segment{Kind: SegKey, Key: name, Descend: descend})
			continue
		case '[':
		default:
			if inFilter {
				return segs, nil
			}
			return nil, p.fail("expected '.' or '['")
		}
		seg, err := p.bracket()
		if err != nil {
			return nil, err
		}
		seg.Descend = descend
		segs = append(segs, seg)
	}
	return segs, nil
}

// name reads a dotted member name: everything up to '.', '[' or (in
// filters) an operator or space.
func (p *pathParser) name() string {
	start := p.i
	for !p.eof() {
		c := p.s[p.i]
		if c == '.' || c == '[' || c == ']' || c == ' ' || c == '\t' || c == ')' || c == '(' ||
			c == '=' || c == '!' || c == '<' || c == '>' || c == '&' || c == '|' || c == ',' {
			break
		}
		p.i++
	}
	return p.s[start:p.i]
}

// bracket parses [ ... ] at p.i.
func (p *pathParser) bracket() (Segment, error) {
	p.i++ // [
	p.spaces()
	var seg Segment
	switch c := p.peek(); {
	case c == '*':
		p.i++
		seg = Segment{Kind: SegWildcard}
	case c == '?':
		p.i++
		p.spaces()
		e, err := p.orExpr()
		if err != nil {
			return seg, err
		}
		seg = Segment{Kind: SegFilter, Filter: e}
	default:
		var members []Segment
		for {
			p.spaces()
			m, err := p.member()
			if err != nil {
				return seg, err
			}
			members = append(members, m)
			p.spaces()
			if p.peek() != ',' {
				break
			}
			p.i++
		}
		if len(members) == 1 {
			seg = members[0]
		} else {
			for _, m := range members {
				if m.Kind != SegKey && m.Kind != SegIndex {
					return seg, p.fail("a union holds only names and indexes")
				}
			}
			seg = Segment{Kind: SegUnion, Union: members}
		}
	}
	p.spaces()
	if p.peek() != ']' {
		return seg, p.fail("expected ']'")
	}
	p.i++
	return seg, nil
}

// member parses a quoted name, an index or a slice.
func (p *pathParser) member() (Segment, error) {
	if c := p.peek(); c == '\'' || c == '"' {
		s, err := p.quoted()
		if err != nil {
			return Segment{}, err
		}
		return Segment{Kind: SegKey, Key: s}, nil
	}
	var seg Segment
	var nums [3]int64
	var has [3]bool
	part := 0
	for {
		p.spaces()
		if n, ok := p.integer(); ok {
			nums[part], has[part] = n, true
		} else if p.i < len(p.s) && p.s[p.i] == '-' || digit(p.peek()) {
			return seg, p.fail("index out of the int64 range")
		}
		p.spaces()
		if p.peek() != ':' || part == 2 {
			break
		}
		p.i++
		part++
	}
	if part == 0 {
		if !has[0] {
			return seg, p.fail("expected an index, a quoted name, '*' or '?'")
		}
		return Segment{Kind: SegIndex, Index: nums[0]}, nil
	}
	seg = Segment{Kind: SegSlice, Start: nums[0], End: nums[1], Step: 1, HasStart: has[0], HasEnd: has[1]}
	if has[2] {
		if nums[2] <= 0 {
			return seg, p.fail("slice step must be positive")
		}
		seg.Step = nums[2]
	}
	return seg, nil
}

func (p *pathParser) integer() (int64, bool) {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	for !p.eof() && digit(p.s[p.i]) {
		p.i++
	}
	n, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
	if err != nil {
		p.i = start
		return 0, false
	}
	return n, true
}

// quoted reads a '...' or "..." string with backslash escapes of the
// quote, the backslash and the JSON escapes.
func (p *pathParser) quoted() (string, error) {
	q := p.s[p.i]
	p.i++
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == q:
			return b.String(), nil
		case c != '\\':
			b.WriteByte(c)
		case p.eof():
			return "", p.fail("unterminated string")
		default:
			e := p.s[p.i]
			p.i++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'u':
				r, n, ok := uEscape(p.s[p.i:])
				if !ok {
					return "", p.fail("bad \\u escape")
				}
				b.WriteRune(r)
				p.i += n
			default:
				b.WriteByte(e)
			}
		}
	}
	return "", p.fail("unterminated string")
}

// Filter expressions.

// ExprKind is the kind of a filter expression node.
type ExprKind uint8

const (
	ExprOr ExprKind = iota + 1
	ExprAnd
	ExprNot
	ExprCmp     // L Op R
	ExprExists  // a path operand on its own: true if it matches
	ExprLiteral // Lit
	ExprPath    // @... (Rel) or $...
)

// Expr is a filter expression: [?(@.age > 30 && @.name =~ "^a")].
type Expr struct {
	Kind ExprKind
	Op   string // ExprCmp: == != < <= > >= =~
	L, R *Expr
	Lit  *Value
	Rel  bool // ExprPath: relative to the current value (@), else the root ($)
	Segs []Segment
	re   *regexp.Regexp
}

func (p *pathParser) orExpr() (*Expr, error) {
	l, err := p.andExpr()
	if err != nil {
		return nil, err
	}
	for {
		p.spaces()
		if !strings.HasPrefix(p.s[p.i:], "||") {
			return l, nil
		}
		p.i += 2
		r, err := p.andExpr()
		if err != nil {
			return nil, err
		}
		l = &Expr{Kind: ExprOr, L: l, R: r}
	}
}

func (p *pathParser) andExpr() (*Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		p.spaces()
		if !strings.HasPrefix(p.s[p.i:], "&&") {
			return l, nil
		}
		p.i += 2
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &Expr{Kind: ExprAnd, L: l, R: r}
	}
}

var cmpOps = []string{"==", "!=", "<=", ">=", "=~", "<", ">"}

func (p *pathParser) unary() (*Expr, error) {
	p.spaces()
	if p.peek() == '!' && !strings.HasPrefix(p.s[p.i:], "!=") {
		p.i++
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Expr{Kind: ExprNot, L: e}, nil
	}
	if p.peek() == '(' {
		p.i++
		e, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		p.spaces()
		if p.peek() != ')' {
			return nil, p.fail("expected ')'")
		}
		p.i++
		return e, nil
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	p.spaces()
	for _, op := range cmpOps {
		if strings.HasPrefix(p.s[p.i:], op) {
			p.i += len(op)
			p.spaces()
			r, err := p.operand()
			if err != nil {
				return nil, err
			}
			e := &Expr{Kind: ExprCmp, Op: op, L: l, R: r}
			if op == "=~" {
				if r.Kind != ExprLiteral || r.Lit.kind != String {
					return nil, p.fail("=~ takes a string pattern")
				}
				re, err := regexp.Compile(r.Lit.s)
				if err != nil {
					return nil, p.fail("bad regular expression: " + err.Error())
				}
				e.re = re
			}
			return e, nil
		}
	}
	if l.Kind != ExprPath {
		return nil, p.fail("a literal is not a condition")
	}
	return &Expr{Kind: ExprExists, L: l}, nil
}

func (p *pathParser) operand() (*Expr, error) {
	p.spaces()
	switch c := p.peek(); {
	case c == '@' || c == '$':
		p.i++
		segs, err := p.segments(true)
		if err != nil {
			return nil, err
		}
		return &Expr{Kind: ExprPath, Rel: c == '@', Segs: segs}, nil
	case c == '\'' || c == '"':
		s, err := p.quoted()
		if err != nil {
			return nil, err
		}
		return &Expr{Kind: ExprLiteral, Lit: NewString(s)}, nil
	case c == '-' || digit(c):
		start := p.i
		for !p.eof() && strings.IndexByte("+-.eE0123456789", p.s[p.i]) >= 0 {
			p.i++
		}
		v, err := ParseString(p.s[start:p.i])
		if err != nil {
			return nil, p.fail("bad number")
		}
		return &Expr{Kind: ExprLiteral, Lit: v}, nil
	}
	for _, w := range []string{"true", "false", "null"} {
		if strings.HasPrefix(p.s[p.i:], w) {
			p.i += len(w)
			v, _ := ParseString(w)
			return &Expr{Kind: ExprLiteral, Lit: v}, nil
		}
	}
	return nil, p.fail("expected @, $, a string, a number, true, false or null")
}

// uEscape decodes the hex digits of a \u escape at the start of s (and
// the low half of a surrogate pair after it); n is the bytes consumed.
func uEscape(s string) (r rune, n int, ok bool) {
	jp := parser{b: []byte(s)}
	r, ok = jp.hex4()
	if !ok {
		return 0, 0, false
	}
	if utf16.IsSurrogate(r) {
		if r >= 0xDC00 || !jp.lit(`\u`) {
			return 0, 0, false
		}
		r2, ok := jp.hex4()
		if !ok || r2 < 0xDC00 || r2 > 0xDFFF {
			return 0, 0, false
		}
		r = utf16.DecodeRune(r, r2)
	}
	return r, jp.i, true
}
