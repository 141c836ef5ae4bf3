package respserver

import (
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, key string
		want         bool
	}{
		{"*", "", false}, // as Redis: the loop never runs (keys are never empty)
		{"*", "anything", true},
		{"", "", true},
		{"", "a", false},
		{"a", "a", true},
		{"a", "b", false},
		{"a", "ab", false},
		{"ab", "a", false},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h*llo", "hllo", true},
		{"h*llo", "heeeello", true},
		{"h*llo", "hellx", false},
		{"h[ae]llo", "hello", true},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[a-b]llo", "hcllo", false},
		{"h[b-a]llo", "hallo", true}, // a reversed range is swapped
		{"h[\\]]llo", "h]llo", true},
		{"h\\*llo", "h*llo", true},
		{"h\\*llo", "hello", false},
		{"*\\", "a\\", true}, // a trailing backslash matches itself
		{"user:*", "user:1", true},
		{"user:*", "user", false},
		{"*:*:*", "a:b:c", true},
		{"*:*:*", "a:b", false},
		{"a*", "a", true},
		{"a**", "a", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"[abc", "a", true}, // an unterminated class ends the pattern
		{"[abc", "ab", false},
		{"[", "x", false},
		{"?", "", false},
		{"\xff*", "\xff\x00", true},
	} {
		if got := globMatch([]byte(tc.pattern), []byte(tc.key)); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %t, want %t", tc.pattern, tc.key, got, tc.want)
		}
	}
}

// TestGlobMatchPathological checks that the skipLonger pruning keeps a
// pattern with many stars linear-ish, as in Redis.
func TestGlobMatchPathological(t *testing.T) {
	pattern := []byte(strings.Repeat("a*", 30) + "b")
	key := []byte(strings.Repeat("a", 5000))
	if globMatch(pattern, key) {
		t.Fatal("unexpected match")
	}
}

func TestGlobPrefix(t *testing.T) {
	for _, tc := range []struct {
		pattern, prefix string
		literal         bool
	}{
		{"*", "", false},
		{"user:*", "user:", false},
		{"user:?", "user:", false},
		{"u[ab]", "u", false},
		{"exact", "exact", true},
		{"a\\*b*", "a*b", false},
		{"trailing\\", "trailing\\", true},
	} {
		p, lit := globPrefix([]byte(tc.pattern))
		if string(p) != tc.prefix || lit != tc.literal {
			t.Errorf("globPrefix(%q) = %q, %t; want %q, %t", tc.pattern, p, lit, tc.prefix, tc.literal)
		}
	}
}
