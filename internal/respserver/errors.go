package respserver

import (
	"context"
	"errors"
	"strings"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
)

// Error replies. The texts of Redis's own errors are Redis's, so clients
// that match on them (go-redis, redis-py) behave.
const (
	errSyntax        = "ERR syntax error"
	errNotInteger    = "ERR value is not an integer or out of range"
	errNotFloat      = "ERR value is not a valid float"
	errOverflow      = "ERR increment or decrement would overflow"
	errNaNOrInf      = "ERR increment would produce NaN or Infinity"
	errNoSuchKey     = "ERR no such key"
	errOffsetRange   = "ERR offset is out of range"
	errTooLarge      = "ERR string exceeds maximum allowed size (Cairn's value limit is 8 MiB)"
	errInlineMissing = "ERR key not found"
	errInvalidCursor = "ERR invalid cursor"
	errExecAbort     = "EXECABORT Transaction discarded because of previous errors."
	errAuth          = "ERR AUTH is not supported yet: Cairn has no authentication (connect without a password)"
	// errWrongType is Redis's reply for a command on a key of another type
	// (a string command on a JSON document, a JSON command on a string).
	errWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
)

// errorReply translates a service error into a RESP error line:
//
//	service.ErrNoLeader             -CLUSTERDOWN no leader: ... (as Redis Cluster
//	                                 when slots are uncovered; clients retry)
//	service.ErrTimeout              -TIMEOUT request timed out; the outcome of a write is unknown
//	service.ErrStopped, canceled    -ERR server is stopping
//	Mutate codes (not integer ...)  Redis's texts
//	anything else                   -ERR <error text>
func errorReply(err error) string {
	switch {
	case errors.Is(err, service.ErrNoLeader):
		return "CLUSTERDOWN " + err.Error()
	case errors.Is(err, service.ErrTimeout):
		return "TIMEOUT " + err.Error()
	case errors.Is(err, service.ErrStopped), errors.Is(err, context.Canceled):
		return "ERR server is stopping"
	case errors.Is(err, service.ErrNotInteger):
		return errNotInteger
	case errors.Is(err, service.ErrNotFloat):
		return errNotFloat
	case errors.Is(err, service.ErrOverflow):
		return errOverflow
	case errors.Is(err, service.ErrNaNOrInf):
		return errNaNOrInf
	case errors.Is(err, service.ErrNoSuchKey):
		return errNoSuchKey
	case errors.Is(err, service.ErrWrongType):
		return errWrongType
	case errors.Is(err, service.ErrFenced):
		return "FENCED " + err.Error()
	case errors.Is(err, service.ErrLockBusy):
		return "LOCKED " + err.Error()
	case errors.Is(err, service.ErrUndoConflict):
		return "CONFLICT " + err.Error()
	}
	return "ERR " + err.Error()
}

// mutateErrorReply is the reply for a MutateResult.Err code.
func mutateErrorReply(code string) string {
	switch code {
	case command.ErrCodeNotInteger:
		return errNotInteger
	case command.ErrCodeNotFloat:
		return errNotFloat
	case command.ErrCodeOverflow:
		return errOverflow
	case command.ErrCodeNaNOrInf:
		return errNaNOrInf
	case command.ErrCodeTooLarge:
		return errTooLarge
	case command.ErrCodeNoSuchKey:
		return errNoSuchKey
	case command.ErrCodeWrongType:
		return errWrongType
	}
	return "ERR " + strings.ReplaceAll(code, "_", " ")
}

func errArity(name string) string {
	return "ERR wrong number of arguments for '" + strings.ToLower(name) + "' command"
}

// errUnknownCommand is Redis 7's text, quoting up to 128 bytes of each of
// the first arguments.
func errUnknownCommand(args [][]byte) string {
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.Write(clip(args[0]))
	b.WriteString("', with args beginning with: ")
	for _, a := range args[1:min(len(args), 10)] {
		b.WriteString("'")
		b.Write(clip(a))
		b.WriteString("' ")
	}
	return b.String()
}

func errUnknownSubcommand(cmd string, sub []byte) string {
	return "ERR unknown subcommand '" + string(clip(sub)) + "'. Try " + cmd + " HELP."
}

func clip(b []byte) []byte {
	if len(b) > 128 {
		return b[:128]
	}
	return b
}
