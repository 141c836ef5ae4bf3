package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/document"
)

// Errors of document operations.
var (
	// ErrWrongType: the key holds another type of value (a document op on
	// plain bytes, a string op on a document).
	ErrWrongType = errors.New("operation against a key holding the wrong kind of value")
	// ErrDocument wraps the data-dependent failures of document ops (no
	// such path, wrong type at the path, too deep ...); the result's
	// DocResult carries the code (document.Code) and message.
	ErrDocument = errors.New("document operation failed")
)

// Doc applies an atomic write to part of the JSON document at r.Key (see
// command.DocRequest and package document). A data-dependent failure
// returns the result, whose DocResult carries the code, together with
// ErrDocument or ErrWrongType; nothing was written.
func (s *Service) Doc(ctx context.Context, r *command.DocRequest) (*command.Result, error) {
	if err := validateDoc(r); err != nil {
		return nil, err
	}
	return s.propose(ctx, &command.Request{Doc: r})
}

func validateDoc(m *command.DocRequest) error {
	if err := validateKey(m.Key); err != nil {
		return err
	}
	if m.Op < command.DocSet || m.Op > command.DocToggle {
		return fmt.Errorf("%w: unknown document op %d", ErrInvalid, m.Op)
	}
	if m.NX && m.XX {
		return fmt.Errorf("%w: NX and XX together", ErrInvalid)
	}
	if len(m.Path) > document.MaxPathLen {
		return fmt.Errorf("%w: path of %d bytes, limit %d", ErrInvalid, len(m.Path), document.MaxPathLen)
	}
	n := 0
	for _, v := range m.Values {
		n += len(v)
	}
	if n > MaxValueSize {
		return fmt.Errorf("%w: %d bytes of JSON, limit %d", ErrValueTooLarge, n, MaxValueSize)
	}
	return nil
}

// docResultErr maps the result codes of document ops; ok is false for
// other codes.
func docResultErr(r *command.Result) (error, bool) {
	msg := r.Err
	if r.Doc != nil && r.Doc.Msg != "" {
		msg = r.Doc.Msg
	}
	switch {
	case r.Err == command.ErrCodeWrongType:
		return ErrWrongType, true
	case strings.HasPrefix(r.Err, "doc_"):
		return fmt.Errorf("%w: %s", ErrDocument, msg), true
	}
	return nil, false
}
