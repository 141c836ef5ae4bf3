package statemachine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/storage"
)

// LeaseInfo describes a lease as the state machine knows it: its ID,
// granted TTL and renewal count. Its deadline is not replicated (see the
// service's lessor).
type LeaseInfo struct {
	ID       int64 `json:"id"`
	TTL      int64 `json:"ttl_ms"`
	Renewals int64 `json:"-"`
}

// Leases returns every lease, ordered by ID.
func (sm *StateMachine) Leases() ([]LeaseInfo, error) {
	lower, upper := storage.LeaseKindSpan(sm.group, leaseKindLease)
	it := sm.db.NewIter(lower, upper)
	var out []LeaseInfo
	for valid := it.First(); valid; valid = it.Next() {
		k := it.Key()[len(lower):]
		if len(k) != 8 {
			it.Close()
			return nil, fmt.Errorf("statemachine: lease record: %w", ErrCorrupt)
		}
		id := int64(binary.BigEndian.Uint64(k))
		rec, err := decodeLeaseRecord(id, it.Value())
		if err != nil {
			it.Close()
			return nil, err
		}
		out = append(out, LeaseInfo{ID: id, TTL: rec.ttl, Renewals: rec.renewals})
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("statemachine: list leases: %w", err)
	}
	return out, nil
}

// Lease returns lease id and, with keys, the keys attached to it.
func (sm *StateMachine) Lease(id int64, keys bool) (info LeaseInfo, attached [][]byte, found bool, err error) {
	snap := sm.db.NewSnapshot()
	defer snap.Close()
	err = snap.GetFunc(sm.leaseKey(nil, leaseKindLease, id, nil), func(b []byte) error {
		rec, err := decodeLeaseRecord(id, b)
		info, found = LeaseInfo{ID: id, TTL: rec.ttl, Renewals: rec.renewals}, err == nil
		return err
	})
	if err != nil || !keys {
		if isNotFound(err) {
			err = nil
		}
		return info, nil, found, err
	}
	prefix := sm.leaseKey(nil, leaseKindKey, id, nil)
	it := snap.NewIter(prefix, prefixEnd(prefix))
	for valid := it.First(); valid; valid = it.Next() {
		attached = append(attached, bytes.Clone(it.Key()[len(prefix):]))
	}
	if err := it.Close(); err != nil {
		return LeaseInfo{}, nil, false, fmt.Errorf("statemachine: lease %d keys: %w", id, err)
	}
	return info, attached, found, nil
}

// Expiring is a key with an expiry.
type Expiring struct {
	Key []byte
	At  int64 // Unix milliseconds
}

// ExpiringBefore returns up to limit keys whose expiry is at or before at
// (Unix ms), earliest first.
func (sm *StateMachine) ExpiringBefore(at int64, limit int) ([]Expiring, error) {
	lower, _ := storage.LeaseKindSpan(sm.group, leaseKindExpiry)
	upper := sm.leaseKey(nil, leaseKindExpiry, at+1, nil)
	it := sm.db.NewIter(lower, upper)
	var out []Expiring
	for valid := it.First(); valid && len(out) < limit; valid = it.Next() {
		k := it.Key()[len(lower):]
		if len(k) < 9 {
			it.Close()
			return nil, fmt.Errorf("statemachine: expiry record: %w", ErrCorrupt)
		}
		out = append(out, Expiring{At: int64(binary.BigEndian.Uint64(k)), Key: bytes.Clone(k[8:])})
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("statemachine: expiry index: %w", err)
	}
	return out, nil
}

// LockHolder returns the token and lease of the holder of lock name.
func (sm *StateMachine) LockHolder(name []byte) (token, lease int64, ok bool, err error) {
	snap := sm.db.NewSnapshot()
	defer snap.Close()
	return sm.lockHead(snap, name)
}

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// LockWaiters returns the waiters of lock name in FIFO order; the first
// holds the lock.
func (sm *StateMachine) LockWaiters(name []byte) ([]command.LockGrant, error) {
	prefix := sm.lockPrefix(nil, name)
	it := sm.db.NewIter(prefix, prefixEnd(prefix))
	var out []command.LockGrant
	for valid := it.First(); valid; valid = it.Next() {
		k := it.Key()[len(prefix):]
		lease, n := binary.Varint(it.Value())
		if len(k) != 8 || n <= 0 {
			it.Close()
			return nil, fmt.Errorf("statemachine: lock %q queue record: %w", name, ErrCorrupt)
		}
		out = append(out, command.LockGrant{Name: bytes.Clone(name), Token: int64(binary.BigEndian.Uint64(k)), Lease: lease})
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("statemachine: lock %q: %w", name, err)
	}
	return out, nil
}
