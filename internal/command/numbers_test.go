package command

import (
	"math"
	"testing"
)

func TestParseInteger(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"-1", -1, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"99999999999999999999", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"-0", 0, false},
		{"01", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1a", 0, false},
		{"1.0", 0, false},
		{"123456789012345678901", 0, false},
	} {
		got, ok := ParseInteger([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseInteger(%q) = %d, %t; want %d, %t", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseFloat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0", 0, true},
		{"10.5", 10.5, true},
		{"-5e-1", -0.5, true},
		{"5.0e3", 5000, true},
		{"inf", math.Inf(1), true},
		{"nan", 0, false},
		{"1e400", 0, false},
		{"", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"abc", 0, false},
	} {
		got, ok := ParseFloat([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseFloat(%q) = %v, %t; want %v, %t", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
