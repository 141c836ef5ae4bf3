package statemachine

import (
	"bytes"
	"math"
	"math/big"
	"strconv"

	"github.com/cairndb/cairn/internal/command"
)

// INCRBYFLOAT arithmetic, as Redis does it.
//
// Redis adds in C's long double, which on the platforms it runs on is the
// x87 extended format (64-bit mantissa, round to nearest even), and prints
// the sum with "%.17Lf" with trailing zeros removed. Decimal inputs such as
// 0.1 and 0.2 are then printed back as the user would expect ("0.3", where
// float64 arithmetic gives 0.30000000000000004). big.Float at 64 bits of
// precision performs the same correctly rounded addition, deterministically
// on every node.

const longDoublePrec = 64

// incrByFloat returns the text of old + the increment of m, or an error
// code. old is the stored value (nil when the key is absent).
//
// A request that carries the increment as text (m.Value, as RESP sends it)
// is added as a long double. One without (entries written before this
// existed, API callers that send only m.Float) keeps float64 arithmetic
// and strconv's shortest formatting, so replaying an old log gives the
// values it gave then.
func incrByFloat(old []byte, found bool, m *command.MutateRequest) ([]byte, string) {
	if len(m.Value) == 0 {
		var cur float64
		if found {
			var ok bool
			if cur, ok = command.ParseFloat(old); !ok {
				return nil, command.ErrCodeNotFloat
			}
		}
		sum := cur + m.Float
		if math.IsNaN(sum) || math.IsInf(sum, 0) {
			return nil, command.ErrCodeNaNOrInf
		}
		return strconv.AppendFloat(nil, sum, 'f', -1, 64), ""
	}
	cur := new(big.Float).SetPrec(longDoublePrec)
	if found {
		if !parseLongDouble(cur, old) {
			return nil, command.ErrCodeNotFloat
		}
	}
	inc := new(big.Float).SetPrec(longDoublePrec)
	if !parseLongDouble(inc, m.Value) {
		return nil, command.ErrCodeNotFloat
	}
	sum := new(big.Float).SetPrec(longDoublePrec).Add(cur, inc)
	if f, _ := sum.Float64(); math.IsInf(f, 0) {
		return nil, command.ErrCodeNaNOrInf // the next INCRBYFLOAT could not read it
	}
	return formatLongDouble(sum), ""
}

// parseLongDouble sets f to the number b spells, rounded to f's precision.
// b must be a finite float (command.ParseFloat); decimal spellings are
// read exactly, others (hexadecimal) through float64.
func parseLongDouble(f *big.Float, b []byte) bool {
	v, ok := command.ParseFloat(b)
	if !ok || math.IsInf(v, 0) {
		return false
	}
	if bytes.ContainsAny(b, "xXpP_iInN") { // hexadecimal, inf, nan
		f.SetFloat64(v)
		return true
	}
	if _, _, err := f.Parse(string(b), 10); err != nil {
		f.SetFloat64(v)
	}
	return true
}

// formatLongDouble prints f as Redis prints a long double for humans:
// "%.17Lf" without trailing zeros (and without a trailing point), "-0" as "0".
func formatLongDouble(f *big.Float) []byte {
	b := f.Append(nil, 'f', 17)
	if bytes.IndexByte(b, '.') >= 0 {
		b = bytes.TrimRight(b, "0")
		b = bytes.TrimSuffix(b, []byte("."))
	}
	if string(b) == "-0" {
		b = b[1:]
	}
	return b
}
