package statemachine

import (
	"testing"

	"github.com/cairndb/cairn/internal/command"
)

// TestIncrByFloat: with the increment as text, sums are Redis's (long
// double, "%.17Lf" trimmed); with only a float64 (old log entries), the
// float64 result they always had.
func TestIncrByFloat(t *testing.T) {
	for _, tc := range []struct {
		old   string // "" = absent
		text  string
		float float64
		want  string
		code  string
	}{
		{old: "0.1", text: "0.2", want: "0.3"},
		{old: "10.50", text: "0.1", want: "10.6"},
		{old: "5.0e3", text: "2.0e2", want: "5200"},
		{text: "3.0e3", want: "3000"},
		{old: "1", text: "-1", want: "0"},
		{old: "-0.1", text: "1e-20", want: "-0.1"},
		{old: "0", text: "-0", want: "0"},
		{old: "3", text: "0x1p-2", want: "3.25"},
		{old: "1e308", text: "1e308", code: command.ErrCodeNaNOrInf},
		{old: "abc", text: "1", code: command.ErrCodeNotFloat},
		{old: "1", text: "abc", code: command.ErrCodeNotFloat},
		// Without text: float64, as entries proposed before the text was sent.
		{old: "0.1", float: 0.2, want: "0.30000000000000004"},
		{float: 1.5, want: "1.5"},
	} {
		m := &command.MutateRequest{Op: command.MutateIncrByFloat, Value: []byte(tc.text), Float: tc.float}
		var old []byte
		if tc.old != "" {
			old = []byte(tc.old)
		}
		got, code := incrByFloat(old, tc.old != "", m)
		if string(got) != tc.want || code != tc.code {
			t.Errorf("%q + %q/%v = %q, %q; want %q, %q", tc.old, tc.text, tc.float, got, code, tc.want, tc.code)
		}
	}
}
