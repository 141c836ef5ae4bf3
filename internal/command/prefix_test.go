package command

import "testing"

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a", "b"},
		{"a\xff", "b"},
		{"\xff\xff", "\x00"},
		{"", "\x00"},
		{"ab", "ac"},
	} {
		if got := string(PrefixEnd([]byte(tc.in))); got != tc.want {
			t.Errorf("PrefixEnd(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
