package document

import (
	"errors"
	"fmt"
)

// Code is the stable name of a document error. It is data: the state
// machine returns it in results, the same on every node, and the front
// ends translate it (RESP error lines, HTTP status codes).
type Code string

const (
	CodeSyntax     Code = "doc_syntax"       // the value is not valid JSON
	CodeBadPath    Code = "doc_bad_path"     // the path does not parse
	CodeNoPath     Code = "doc_no_path"      // nothing at the path (and the op does not create)
	CodeWrongType  Code = "doc_wrong_type"   // the value at the path has the wrong type for the op
	CodeRange      Code = "doc_out_of_range" // an index outside the array
	CodeTooDeep    Code = "doc_too_deep"     // nesting deeper than MaxDepth
	CodeTooLarge   Code = "doc_too_large"    // serialized document larger than MaxSize
	CodeOverflow   Code = "doc_overflow"     // number arithmetic overflows (int64 or float64)
	CodeNewAtRoot  Code = "doc_new_at_root"  // a new document must be created at the root path
	CodeNoSuchKey  Code = "doc_no_such_key"  // the op needs an existing document
	CodeBadRequest Code = "doc_bad_request"  // malformed op (unknown kind, missing value ...)
	CodeTooComplex Code = "doc_too_complex"  // the path evaluation exceeds MaxWork
	CodeInternal   Code = "doc_internal"     // a bug: the operation panicked (see Apply)
)

// Error is a document error: a code and a human-readable message, both
// deterministic.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Is matches the sentinel of the same code, so errors.Is(err, ErrNoPath)
// works on any *Error with CodeNoPath.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Code == e.Code
}

// Sentinels for errors.Is; they carry only a code.
var (
	ErrSyntax    = &Error{Code: CodeSyntax}
	ErrBadPath   = &Error{Code: CodeBadPath}
	ErrNoPath    = &Error{Code: CodeNoPath}
	ErrWrongType = &Error{Code: CodeWrongType}
	ErrRange     = &Error{Code: CodeRange}
	ErrTooDeep   = &Error{Code: CodeTooDeep}
	ErrTooLarge  = &Error{Code: CodeTooLarge}
	ErrOverflow  = &Error{Code: CodeOverflow}

	// ErrNotJSON is returned by FromGo and NewFloat for values JSON
	// cannot hold.
	ErrNotJSON = errors.New("document: not representable as JSON")
)

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of a document error, or "" for nil and other
// errors.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
