package service

import (
	"context"
	"fmt"
	"math"

	"github.com/cairndb/cairn/internal/command"
)

// Mutate applies an atomic read-modify-write of one key (see
// command.MutateOp): the read and the write happen in the state machine,
// in one apply step, so concurrent INCRs from any node never lose an
// update. A data-dependent failure returns the result together with
// ErrNotInteger, ErrNotFloat, ErrOverflow, ErrNaNOrInf, ErrValueTooLarge
// or ErrNoSuchKey, and writes nothing.
func (s *Service) Mutate(ctx context.Context, r *command.MutateRequest) (*command.Result, error) {
	if err := validateMutate(r); err != nil {
		return nil, err
	}
	return s.propose(ctx, &command.Request{Mutate: r})
}

// Rename moves the value of key to dest and deletes key, in one revision.
// With nx it does nothing (Written false) if dest exists. A missing key is
// ErrNoSuchKey.
func (s *Service) Rename(ctx context.Context, key, dest []byte, nx bool) (*command.MutateResult, error) {
	res, err := s.Mutate(ctx, &command.MutateRequest{Op: command.MutateRename, Key: key, Dest: dest, NX: nx})
	if err != nil {
		return nil, err
	}
	return res.Mutate, nil
}

// Get reads the latest version of one key at the requested consistency: a
// single point read after the read barrier. A missing key is (nil, rev,
// nil).
func (s *Service) Get(ctx context.Context, key []byte, o ReadOptions) (*command.KeyValue, int64, error) {
	if err := validateKey(key); err != nil {
		return nil, 0, err
	}
	if o.Consistency == Linearizable || o.MinRevision > 0 || !s.caughtUp.Load() {
		ctx, cancel := s.withTimeout(ctx)
		defer cancel()
		if err := s.readBarrier(ctx, o); err != nil {
			return nil, 0, err
		}
	}
	kv, rev, err := s.sm.Get(key, 0)
	if err != nil {
		return nil, 0, translateRead(err)
	}
	return hideExpired(kv, nowMillis()), rev, nil
}

// GetMany reads the latest version of several keys from one consistent
// snapshot, at the requested consistency; missing keys are nil.
func (s *Service) GetMany(ctx context.Context, keys [][]byte, o ReadOptions) ([]*command.KeyValue, int64, error) {
	if len(keys) > MaxScanLimit {
		return nil, 0, fmt.Errorf("%w: more than %d keys", ErrInvalid, MaxScanLimit)
	}
	for _, k := range keys {
		if err := validateKey(k); err != nil {
			return nil, 0, err
		}
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.readBarrier(ctx, o); err != nil {
		return nil, 0, err
	}
	kvs, rev, err := s.sm.GetMany(keys)
	if err != nil {
		return nil, 0, translateRead(err)
	}
	now := nowMillis()
	for i := range kvs {
		kvs[i] = hideExpired(kvs[i], now)
	}
	return kvs, rev, nil
}

func validateMutate(m *command.MutateRequest) error {
	if err := validateKey(m.Key); err != nil {
		return err
	}
	if m.Op == 0 || m.Op > command.MutateRename {
		return fmt.Errorf("%w: unknown mutate op %d", ErrInvalid, m.Op)
	}
	if len(m.Value) > MaxValueSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrValueTooLarge, len(m.Value), MaxValueSize)
	}
	switch m.Op {
	case command.MutateSet:
		if m.NX && m.XX {
			return fmt.Errorf("%w: NX and XX together", ErrInvalid)
		}
	case command.MutateSetRange:
		if m.Int < 0 {
			return fmt.Errorf("%w: negative offset", ErrInvalid)
		}
		if len(m.Value) > 0 && (m.Int > MaxValueSize || m.Int+int64(len(m.Value)) > MaxValueSize) {
			return fmt.Errorf("%w: offset %d plus %d bytes exceeds %d", ErrValueTooLarge, m.Int, len(m.Value), MaxValueSize)
		}
	case command.MutateIncrByFloat:
		if math.IsNaN(m.Float) || math.IsInf(m.Float, 0) {
			return fmt.Errorf("%w: increment is NaN or infinite", ErrInvalid)
		}
		if f, ok := command.ParseFloat(m.Value); len(m.Value) > 0 && (!ok || math.IsInf(f, 0)) {
			return fmt.Errorf("%w: increment %q is not a finite float", ErrInvalid, m.Value)
		}
	case command.MutateRename:
		if err := validateKey(m.Dest); err != nil {
			return err
		}
	}
	return nil
}
