package document

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// The testdata files drive the package:
//
//	path          each input line is a path; prints its canonical form,
//	              "multi" for JSONPath, or the error
//	parse         each input line is JSON; prints its canonical text or the error
//	doc           sets the current document (input "nil": no key)
//	run           each input line is an op: "<op> <path> [args...]" (JSON
//	              arguments without spaces); prints the reply and the document
//	              after it (a failed op leaves the document unchanged)
func TestDataDriven(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var doc *Value
			datadriven.RunTest(t, f, func(t *testing.T, d *datadriven.TestData) string {
				var out strings.Builder
				switch d.Cmd {
				case "path":
					for _, line := range lines(d.Input) {
						p, err := ParsePath(unq(line))
						if err != nil {
							fmt.Fprintf(&out, "%s -> error: %v\n", line, err)
							continue
						}
						mode := ""
						if p.Pointer {
							mode = " (pointer)"
						}
						fmt.Fprintf(&out, "%s -> %s%s\n", line, p.Canonical(), mode)
					}
				case "parse":
					for _, line := range lines(d.Input) {
						v, err := ParseString(line)
						if err != nil {
							fmt.Fprintf(&out, "error: %v\n", err)
							continue
						}
						fmt.Fprintf(&out, "%s\n", v)
					}
				case "doc":
					doc = nil
					if in := strings.TrimSpace(d.Input); in != "nil" {
						v, err := ParseString(in)
						if err != nil {
							d.Fatalf(t, "bad doc: %v", err)
						}
						doc = v
					}
					return "ok\n"
				case "run":
					for _, line := range lines(d.Input) {
						op, err := parseOpLine(line)
						if err != nil {
							fmt.Fprintf(&out, "%s\n  bad op: %v\n", line, err)
							continue
						}
						var work *Value
						if doc != nil {
							work = doc.Clone()
						}
						nd, r, changed, err := Apply(work, op)
						fmt.Fprintf(&out, "%s\n", line)
						if err != nil {
							fmt.Fprintf(&out, "  error %s: %v\n", CodeOf(err), err)
							continue
						}
						fmt.Fprintf(&out, "  %s\n", renderReply(r))
						if op.Kind.IsWrite() {
							if changed {
								doc = nd
							} else if nd != nil && doc != nil && nd.String() != doc.String() {
								t.Errorf("%s: unchanged op modified the document: %s", line, nd)
							}
							if doc == nil {
								out.WriteString("  doc: (none)\n")
							} else {
								fmt.Fprintf(&out, "  doc: %s\n", doc)
							}
						}
					}
				default:
					d.Fatalf(t, "unknown command %q", d.Cmd)
				}
				return out.String()
			})
		})
	}
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

var opNames = map[string]OpKind{
	"set": OpSet, "del": OpDel, "arrappend": OpArrAppend, "arrinsert": OpArrInsert,
	"arrpop": OpArrPop, "arrtrim": OpArrTrim, "numincrby": OpNumIncrBy, "nummultby": OpNumMultBy,
	"strappend": OpStrAppend, "merge": OpMerge, "clear": OpClear, "toggle": OpToggle,
	"get": OpGet, "type": OpType, "arrlen": OpArrLen, "arrindex": OpArrIndex, "strlen": OpStrLen,
	"objkeys": OpObjKeys, "objlen": OpObjLen, "resp": OpResp,
}

// parseOpLine reads "<op> <path> args...". Integer arguments fill Index
// and Stop (arrinsert: index first, then values; arrpop: index; arrtrim:
// start stop; arrindex: value [start [stop]]); nx/xx are flags; get takes
// several paths.
func parseOpLine(line string) (*Op, error) {
	f := strings.Fields(line)
	kind, ok := opNames[f[0]]
	if !ok || len(f) < 2 {
		return nil, fmt.Errorf("unknown op or no path")
	}
	op := &Op{Kind: kind}
	if kind == OpGet {
		for _, t := range f[1:] {
			p, err := ParsePath(unq(t))
			if err != nil {
				return nil, err
			}
			op.Paths = append(op.Paths, p)
		}
		return op, nil
	}
	p, err := ParsePath(unq(f[1]))
	if err != nil {
		return nil, err
	}
	op.Path = p
	args := f[2:]
	ints := func(dst ...*int64) error {
		for i, d := range dst {
			if i >= len(args) {
				return nil
			}
			n, err := strconv.ParseInt(args[i], 10, 64)
			if err != nil {
				return err
			}
			*d = n
		}
		args = args[min(len(dst), len(args)):]
		return nil
	}
	switch kind {
	case OpArrInsert:
		if err := ints(&op.Index); err != nil {
			return nil, err
		}
	case OpArrPop:
		op.Index = -1
		if err := ints(&op.Index); err != nil {
			return nil, err
		}
	case OpArrTrim:
		if err := ints(&op.Index, &op.Stop); err != nil {
			return nil, err
		}
	case OpArrIndex:
		v, err := ParseString(args[0])
		if err != nil {
			return nil, err
		}
		op.Values = []*Value{v}
		args = args[1:]
		if err := ints(&op.Index, &op.Stop); err != nil {
			return nil, err
		}
		return op, nil
	}
	for _, a := range args {
		switch a {
		case "nx":
			op.NX = true
			continue
		case "xx":
			op.XX = true
			continue
		}
		v, err := ParseString(a)
		if err != nil {
			return nil, err
		}
		op.Values = append(op.Values, v)
	}
	return op, nil
}

// unq lets a test write the empty path (JSON Pointer root) as ”.
func unq(s string) string {
	if s == "''" {
		return ""
	}
	return s
}

func renderReply(r Reply) string {
	switch r.Kind {
	case ReplyNil:
		return "(nil)"
	case ReplyInt:
		return fmt.Sprintf("(integer) %d", r.Int)
	case ReplyBulk:
		return strconv.Quote(r.Str)
	case ReplySimple:
		return "+" + r.Str
	case ReplyJSON:
		return "json " + r.JSON.String()
	default:
		parts := make([]string, len(r.Arr))
		for i, e := range r.Arr {
			parts[i] = renderReply(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
}
