package statemachine

import (
	"bytes"
	"math"
	"strconv"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/storage"
	"github.com/cairndb/cairn/internal/watch"
)

// mutateEventNames are the Redis keyspace event names of the mutate ops
// (RENAME names its two writes itself).
var mutateEventNames = [...]string{
	command.MutateSet:         "set",
	command.MutateDelete:      "del",
	command.MutateIncrBy:      "incrby",
	command.MutateIncrByFloat: "incrbyfloat",
	command.MutateAppend:      "append",
	command.MutateSetRange:    "setrange",
	command.MutateRename:      "rename_to",
}

// Read-modify-write operations (command.MutateRequest). Each reads the
// latest version of its key through the indexed batch, so it sees the
// writes of earlier requests and txn ops, and writes in the same step:
// the Redis commands that read before they write are atomic here, not in
// the front end. Every decision depends only on the stored bytes and the
// request, so it is the same on every node; INCRBYFLOAT adds in 64-bit
// mantissa big.Float arithmetic, as Redis's long double (floatincr.go).

// applyMutate applies a standalone Mutate request. A data-dependent error
// (not an integer, too large ...) is reported in Result.Err and in the
// MutateResult, and writes nothing.
func (a *applier) applyMutate(res *command.Result, m *command.MutateRequest) error {
	if !validMutate(m) {
		res.Err = command.ErrCodeInvalid
		return nil
	}
	mr, err := a.mutate(m, a.rev+1)
	if err != nil {
		return err
	}
	if mr.Written {
		a.rev++
	}
	res.Err = mr.Err
	res.Mutate = mr
	return nil
}

// validMutate checks the request-only parts of a mutate.
func validMutate(m *command.MutateRequest) bool {
	if len(m.Key) == 0 || m.Op == 0 || m.Op > command.MutateRename {
		return false
	}
	switch m.Op {
	case command.MutateSet:
		return !(m.NX && m.XX)
	case command.MutateSetRange:
		return m.Int >= 0
	case command.MutateRename:
		return len(m.Dest) > 0
	case command.MutateIncrByFloat:
		return !math.IsNaN(m.Float) && !math.IsInf(m.Float, 0)
	}
	return true
}

