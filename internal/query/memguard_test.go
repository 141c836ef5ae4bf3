package query

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestMultiplication: `*` and `*=` keep their meaning after the rewrite
// into checked calls.
func TestMultiplication(t *testing.T) {
	st := newMemStore()
	for _, tc := range []struct{ in, out string }{
		{"[v*v for v in range(5)]", "[0, 1, 4, 9, 16]"},
		{"2.5 * 2, 3 * 4, -2 * 3", "[5.0, 12, -6]"},
		{"'ab' * 3, 3 * 'ab', 'ab' * -1, 'ab' * 0", `["ababab", "ababab", "", ""]`},
		{"[1, 2] * 2, 2 * (1,)", "[[1, 2, 1, 2], [1, 1]]"},
		{"x = [1]\nx *= 3\nx", "[1, 1, 1]"},
		{"d = {'a': [0]}\nd['a'] *= 2\nd", `{"a": [0, 0]}`},
		{"n = 2\nn *= n * 3\nn", "12"},
		{"l = [[1], [2]]\nl[1 * 1] *= 2 * 1\nl", "[[1], [2, 2]]"},
		{"def f(x):\n  y = x\n  y *= 2\n  return y * 3\nf(2)", "12"},
		{"(2 * 3) * (4 * 5)", "120"},
		{"len('x' * 16777215)", "16777215"},
	} {
		got, _ := run(t, st, nil, tc.in)
		if got != tc.out {
			t.Errorf("%q = %s, want %s", tc.in, got, tc.out)
		}
	}
}

// TestMemoryLimits: repetitions and ranges that would allocate gigabytes
// are refused before allocating; growth over many steps is cancelled.
func TestMemoryLimits(t *testing.T) {
	st := newMemStore()
	for _, tc := range []struct {
		script string
		opts   Options
		want   string
	}{
		{script: "[0] * 1000000000", want: "repeating 1 elements 1000000000 times exceeds"},
		{script: "x = 'ab' * 10000000", want: "repeating 2 bytes 10000000 times exceeds"},
		{script: "x = (1, 2)\nx *= 1000000000", want: "repeating 2 elements 1000000000 times"},
		{script: "x = [0]\nfor i in range(40):\n  x = x * 2\n", want: "exceeds the limit"},
		{script: "list(range(1000000000))", want: "range of 1000000000 elements exceeds the step limit"},
		{script: "l = [[1]]\nl[len(l) - 1] *= 2", want: "'*=' needs a target without calls"},
		{
			// Doubling a string: each step is within the repeat limit,
			// the heap watchdog stops the growth.
			script: "s = 'x' * 1000000\nfor i in range(40):\n  s = s + s\nlen(s)",
			opts:   Options{MaxMemory: 64 << 20},
			want:   "memory limit",
		},
	} {
		_, err := Run(context.Background(), st, tc.script, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.script, err, tc.want)
		}
		var qe *Error
		if !errors.As(err, &qe) {
			t.Errorf("%q: error %T is not a script error", tc.script, err)
		}
		if want := !strings.Contains(tc.script, "len(l)"); errors.Is(err, ErrMemoryLimit) != want {
			t.Errorf("%q: errors.Is(%v, ErrMemoryLimit) != %v", tc.script, err, want)
		}
	}
	// Nothing was committed by the refused scripts.
	if got, _ := run(t, st, nil, "len(db)"); got != "0" {
		t.Fatalf("len(db) = %s after refused scripts", got)
	}
}

// TestHeapWatchIdle: a script that does not allocate is not cancelled by
// the watchdog, however long it runs.
func TestHeapWatchIdle(t *testing.T) {
	st := newMemStore()
	start := time.Now()
	got, _ := run(t, st, nil, "n = 0\nfor i in range(200000):\n  n += i\nn")
	if got != "19999900000" {
		t.Fatalf("sum = %s", got)
	}
	t.Logf("ran %v", time.Since(start))
}
