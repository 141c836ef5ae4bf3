package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"syscall"
	"time"
)

// Driver connects the runner to one kind of target (HTTP, RESP, or a fake
// in tests).
type Driver interface {
	// Name is the target's name in reports ("http", "resp").
	Name() string
	// Dial opens the connection of client i (0-based). The runner dials
	// every client before it starts the clock, and treats a failure as
	// fatal.
	Dial(ctx context.Context, client int) (Conn, error)
	// Close releases what the connections shared, after they are closed.
	Close() error
}

// Conn is one client's connection. The runner uses each Conn from one
// goroutine.
type Conn interface {
	// Do runs ops in order. A target that pipelines has them all in flight
	// at once; others run them one after the other. For every op Do sets
	// Done, the time its reply arrived, and either Err or Outcome. It
	// returns within the op timeout, does not keep ops after it returns,
	// and recovers from a broken connection by itself (for example by
	// redialing on the next call), so that errors are counted, not fatal.
	Do(ctx context.Context, ops []Op)
	Close() error
}

// Op is one operation: the generator fills the request half, Conn.Do the
// result half. Ops are reused from batch to batch.
type Op struct {
	Kind OpKind
	// Keys holds the op's keys: one, or Config.TxnKeys distinct ones for
	// OpTxn. Each is KeyLen bytes.
	Keys [][]byte
	// Value is what put, txn and cas write, and the document of
	// OpDocSet (nil for the other kinds). Drivers must not modify it.
	Value []byte

	// Set by Conn.Do.
	Done    time.Time
	Err     error
	Outcome Outcome

	keyIdx []int
	keyBuf []byte
	buf    []byte // holds Value when the generator builds it (OpDocSet)
}

// Key returns the op's first (for all but OpTxn, only) key.
func (op *Op) Key() []byte { return op.Keys[0] }

func (op *Op) reset() {
	*op = Op{Keys: op.Keys[:0], keyIdx: op.keyIdx[:0], keyBuf: op.keyBuf[:0], buf: op.buf[:0]}
}

func (op *Op) hasKey(k int) bool { return slices.Contains(op.keyIdx, k) }

func (op *Op) addKey(k int) {
	start := len(op.keyBuf)
	op.keyBuf = AppendKey(op.keyBuf, k)
	op.keyIdx = append(op.keyIdx, k)
	op.Keys = append(op.Keys, op.keyBuf[start:len(op.keyBuf):len(op.keyBuf)])
}

// newOps returns n ops with room for keysPerOp keys each, so that filling
// them does not allocate.
func newOps(n, keysPerOp int) []Op {
	ops := make([]Op, n)
	for i := range ops {
		ops[i].Keys = make([][]byte, 0, keysPerOp)
		ops[i].keyIdx = make([]int, 0, keysPerOp)
		ops[i].keyBuf = make([]byte, 0, keysPerOp*KeyLen)
	}
	return ops
}

// OpError is an operation the target answered with an error, or that could
// not be sent or answered.
type OpError struct {
	// Kind names the class of failure in reports: "resp:ERR",
	// "http:no_leader", "http:503", "net:refused", "timeout" ...
	Kind string
	Msg  string
}

func (e *OpError) Error() string { return e.Msg }

// ErrorKind classifies err for the error counts of a report.
func ErrorKind(err error) string {
	var oe *OpError
	var ne net.Error
	switch {
	case errors.As(err, &oe):
		return oe.Kind
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "net:refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "net:reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "net:eof"
	case errors.As(err, &ne):
		return "net:other"
	}
	return "other"
}
