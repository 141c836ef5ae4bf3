// Package redisnum parses integers exactly as Redis does (its string2ll),
// for the RESP codec (bulk and array lengths) and for the string commands
// (arguments and stored values), so every layer accepts the same inputs.
package redisnum

import "math"

// ParseInt parses b as Redis's string2ll: an optional '-', then "0" or a
// digit 1-9 followed by digits, fitting in int64; no '+', no leading
// zeros, no "-0", no spaces, at most 20 bytes.
func ParseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	switch {
	case !neg && v <= math.MaxInt64:
		return int64(v), true
	case neg && v <= 1<<63:
		return int64(-v), true // -(1<<63) wraps to MinInt64
	}
	return 0, false
}
