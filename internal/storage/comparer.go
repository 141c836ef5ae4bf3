package storage

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// The store orders keys bytewise, as Pebble's default comparer does, but
// tells Pebble where a history key's version suffix starts (Split): every
// version of a user key shares one prefix, escaped(key) 0x00 0x01, and
// differs in the 8-byte ^rev that follows. Pebble builds its bloom filters
// on prefixes, so a lookup of a key's newest version (SeekPrefixGE on the
// prefix) skips every sstable that holds no version of it, and NextPrefix
// steps from one user key to the next. Every other key (raft log, meta,
// leases, change index, undo) is all prefix, as before.
//
// The comparer's name is recorded in the store; Pebble refuses to open a
// store written with another comparer (see errOtherComparer).
var comparer = func() *pebble.Comparer {
	c := *pebble.DefaultComparer
	c.Split = historySplit
	c.ImmediateSuccessor = historyImmediateSuccessor
	c.Name = ComparerName
	return &c
}()

// ComparerName names the store's key order in Pebble's manifest.
const ComparerName = "cairn.history-split.v1"

// historySplit returns the length of k's prefix: for a well-formed history
// version key, everything before the 8-byte revision; for any other key,
// the whole key. The escaping of user keys (0x00 → 0x00 0xff) makes the
// terminator 0x00 0x01 unique, so history prefixes are prefix-free and the
// bytewise order of keys is the order of (prefix, suffix) that Pebble
// requires.
func historySplit(k []byte) int {
	if len(k) < groupPrefixLen+2+8 || k[0] != nsHistory {
		return len(k)
	}
	if n := groupPrefixLen + afterTerminator(k[groupPrefixLen:]); n == len(k)-8 {
		return n
	}
	return len(k)
}

// historyImmediateSuccessor appends the smallest prefix key greater than
// every key with prefix a. For a history prefix that is past all its
// versions (AppendHistoryVersionsEnd), not a+0x00, which sorts before them.
func historyImmediateSuccessor(dst, a []byte) []byte {
	if len(a) >= groupPrefixLen+2 && a[0] == nsHistory && groupPrefixLen+afterTerminator(a[groupPrefixLen:]) == len(a) {
		return AppendHistoryVersionsEnd(append(dst, a...))
	}
	return append(append(dst, a...), 0)
}

// afterTerminator returns the offset just past the first unescaped
// terminator 0x00 0x01 in an escaped user key body, or -1 if there is none
// or the escaping is broken.
func afterTerminator(body []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(body[i:], 0)
		if j < 0 {
			return -1
		}
		i += j
		if i+1 >= len(body) {
			return -1
		}
		switch body[i+1] {
		case 1:
			return i + 2
		case 0xff: // an escaped 0x00
			i += 2
		default:
			return -1
		}
	}
}

// errOtherComparer turns Pebble's refusal to open a store written with a
// different comparer into a clear error.
func errOtherComparer(err error) error {
	if err == nil || !strings.Contains(err.Error(), "comparer name") {
		return err
	}
	return fmt.Errorf("%w: it was written with another key order (%v); this version needs %q: "+
		"start the node from an empty data directory and let it catch up from the cluster",
		ErrIncompatible, err, ComparerName)
}

// ErrIncompatible is returned by Open for a data directory this version
// cannot read.
var ErrIncompatible = errors.New("storage: incompatible data directory")
