package raftnode

import (
	"encoding/binary"
	"errors"
)

// Client proposals are batched: one raft entry carries many proposals, so
// many concurrent writes cost one log append and one fsync. Entry data:
//
//	version byte (1) | uvarint count | count × (uvarint len | bytes)
const framingVersion = 1

// errBadFraming is returned for entry data that does not decode.
var errBadFraming = errors.New("raftnode: malformed proposal framing")

// appendFramed appends the framing of proposals to dst.
func appendFramed(dst []byte, proposals [][]byte) []byte {
	dst = append(dst, framingVersion)
	dst = binary.AppendUvarint(dst, uint64(len(proposals)))
	for _, p := range proposals {
		dst = binary.AppendUvarint(dst, uint64(len(p)))
		dst = append(dst, p...)
	}
	return dst
}

func framedSize(proposals [][]byte) int {
	n := 1 + binary.MaxVarintLen64
	for _, p := range proposals {
		n += binary.MaxVarintLen64 + len(p)
	}
	return n
}

// splitFramed returns the proposals in entry data, aliasing data. Empty data
// (the leader's no-op entry) holds no proposals.
func splitFramed(data []byte, dst [][]byte) ([][]byte, error) {
	if len(data) == 0 {
		return dst, nil
	}
	if data[0] != framingVersion {
		return dst, errBadFraming
	}
	data = data[1:]
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)) {
		return dst, errBadFraming
	}
	data = data[k:]
	for i := uint64(0); i < n; i++ {
		l, k := binary.Uvarint(data)
		if k <= 0 || l > uint64(len(data)-k) {
			return dst, errBadFraming
		}
		dst = append(dst, data[k:k+int(l)])
		data = data[k+int(l):]
	}
	if len(data) != 0 {
		return dst, errBadFraming
	}
	return dst, nil
}
