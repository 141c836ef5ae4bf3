package statemachine

import (
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/storage"
)

// ErrOldFormat is returned by Open when the data directory was written by an
// older, incompatible storage format (see storage.FormatVersion). There is
// no migration: start the node from an empty data directory and let it
// catch up from the cluster (or restore a backup taken with this version).
var ErrOldFormat = errors.New("statemachine: data directory has an older storage format")

// checkFormat verifies the storage format marker (storage.MetaFormat) of
// the group, writing it if the store holds no state machine data yet. A
// store with data in the retired latest namespace (format 1) or with data
// but no marker (format 1 never wrote one), or with another format, is
// refused.
func (sm *StateMachine) checkFormat() error {
	key := storage.MetaKey(sm.group, storage.MetaFormat)
	lo, hi := storage.RetiredLatestSpan(sm.group)
	if nonEmpty, err := spanHasKeys(sm.db, lo, hi); err != nil || nonEmpty {
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: it holds latest-namespace records (format 1), this version reads format %d; "+
			"start from an empty data directory", ErrOldFormat, storage.FormatVersion)
	}
	format, err := readUint64(sm.db, key)
	if err != nil {
		return err
	}
	switch {
	case format == storage.FormatVersion:
		return nil
	case format != 0:
		return fmt.Errorf("%w: it is format %d, this version reads format %d", ErrOldFormat, format, storage.FormatVersion)
	}
	for _, s := range storage.StateMachineSpans(sm.group) {
		nonEmpty, err := spanHasKeys(sm.db, s[0], s[1])
		if err != nil {
			return err
		}
		if nonEmpty {
			return fmt.Errorf("%w: it holds state machine data without a format marker (format 1), "+
				"this version reads format %d; start from an empty data directory", ErrOldFormat, storage.FormatVersion)
		}
	}
	b := sm.db.NewBatch()
	defer b.Close()
	putUint64(b, key, storage.FormatVersion)
	if err := b.Commit(false); err != nil {
		return fmt.Errorf("statemachine: write format marker: %w", err)
	}
	return nil
}

func spanHasKeys(r storage.Reader, lower, upper []byte) (bool, error) {
	it := r.NewIter(lower, upper)
	found := it.First()
	if err := it.Close(); err != nil {
		return false, fmt.Errorf("statemachine: check storage format: %w", err)
	}
	return found, nil
}