// mutate applies m at revision rev. The result's Written reports whether
// anything was written.
func (a *applier) mutate(m *command.MutateRequest, rev int64) (*command.MutateResult, error) {
	a.keyBuf = storage.AppendLatestKey(a.keyBuf[:0], a.sm.group, m.Key)
	found, err := a.getLatest(a.keyBuf)
	if err != nil {
		return nil, err
	}
	a.chg.op = mutateEventNames[m.Op]
	defer func() { a.chg.op = "" }()
	res := &command.MutateResult{Existed: found}
	old := a.got.value // valid until the next getLatest
	lease, exp := a.got.lease, a.got.expire
	vtype := a.got.vtype
	if found && vtype != command.TypeBytes && stringOnly(m) {
		// INCR, APPEND, GETSET ... of a document: WRONGTYPE, as Redis.
		res.Err = command.ErrCodeWrongType
		return res, nil
	}
	if m.PrevValue && found && len(old) > 0 {
		res.Prev = bytes.Clone(old)
	}
	switch m.Op {
	case command.MutateSet:
		if (m.NX && found) || (m.XX && !found) {
			return res, nil
		}
		// SET replaces the key, lease and expiry included, as Redis's SET
		// drops a TTL (unless KEEPTTL).
		if !m.KeepTTL || !found {
			exp = 0
		}
		return res, a.mutateWrite(res, m.Key, m.Value, 0, exp, rev)

	case command.MutateDelete:
		if found {
			if err := a.deleteKey(m.Key, rev, watch.Delete); err != nil {
				return nil, err
			}
			res.Written, res.Int = true, 1
		}
		return res, nil

	case command.MutateIncrBy:
		var cur int64
		if found {
			var ok bool
			if cur, ok = command.ParseInteger(old); !ok {
				res.Err = command.ErrCodeNotInteger
				return res, nil
			}
		}
		if (m.Int < 0 && cur < 0 && m.Int < math.MinInt64-cur) ||
			(m.Int > 0 && cur > 0 && m.Int > math.MaxInt64-cur) {
			res.Err = command.ErrCodeOverflow
			return res, nil
		}
		res.Int = cur + m.Int
		a.mutBuf = strconv.AppendInt(a.mutBuf[:0], res.Int, 10)
		return res, a.mutateWrite(res, m.Key, a.mutBuf, lease, exp, rev)

	case command.MutateIncrByFloat:
		text, code := incrByFloat(old, found, m)
		if code != "" {
			res.Err = code
			return res, nil
		}
		a.mutBuf = append(a.mutBuf[:0], text...)
		res.Value = text
		return res, a.mutateWrite(res, m.Key, a.mutBuf, lease, exp, rev)

	case command.MutateAppend:
		n := int64(len(old)) + int64(len(m.Value))
		if n > command.MaxValueSize {
			res.Err = command.ErrCodeTooLarge
			return res, nil
		}
		res.Int = n
		a.mutBuf = append(append(a.mutBuf[:0], old...), m.Value...)
		return res, a.mutateWrite(res, m.Key, a.mutBuf, lease, exp, rev)

	case command.MutateSetRange:
		if len(m.Value) == 0 {
			res.Int = int64(len(old))
			return res, nil
		}
		end := m.Int + int64(len(m.Value)) // m.Int >= 0 and <= MaxInt64 - value length below
		if m.Int > command.MaxValueSize || end > command.MaxValueSize {
			res.Err = command.ErrCodeTooLarge
			return res, nil
		}
		a.mutBuf = append(a.mutBuf[:0], old...)
		if int64(len(a.mutBuf)) < end {
			a.mutBuf = append(a.mutBuf, make([]byte, end-int64(len(a.mutBuf)))...)
		}
		copy(a.mutBuf[m.Int:], m.Value)
		res.Int = int64(len(a.mutBuf))
		return res, a.mutateWrite(res, m.Key, a.mutBuf, lease, exp, rev)

	case command.MutateRename:
		if !found {
			res.Err = command.ErrCodeNoSuchKey
			return res, nil
		}
		if bytes.Equal(m.Key, m.Dest) {
			return res, nil
		}
		a.mutBuf = append(a.mutBuf[:0], old...) // before getLatest reuses old
		a.keyBuf = storage.AppendLatestKey(a.keyBuf[:0], a.sm.group, m.Dest)
		destFound, err := a.getLatest(a.keyBuf)
		if err != nil {
			return nil, err
		}
		if m.NX && destFound {
			return res, nil
		}
		a.chg.op = "rename_from"
		if err := a.deleteKey(m.Key, rev, watch.Delete); err != nil {
			return nil, err
		}
		a.chg.op = "rename_to"
		// The destination takes the source's value, type, lease and expiry,
		// as Redis's RENAME moves the TTL with the value.
		return res, a.mutateWriteTyped(res, m.Dest, a.mutBuf, vtype, lease, exp, rev)
	}
	return res, nil
}

// stringOnly reports whether m reads the stored value as a string (every
// op but a plain SET, DEL and RENAME).
func stringOnly(m *command.MutateRequest) bool {
	switch m.Op {
	case command.MutateSet, command.MutateDelete:
		return m.PrevValue
	case command.MutateRename:
		return false
	}
	return true
}

// mutateWrite puts value at key at rev, as plain bytes, and marks res
// written. value must not alias a.gotVal (put reads the key again).
func (a *applier) mutateWrite(res *command.MutateResult, key, value []byte, lease, exp, rev int64) error {
	return a.mutateWriteTyped(res, key, value, command.TypeBytes, lease, exp, rev)
}

func (a *applier) mutateWriteTyped(res *command.MutateResult, key, value []byte, vtype command.ValueType, lease, exp, rev int64) error {
	if _, err := a.putFull(&command.PutRequest{Key: key, Value: value, Lease: lease}, vtype, exp, rev); err != nil {
		return err
	}
	res.Written = true
	return nil
}
