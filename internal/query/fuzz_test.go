package query

import (
	"bytes"
	"testing"
)

// FuzzJSON checks that a parsed JSON document encodes to a form that
// parses to the same encoding (the converter is its own inverse on its
// output).
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{}`, `[1,2.5,"x",null,true]`, `{"a":{"b":[1e300,-0.0]}}`, `"\u00e9\n"`, `123456789012345678901234`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := fromJSON(b)
		if err != nil {
			return
		}
		enc, err := toJSON(v, 0)
		if err != nil {
			return // e.g. NaN cannot come from JSON, but deep nesting can fail
		}
		v2, err := fromJSON(enc)
		if err != nil {
			t.Fatalf("%q re-encoded as %q which does not parse: %v", b, enc, err)
		}
		enc2, err := toJSON(v2, 0)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("%q: %q then %q (%v)", b, enc, enc2, err)
		}
	})
}
