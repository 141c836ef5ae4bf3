package command

import "bytes"

// ValidCompare reports whether c is well formed: a non-empty key, a known
// target and result, and the operands the target allows. The state
// machine answers a txn with a malformed compare with ErrCodeInvalid,
// whatever the data.
func ValidCompare(c *Compare) bool {
	if len(c.Key) == 0 || c.Target < CompareValue || c.Target > CompareUnchangedSince ||
		c.Result < CompareEqual || c.Result > CompareGreater {
		return false
	}
	switch c.Target {
	case CompareExists:
		return c.Int >= 0 && c.Int <= 1 && (c.Result == CompareEqual || c.Result == CompareNotEqual)
	case CompareUnchangedSince:
		if c.Result != CompareEqual || c.Int < 0 {
			return false
		}
		// The span must not be empty: an end <= key selects nothing, and a
		// compare over nothing would always hold.
		return len(c.Value) == 0 || IsEndOfKeyspace(c.Value) || bytes.Compare(c.Value, c.Key) > 0
	}
	return true
}

// IsEndOfKeyspace reports whether end is the range end "\x00", which
// selects every key >= the start (as in etcd).
func IsEndOfKeyspace(end []byte) bool { return len(end) == 1 && end[0] == 0 }

// InSpan reports whether k is selected by the span key, end (end empty:
// k == key; end "\x00": k >= key; else key <= k < end).
func InSpan(k, key, end []byte) bool {
	switch {
	case len(end) == 0:
		return bytes.Equal(k, key)
	case IsEndOfKeyspace(end):
		return bytes.Compare(k, key) >= 0
	default:
		return bytes.Compare(k, key) >= 0 && bytes.Compare(k, end) < 0
	}
}
