package storage

import (
	"encoding/binary"
	"errors"
)

// Namespace tags. Each is followed by an 8-byte big-endian group ID.
const (
	nsRaftLog   byte = 0x01
	nsRaftState byte = 0x02
	nsMeta      byte = 0x03
	nsLatest    byte = 0x04
	nsHistory   byte = 0x05
	nsLease     byte = 0x06 // leases, their key and lock indexes, per-key expiry index, lock queues
	nsChanges   byte = 0x09 // revision-ordered change index (changes.go)
	nsUndo      byte = 0x0A // undo/redo marks and the redo stack (undo.go)
)

// Raft state kinds (the byte after the group in the nsRaftState namespace).
const (
	RaftStateHard     byte = 'h' // raftpb.HardState
	RaftStateTruncate byte = 't' // index and term of the last compacted entry (16 bytes)
)

// ErrCorruptKey is returned when a stored key does not decode.
var ErrCorruptKey = errors.New("storage: corrupt key")

const groupPrefixLen = 1 + 8

func groupPrefix(ns byte, group uint64, extra int) []byte {
	k := make([]byte, groupPrefixLen, groupPrefixLen+extra)
	k[0] = ns
	binary.BigEndian.PutUint64(k[1:], group)
	return k
}

// RaftLogKey is the key of the raft log entry at index.
func RaftLogKey(group, index uint64) []byte {
	return AppendRaftLogKey(nil, group, index)
}

// AppendRaftLogKey appends the raft log key of index to dst.
func AppendRaftLogKey(dst []byte, group, index uint64) []byte {
	dst = append(dst, nsRaftLog)
	dst = binary.BigEndian.AppendUint64(dst, group)
	return binary.BigEndian.AppendUint64(dst, index)
}

// RaftLogIndex decodes the index from a raft log key.
func RaftLogIndex(key []byte) (uint64, error) {
	if len(key) != groupPrefixLen+8 || key[0] != nsRaftLog {
		return 0, ErrCorruptKey
	}
	return binary.BigEndian.Uint64(key[groupPrefixLen:]), nil
}

// RaftLogSpan returns the bounds [lower, upper) covering all log entries of a group.
func RaftLogSpan(group uint64) (lower, upper []byte) {
	return groupPrefix(nsRaftLog, group, 0), groupPrefix(nsRaftLog, group+1, 0)
}

// RaftStateKey is the key of a raft state record of the given kind.
func RaftStateKey(group uint64, kind byte) []byte {
	return append(groupPrefix(nsRaftState, group, 1), kind)
}

// MetaKey is the key of a named state machine meta record.
func MetaKey(group uint64, name string) []byte {
	return append(groupPrefix(nsMeta, group, len(name)), name...)
}

// The latest namespace (0x04) is retired: a key's latest record is the
// newest version in the history namespace, and nothing is stored under
// nsLatest any more (storage format 2, see MetaFormat). LatestKey survives
// as the name of a key's latest record in the state machine's in-memory
// structures (its latest-record cache and the applier's pending writes);
// it must never be written to the database.

// LatestKey is the in-memory name of user key k's latest record.
func LatestKey(group uint64, k []byte) []byte {
	return AppendLatestKey(nil, group, k)
}

// AppendLatestKey appends LatestKey(group, k) to dst.
func AppendLatestKey(dst []byte, group uint64, k []byte) []byte {
	dst = append(dst, nsLatest)
	dst = binary.BigEndian.AppendUint64(dst, group)
	return append(dst, k...)
}

// LatestUserKey returns the user key a LatestKey names (aliasing key).
func LatestUserKey(key []byte) ([]byte, error) {
	if len(key) < groupPrefixLen || key[0] != nsLatest {
		return nil, ErrCorruptKey
	}
	return key[groupPrefixLen:], nil
}

// RetiredLatestSpan returns the bounds [lower, upper) of the retired latest
// namespace of a group: a store of format 2 or later holds nothing there.
func RetiredLatestSpan(group uint64) (lower, upper []byte) {
	return groupPrefix(nsLatest, group, 0), groupPrefix(nsLatest, group+1, 0)
}

// History keys encode the user key so that all versions of one key are
// contiguous and ordered newest first: escaped(key) 0x00 0x01 ^rev, where
// escaping turns 0x00 into 0x00 0xff. The terminator 0x00 0x01 sorts before
// any escaped continuation, so history keys sort in user-key order.

// HistoryKey is the key of the version of user key k written at revision rev.
func HistoryKey(group uint64, k []byte, rev uint64) []byte {
	dst := AppendHistoryPrefix(make([]byte, 0, groupPrefixLen+len(k)+2+8+4), group, k)
	return binary.BigEndian.AppendUint64(dst, ^rev)
}

// AppendHistoryPrefix appends the prefix shared by all versions of k.
func AppendHistoryPrefix(dst []byte, group uint64, k []byte) []byte {
	dst = append(dst, nsHistory)
	dst = binary.BigEndian.AppendUint64(dst, group)
	for _, c := range k {
		if c == 0 {
			dst = append(dst, 0, 0xff)
			continue
		}
		dst = append(dst, c)
	}
	return append(dst, 0, 1)
}

