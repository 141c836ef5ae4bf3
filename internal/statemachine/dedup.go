package statemachine

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/storage"
)

// Request deduplication (exactly-once writes; docs/REPLICATION.md).
//
// A request ID is prefix(24 bits) | counter(40 bits). For every prefix seen
// the applier keeps a dedupWindow: the highest counter applied and a bitmap
// of the command.DedupWindow counters at and below it. Before a request with
// a non-zero ID applies, its counter is checked against its proposer's
// window:
//
//   - after the highest (serial arithmetic, command.CounterAfter): the window
//     slides up to it, the counter is marked and the request applies;
//   - marked already: refused with ErrCodeDuplicateRequest;
//   - DedupWindow or more below the highest: refused with
//     ErrCodeStaleRequest, the result carrying the highest counter;
//   - otherwise: marked, and the request applies.
//
// A refused request has no effect at all (no revision, no change-index or
// undo entry, no lazy expiry): the check runs before anything else. The
// windows of the proposers an Apply call touched are written as meta
// records ("dedup/" + 6 hex digits of the prefix) in that call's batch, so
// they are exactly as durable as the writes they guard, and travel in
// snapshots (meta is a snapshot span). They are read back lazily on the
// first Apply after Open, Reload or a failed Apply.
//
// A store that has never seen a request with an ID keeps no window and
// behaves as before; old log entries replay identically unless they really
// are duplicates.

const metaDedupPrefix = "dedup/"

// dedupWords is the size of a window's bitmap in 64-bit words.
const dedupWords = command.DedupWindow / 64

// dedupRecordLen is the size of a persisted window: high, then the bitmap,
// big endian.
const dedupRecordLen = 8 + 8*dedupWords

// dedupWindow is one proposer's window. Bit i of bits (word i/64, bit
// i%64) is counter high-i; bit 0 is always set.
type dedupWindow struct {
	prefix  uint64 // the ID's top 24 bits, shifted down
	key     []byte // its meta key (dedupKey), made once
	high    uint64
	bits    [dedupWords]uint64
	touched bool // changed by the current Apply call
}

// check applies counter c to the window and returns the error code of a
// refused request ("" if it may apply).
func (w *dedupWindow) check(c uint64) string {
	if command.CounterAfter(c, w.high) {
		w.slide((c - w.high) & command.IDCounterMask)
		w.high = c
		w.bits[0] |= 1
		return ""
	}
	back := (w.high - c) & command.IDCounterMask
	if back >= command.DedupWindow {
		return command.ErrCodeStaleRequest
	}
	word, bit := back/64, uint64(1)<<(back%64)
	if w.bits[word]&bit != 0 {
		return command.ErrCodeDuplicateRequest
	}
	w.bits[word] |= bit
	return ""
}

// slide moves the bitmap up by d counters.
func (w *dedupWindow) slide(d uint64) {
	if d >= command.DedupWindow {
		w.bits = [dedupWords]uint64{}
		return
	}
	words, sh := int(d/64), d%64
	for i := dedupWords - 1; i >= 0; i-- {
		var v uint64
		if j := i - words; j >= 0 {
			v = w.bits[j] << sh
			if sh != 0 && j > 0 {
				v |= w.bits[j-1] >> (64 - sh)
			}
		}
		w.bits[i] = v
	}
}

func (w *dedupWindow) encode(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, w.high)
	for _, b := range w.bits {
		dst = binary.BigEndian.AppendUint64(dst, b)
	}
	return dst
}

func (w *dedupWindow) decode(b []byte) error {
	if len(b) != dedupRecordLen {
		return fmt.Errorf("statemachine: dedup record of %d bytes: %w", len(b), ErrCorrupt)
	}
	w.high = binary.BigEndian.Uint64(b)
	for i := range w.bits {
		w.bits[i] = binary.BigEndian.Uint64(b[8+8*i:])
	}
	return nil
}

