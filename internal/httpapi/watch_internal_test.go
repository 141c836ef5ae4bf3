package httpapi

import (
	"fmt"
	"testing"
)

func FuzzParseEventID(f *testing.F) {
	for _, s := range []string{"3/1", "1/0", "", "/", "-1/2", "9223372036854775807/1", "3/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		rev, n, err := parseEventID(id)
		if err != nil {
			return
		}
		if rev < 1 || n < 0 {
			t.Fatalf("parseEventID(%q) = %d, %d", id, rev, n)
		}
		if rev2, n2, err := parseEventID(fmt.Sprintf("%d/%d", rev, n)); err != nil || rev2 != rev || n2 != n {
			t.Fatalf("round trip of %q: %d %d %v", id, rev2, n2, err)
		}
	})
}