// DecodeHistoryKey returns the user key and revision of a history key.
func DecodeHistoryKey(key []byte) (userKey []byte, rev uint64, err error) {
	return AppendDecodedHistoryKey(nil, key)
}

// AppendDecodedHistoryKey is DecodeHistoryKey appending the user key to
// dst (which it returns extended, or dst unchanged on error).
func AppendDecodedHistoryKey(dst, key []byte) (userKey []byte, rev uint64, err error) {
	if len(key) < groupPrefixLen+2+8 || key[0] != nsHistory {
		return dst, 0, ErrCorruptKey
	}
	body := key[groupPrefixLen : len(key)-8]
	rev = ^binary.BigEndian.Uint64(key[len(key)-8:])
	if dst == nil {
		dst = make([]byte, 0, len(body))
	}
	userKey = dst
	for i := 0; i < len(body); i++ {
		if body[i] != 0 {
			userKey = append(userKey, body[i])
			continue
		}
		if i+1 >= len(body) {
			return dst, 0, ErrCorruptKey
		}
		switch body[i+1] {
		case 0xff:
			userKey = append(userKey, 0)
			i++
		case 1:
			if i+2 != len(body) {
				return dst, 0, ErrCorruptKey
			}
			return userKey, rev, nil
		default:
			return dst, 0, ErrCorruptKey
		}
	}
	return dst, 0, ErrCorruptKey
}

// HistorySpan returns the bounds [lower, upper) of all history keys of a group.
func HistorySpan(group uint64) (lower, upper []byte) {
	return groupPrefix(nsHistory, group, 0), groupPrefix(nsHistory, group+1, 0)
}

// HistoryKeySpan returns the bounds [lower, upper) of all versions of user key k.
func HistoryKeySpan(group uint64, k []byte) (lower, upper []byte) {
	lower = AppendHistoryPrefix(nil, group, k)
	upper = append(append([]byte(nil), lower...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	return lower, upper
}

// HistoryRangeSpan returns the bounds [lower, upper) of the versions of
// every user key in [start, end). A nil end means "to the end of the
// keyspace".
func HistoryRangeSpan(group uint64, start, end []byte) (lower, upper []byte) {
	lower = AppendHistoryPrefix(nil, group, start)
	if end == nil {
		return lower, groupPrefix(nsHistory, group+1, 0)
	}
	return lower, AppendHistoryPrefix(nil, group, end)
}

// StateMachineSpans returns every span holding state machine data of a group
// (meta, history, leases, changes, undo): what a snapshot carries and a
// restore replaces.
func StateMachineSpans(group uint64) [][2][]byte {
	return [][2][]byte{
		{groupPrefix(nsMeta, group, 0), groupPrefix(nsMeta, group+1, 0)},
		{groupPrefix(nsHistory, group, 0), groupPrefix(nsHistory, group+1, 0)},
		{groupPrefix(nsLease, group, 0), groupPrefix(nsLease, group+1, 0)},
		{groupPrefix(nsChanges, group, 0), groupPrefix(nsChanges, group+1, 0)},
		{groupPrefix(nsUndo, group, 0), groupPrefix(nsUndo, group+1, 0)},
	}
}

// AppendLeaseKey appends the prefix of the state machine's lease records of
// the given kind (a byte the state machine defines: leases, attached keys,
// expiry index, lock queues ...) to dst; the caller appends the rest.
func AppendLeaseKey(dst []byte, group uint64, kind byte) []byte {
	dst = append(dst, nsLease)
	dst = binary.BigEndian.AppendUint64(dst, group)
	return append(dst, kind)
}

// LeaseKindSpan returns the bounds [lower, upper) of the lease records of
// one kind.
func LeaseKindSpan(group uint64, kind byte) (lower, upper []byte) {
	lower = AppendLeaseKey(nil, group, kind)
	if kind == 0xff {
		return lower, groupPrefix(nsLease, group+1, 0)
	}
	return lower, AppendLeaseKey(nil, group, kind+1)
}

// Well-known meta records (nsMeta) of a group's state machine. They are
// written by the state machine in the same batch as the data they describe.
const (
	MetaApplied   = "applied"   // uint64 big endian: last applied raft index
	MetaConfState = "confstate" // raftpb.ConfState (proto): read by raftlog at startup
	MetaRevision  = "revision"  // int64 big endian: current store revision
	MetaCompacted = "compacted" // int64 big endian: compaction horizon revision
	MetaMembers   = "members"   // JSON []membership.Member
	MetaFormat    = "format"    // uint64 big endian: storage format (FormatVersion)
)

// FormatVersion is the storage format of a state machine this code writes
// and reads. Format 1 (never recorded) kept a copy of each key's latest
// record in the latest namespace; format 2 keeps records only in history.
const FormatVersion = 2
