package statemachine

import (
	"encoding/binary"
	"fmt"

	"github.com/cairndb/cairn/internal/storage"
)

// ExpiryStats counts the keys with their own expiry (Redis TTLs) that is
// after now (Unix ms), and their average time to live in ms (INFO
// keyspace's expires and avg_ttl). It walks the expiry index, one entry
// per such key, so it costs as much as counting those keys. Keys that
// expire only with a lease are not counted, as a lease is not a key TTL.
func (sm *StateMachine) ExpiryStats(now int64) (count, avgTTL int64, err error) {
	_, upper := storage.LeaseKindSpan(sm.group, leaseKindExpiry)
	lower := sm.leaseKey(nil, leaseKindExpiry, max(now+1, 0), nil)
	it := sm.db.NewIter(lower, upper)
	prefix := len(lower) - 8
	var sum float64
	for valid := it.First(); valid; valid = it.Next() {
		k := it.Key()[prefix:]
		if len(k) < 9 {
			it.Close()
			return 0, 0, fmt.Errorf("statemachine: expiry record: %w", ErrCorrupt)
		}
		count++
		sum += float64(int64(binary.BigEndian.Uint64(k)) - now)
	}
	if err := it.Close(); err != nil {
		return 0, 0, fmt.Errorf("statemachine: expiry index: %w", err)
	}
	if count > 0 {
		avgTTL = int64(sum / float64(count))
	}
	return count, avgTTL, nil
}
