package statemachine

import (
	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/document"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/watch"
)

// Document writes (command.DocRequest). Each reads the latest version of
// its key through the indexed batch, parses the stored document, applies
// the operation with package document (pure and deterministic) and writes
// the canonical text back with value type TypeDocument, in one apply
// step: concurrent JSON.NUMINCRBY from any node never lose an update.
// Every failure (bad path, wrong type, too deep, too large ...) is a
// result code, the same on every node, and writes nothing.

// applyDoc applies a standalone document request.
func (a *applier) applyDoc(res *command.Result, m *command.DocRequest) error {
	if !validDoc(m) {
		res.Err = command.ErrCodeInvalid
		return nil
	}
	dr, err := a.doc(m, a.rev+1)
	if err != nil {
		return err
	}
	if dr.Written {
		a.rev++
	}
	res.Err = dr.Err
	res.Doc = dr
	return nil
}

// validDoc checks the request-only parts of a document op.
func validDoc(m *command.DocRequest) bool {
	return len(m.Key) > 0 && m.Op >= command.DocSet && m.Op <= command.DocToggle && !(m.NX && m.XX)
}

// doc applies m at revision rev.
func (a *applier) doc(m *command.DocRequest, rev int64) (*command.DocResult, error) {
	a.keyBuf = storage.AppendLatestKey(a.keyBuf[:0], a.sm.group, m.Key)
	found, err := a.getLatest(a.keyBuf)
	if err != nil {
		return nil, err
	}
	// A document op changes the value in place: lease and expiry stay, as
	// RedisJSON keeps a key's TTL.
	lease, exp := a.got.lease, a.got.expire
	res, text := EvalDoc(found, a.got.vtype, a.got.value, m)
	switch {
	case !res.Written:
	case text == nil:
		if err := a.deleteKey(m.Key, rev, watch.Delete); err != nil {
			return nil, err
		}
	default:
		if _, err := a.putFull(&command.PutRequest{Key: m.Key, Value: text, Lease: lease}, command.TypeDocument, exp, rev); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// EvalDoc computes the document write m on the current version of its key
// (found, its value type and value): the result and, when res.Written,
// the new document text to store with TypeDocument (nil: delete the key).
// It is pure; the state machine and test fakes share it.
func EvalDoc(found bool, vtype command.ValueType, value []byte, m *command.DocRequest) (*command.DocResult, []byte) {
	res := &command.DocResult{}
	fail := func(e error) (*command.DocResult, []byte) {
		res.Err, res.Msg = string(document.CodeOf(e)), e.Error()
		if res.Err == "" {
			res.Err = string(document.CodeBadRequest)
		}
		return res, nil
	}
	if found && vtype != command.TypeDocument {
		res.Err, res.Msg = command.ErrCodeWrongType, "the key holds a value that is not a JSON document"
		return res, nil
	}
	op, err := DocOp(m)
	if err != nil {
		return fail(err)
	}
	var doc *document.Value
	if found {
		if doc, err = document.Parse(value); err != nil {
			return fail(err)
		}
	}
	nd, reply, changed, err := document.Apply(doc, op)
	if err != nil {
		return fail(err)
	}
	var text []byte
	if changed && nd != nil {
		if text, err = document.Encode(nd); err != nil {
			return fail(err)
		}
	}
	res.Written = changed
	res.Reply = document.AppendReply(nil, reply)
	return res, text
}

// DocOp converts a DocRequest into a document operation, parsing its path
// and values. The numbering of command.DocOp is document.OpKind's.
func DocOp(m *command.DocRequest) (*document.Op, error) {
	p, err := document.ParsePath(string(m.Path))
	if err != nil {
		return nil, err
	}
	op := &document.Op{Kind: document.OpKind(m.Op), Path: p, Index: m.Index, Stop: m.Stop, NX: m.NX, XX: m.XX}
	for _, v := range m.Values {
		pv, err := document.Parse(v)
		if err != nil {
			return nil, err
		}
		op.Values = append(op.Values, pv)
	}
	return op, nil
}
