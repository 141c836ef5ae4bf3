package command

import (
	"math"
	"strconv"
)

// The number formats of the Redis string commands, shared by the state
// machine (which parses stored values) and the RESP front end (which
// parses arguments) so both accept exactly the same inputs.

// ParseInteger parses b as Redis's string2ll does: an optional '-', then
// "0" or a digit 1-9 followed by digits, fitting in int64; no '+', no
// leading zeros, no spaces, at most 20 bytes.
func ParseInteger(b []byte) (int64, bool) {
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
		if v > (math.MaxUint64-9)/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true // -(1<<63) wraps to MinInt64
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// ParseFloat parses a stored value for MutateIncrByFloat: what
// strconv.ParseFloat accepts, except NaN, values out of float64 range,
// leading or trailing spaces, and values over 5 KiB (Redis's
// MAX_LONG_DOUBLE_CHARS).
func ParseFloat(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > 5<<10 {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}