// dedupState is the applier's part: windows by prefix, loaded lazily.
type dedupState struct {
	windows map[uint64]*dedupWindow
	touched []*dedupWindow
	loaded  bool
	buf     []byte
}

// dedupKey is the meta key of prefix's window.
func dedupKey(group, prefix uint64) []byte {
	var h [3]byte
	h[0], h[1], h[2] = byte(prefix>>16), byte(prefix>>8), byte(prefix)
	return storage.MetaKey(group, metaDedupPrefix+hex.EncodeToString(h[:]))
}

// dedupSpan bounds the meta keys of all windows.
func dedupSpan(group uint64) (lo, hi []byte) {
	return storage.MetaKey(group, metaDedupPrefix), storage.MetaKey(group, "dedup0") // '0' follows '/'
}

// loadDedup reads every window from r.
func loadDedup(r storage.Reader, group uint64) (map[uint64]*dedupWindow, error) {
	m := make(map[uint64]*dedupWindow)
	lo, hi := dedupSpan(group)
	it := r.NewIter(lo, hi)
	for valid := it.First(); valid; valid = it.Next() {
		k := it.Key()
		var h [3]byte
		if _, err := hex.Decode(h[:], k[len(lo):]); err != nil || len(k)-len(lo) != 6 {
			it.Close()
			return nil, fmt.Errorf("statemachine: dedup key %q: %w", k, ErrCorrupt)
		}
		w := &dedupWindow{prefix: uint64(h[0])<<16 | uint64(h[1])<<8 | uint64(h[2])}
		v := it.Value()
		if v == nil && it.Error() != nil {
			break
		}
		if err := w.decode(v); err != nil {
			it.Close()
			return nil, err
		}
		m[w.prefix] = w
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("statemachine: read dedup windows: %w", err)
	}
	return m, nil
}

// dedup checks request id against its proposer's window (marking it) and
// returns the error code of a refused request and, for a stale one, the
// window's highest counter.
func (a *applier) dedup(id uint64) (string, uint64, error) {
	d := &a.dd
	if !d.loaded {
		m, err := loadDedup(a.batch, a.sm.group)
		if err != nil {
			return "", 0, err
		}
		d.windows, d.loaded = m, true
	}
	prefix := id >> command.IDCounterBits
	c := id & command.IDCounterMask
	w := d.windows[prefix]
	if w == nil {
		w = &dedupWindow{prefix: prefix, high: c}
		w.bits[0] = 1
		d.windows[prefix] = w
	} else {
		code := w.check(c)
		if code != "" {
			return code, w.high, nil
		}
	}
	if !w.touched {
		w.touched = true
		d.touched = append(d.touched, w)
	}
	return "", 0, nil
}

// flushDedup writes the windows the current Apply call changed to its batch.
func (a *applier) flushDedup() {
	d := &a.dd
	for _, w := range d.touched {
		d.buf = w.encode(d.buf[:0])
		if w.key == nil {
			w.key = dedupKey(a.sm.group, w.prefix)
		}
		a.batch.Set(w.key, d.buf)
		w.touched = false
	}
	d.touched = d.touched[:0]
}

// endDedup ends an Apply call: a failed one leaves the in-memory windows
// ahead of the store, so they are read again.
func (a *applier) endDedup(failed bool) {
	if failed {
		a.dd.loaded, a.dd.windows = false, nil
	}
	for _, w := range a.dd.touched {
		w.touched = false
	}
	a.dd.touched = a.dd.touched[:0]
}

// DedupHigh returns the highest request counter applied for the proposer
// whose ID prefix (the top 24 bits, shifted down) is prefix, as persisted,
// and whether any was. The service starts its ID counter past it.
func (sm *StateMachine) DedupHigh(prefix uint64) (uint64, bool, error) {
	var w dedupWindow
	err := sm.db.GetFunc(dedupKey(sm.group, prefix), w.decode)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return w.high, true, nil
}
