package storage

import "encoding/binary"

// The change index (namespace 0x09) lists every key written at each
// revision, in revision order: ChangeKey(g, rev, key) -> one byte saying
// what happened (the state machine's event type). History is key-major;
// this index answers "what changed between revisions A and B" for
// watches without scanning every key. The value is not copied here: it is
// read from the key's history at that revision.

// AppendChangeKey appends the change-index key of user key k written at
// rev to dst: namespace, group, rev (8 bytes big endian), k.
func AppendChangeKey(dst []byte, group uint64, rev uint64, k []byte) []byte {
	dst = append(dst, nsChanges)
	dst = binary.BigEndian.AppendUint64(dst, group)
	dst = binary.BigEndian.AppendUint64(dst, rev)
	return append(dst, k...)
}

// ChangeSpan returns the bounds [lower, upper) of the change-index entries
// with revisions in [from, to). to == 0 means "to the end".
func ChangeSpan(group, from, to uint64) (lower, upper []byte) {
	lower = binary.BigEndian.AppendUint64(groupPrefix(nsChanges, group, 8), from)
	if to == 0 {
		return lower, groupPrefix(nsChanges, group+1, 0)
	}
	return lower, binary.BigEndian.AppendUint64(groupPrefix(nsChanges, group, 8), to)
}

// DecodeChangeKey returns the revision and user key of a change-index key.
// The key aliases the input.
func DecodeChangeKey(key []byte) (rev uint64, userKey []byte, err error) {
	if len(key) < groupPrefixLen+8 || key[0] != nsChanges {
		return 0, nil, ErrCorruptKey
	}
	return binary.BigEndian.Uint64(key[groupPrefixLen:]), key[groupPrefixLen+8:], nil
}
