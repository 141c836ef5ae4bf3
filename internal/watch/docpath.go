package watch

import (
	"bytes"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/document"
)

// PathFilter returns a Request.Filter that delivers the changes of a
// document key that change what path selects in it: the value the path
// selects before the event differs from the value it selects after (their
// canonical JSON texts differ, or the value appears or disappears). A
// change inside the selected value counts; a change elsewhere in the
// document does not.
//
// The path is in any spelling package document accepts; a malformed one
// is a *document.Error. A JSONPath ("$...") selects the list of its
// matches (an empty list when nothing matches); the other spellings
// select their first match, or nothing. A missing key, plain bytes and a
// stored document that does not parse select nothing, so creating or
// deleting the key, or changing its type, is a change when the selected
// value appears or disappears.
//
// The filter needs the previous value: the hub gives it to filters
// whatever Request.PrevValue says.
func PathFilter(path string) (func(ev *Event) bool, error) {
	p, err := document.ParsePath(path)
	if err != nil {
		return nil, err
	}
	f := &pathFilter{p: p}
	return f.changed, nil
}

type pathFilter struct {
	p        *document.Path
	old, cur []byte // scratch for the selected texts; the filter runs on one goroutine
}

func (f *pathFilter) changed(ev *Event) bool {
	var newVal []byte
	var newType command.ValueType
	if ev.Type == Put {
		newVal, newType = ev.Value, ev.ValueType
	}
	var oldOK, newOK bool
	if ev.PrevExists && ev.Type == Put && newType == ev.PrevType && bytes.Equal(ev.PrevValue, newVal) {
		return false // the same version again (an expiry change)
	}
	f.old, oldOK = f.selectText(f.old[:0], ev.PrevExists, ev.PrevValue, ev.PrevType)
	f.cur, newOK = f.selectText(f.cur[:0], ev.Type == Put, newVal, newType)
	return oldOK != newOK || !bytes.Equal(f.old, f.cur)
}

// selectText appends to dst the canonical text of what the path selects
// in the value (exists, v, t); ok is false when it selects nothing. It
// never panics on odd data: a value that does not parse, or a path too
// costly to evaluate on it, selects nothing.
func (f *pathFilter) selectText(dst []byte, exists bool, v []byte, t command.ValueType) ([]byte, bool) {
	var matches []*document.Value
	if exists && t == command.TypeDocument {
		matches = f.find(v)
	}
	if !f.p.Multi {
		if len(matches) == 0 {
			return dst, false
		}
		return matches[0].AppendJSON(dst), true
	}
	// A JSONPath selects the list of its matches, empty when none.
	dst = append(dst, '[')
	for i, m := range matches {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = m.AppendJSON(dst)
	}
	return append(dst, ']'), true
}

func (f *pathFilter) find(v []byte) (matches []*document.Value) {
	defer func() {
		if recover() != nil {
			matches = nil
		}
	}()
	doc, err := document.Parse(v)
	if err != nil {
		return nil
	}
	matches, err = f.p.Find(doc)
	if err != nil {
		return nil
	}
	return matches
}
