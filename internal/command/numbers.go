package command

import (
	"math"
	"strconv"

	"github.com/cairndb/cairn/internal/redisnum"
)

// The number formats of the Redis string commands, shared by the state
// machine (which parses stored values) and the RESP front end (which
// parses arguments) so both accept exactly the same inputs.

// ParseInteger parses b as Redis's string2ll does (see redisnum.ParseInt).
func ParseInteger(b []byte) (int64, bool) { return redisnum.ParseInt(b) }

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
