package query

import (
	"errors"
	"fmt"
	"reflect"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Memory limits of a script.
//
// Starlark counts execution steps, not bytes: one step can allocate a lot
// (`[0] * 10**9` asks for 16 GiB, and `s = s + s` doubles memory per step),
// and Go cannot recover from running out of memory, so a script could take
// its node down. Three guards keep a script's memory bounded:
//
//   - Repetition (`x * n`, `x *= n` on strings, bytes, lists and tuples)
//     goes through a checked builtin: the parsed script's `*` expressions
//     are rewritten into calls of _mul, which refuses a result of more than
//     maxRepeatBytes bytes or maxRepeatElems elements before allocating.
//   - range() is refused beyond the step limit: a longer range could never
//     be iterated, and list(range(n)) would allocate it whole.
//   - A watchdog samples the process heap every heapSampleInterval while
//     the script runs and cancels it (at its next step) once the heap has
//     grown by Options.MaxMemory since the script started. This catches
//     growth over many steps; the heap is the process's, so a script running
//     beside another that allocates heavily may be cancelled too.
//
// What remains unmetered is one builtin call that amplifies shared values
// (joining a list that holds one large string many times); the watchdog
// still stops the script before its next step.

const (
	maxRepeatBytes     = 16 << 20
	maxRepeatElems     = 1 << 20
	heapSampleInterval = 2 * time.Millisecond
)

// mulBuiltin computes x * y, refusing oversized repetitions.
var mulBuiltin = starlark.NewBuiltin("_mul", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 2 || len(kwargs) != 0 {
		return nil, errors.New("_mul: want 2 arguments")
	}
	if err := checkRepeat(args[0], args[1]); err != nil {
		return nil, err
	}
	return starlark.Binary(syntax.STAR, args[0], args[1])
})

// mulCheckBuiltin checks that x * y is not an oversized repetition and
// returns y: `a[i] *= n` becomes `a[i] *= _mulcheck(a[i], n)`.
var mulCheckBuiltin = starlark.NewBuiltin("_mulcheck", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 2 || len(kwargs) != 0 {
		return nil, errors.New("_mulcheck: want 2 arguments")
	}
	if err := checkRepeat(args[0], args[1]); err != nil {
		return nil, err
	}
	return args[1], nil
})

// checkRepeat refuses x * y when it repeats a sequence into more than the
// limits allow.
func checkRepeat(x, y starlark.Value) error {
	seq, n := x, y
	if _, ok := x.(starlark.Int); ok {
		seq, n = y, x
	}
	count, ok := n.(starlark.Int)
	if !ok {
		return nil
	}
	times, ok := count.Int64()
	if !ok {
		if count.Sign() <= 0 {
			return nil
		}
		times = 1 << 62
	}
	if times <= 1 {
		return nil
	}
	var size, limit int64
	var unit string
	switch s := seq.(type) {
	case starlark.String:
		size, limit, unit = int64(len(s)), maxRepeatBytes, "bytes"
	case starlark.Bytes:
		size, limit, unit = int64(len(s)), maxRepeatBytes, "bytes"
	case *starlark.List:
		size, limit, unit = int64(s.Len()), maxRepeatElems, "elements"
	case starlark.Tuple:
		size, limit, unit = int64(len(s)), maxRepeatElems, "elements"
	default:
		return nil
	}
	if size > 0 && times > limit/size {
		return fmt.Errorf("%w: repeating %d %s %d times exceeds the limit of %d %s", ErrMemoryLimit, size, unit, times, limit, unit)
	}
	return nil
}

// rangeBuiltin is range() refusing more elements than maxLen (the step
// limit).
func rangeBuiltin(maxLen uint64) *starlark.Builtin {
	universal := starlark.Universe["range"].(*starlark.Builtin)
	return starlark.NewBuiltin("range", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		v, err := starlark.Call(thread, universal, args, kwargs)
		if err != nil {
			return nil, err
		}
		if s, ok := v.(starlark.Sequence); ok && uint64(s.Len()) > maxLen {
			return nil, fmt.Errorf("%w: range of %d elements exceeds the step limit (%d)", ErrMemoryLimit, s.Len(), maxLen)
		}
		return v, nil
	})
}

// lowerMul rewrites the `*` expressions of f into _mul calls and the `*=`
// assignments into checked ones. A `*=` whose target has calls in it
// (a[f()] *= 2) is refused: the check evaluates the target twice.
func lowerMul(f *syntax.File) error {
	r := mulRewriter{}
	r.walk(reflect.ValueOf(f))
	return r.err
}

type mulRewriter struct{ err error }

var (
	exprType = reflect.TypeFor[syntax.Expr]()
	nodeType = reflect.TypeFor[syntax.Node]()
)

// walk visits v (a pointer to an AST node, or a slice of nodes) and
// rewrites, in place, every Expr-typed field or element holding a `*`.
func (r *mulRewriter) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			r.walk(v.Elem())
		}
	case reflect.Pointer:
		if v.IsNil() || v.Elem().Kind() != reflect.Struct {
			return
		}
		if as, ok := v.Interface().(*syntax.AssignStmt); ok && as.Op == syntax.STAR_EQ {
			r.lowerAssign(as)
		}
		s := v.Elem()
		for i := range s.NumField() {
			r.field(s.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			r.field(v.Index(i))
		}
	}
}

// field rewrites fv if it is an Expr holding a `*`, then walks into it.
func (r *mulRewriter) field(fv reflect.Value) {
	if !fv.CanSet() {
		return
	}
	switch {
	case fv.Type() == exprType:
		if be, ok := fv.Interface().(*syntax.BinaryExpr); ok && be.Op == syntax.STAR {
			fv.Set(reflect.ValueOf(mulCall(mulBuiltin.Name(), be.X, be.Y, be.OpPos)))
		}
		r.walk(fv)
	case fv.Kind() == reflect.Slice || fv.Type().Implements(nodeType) || fv.Kind() == reflect.Interface:
		r.walk(fv)
	}
}

func (r *mulRewriter) lowerAssign(as *syntax.AssignStmt) {
	if hasCall(as.LHS) {
		if r.err == nil {
			pos := syntax.Start(as.LHS)
			r.err = &Error{Kind: ErrSyntax, Msg: "'*=' needs a target without calls; write x = x * n", Line: pos.Line, Col: pos.Col}
		}
		return
	}
	as.RHS = mulCall(mulCheckBuiltin.Name(), cloneNode(as.LHS).(syntax.Expr), as.RHS, as.OpPos)
}

// cloneNode deep-copies an AST subtree (the resolver annotates nodes, so
// one node must not appear twice in a tree).
func cloneNode(n any) any {
	return cloneValue(reflect.ValueOf(n)).Interface()
}

func cloneValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || v.Elem().Kind() != reflect.Struct {
			return v
		}
		c := reflect.New(v.Elem().Type())
		c.Elem().Set(v.Elem())
		s := c.Elem()
		for i := range s.NumField() {
			if f := s.Field(i); f.CanSet() {
				f.Set(cloneValue(f))
			}
		}
		return c
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(cloneValue(v.Elem()))
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(cloneValue(v.Index(i)))
		}
		return c
	}
	return v
}

func mulCall(name string, x, y syntax.Expr, pos syntax.Position) *syntax.CallExpr {
	return &syntax.CallExpr{Fn: &syntax.Ident{NamePos: pos, Name: name}, Lparen: pos, Args: []syntax.Expr{x, y}, Rparen: pos}
}

func hasCall(e syntax.Expr) bool {
	found := false
	syntax.Walk(e, func(n syntax.Node) bool {
		if _, ok := n.(*syntax.CallExpr); ok {
			found = true
		}
		return !found
	})
	return found
}

// memTripKey is the thread-local under which watchHeap leaves an
// *atomic.Bool that it sets when it cancels the thread.
const memTripKey = "cairn.memtrip"

// memoryTripped reports whether watchHeap cancelled thread.
func memoryTripped(thread *starlark.Thread) bool {
	b, _ := thread.Local(memTripKey).(*atomic.Bool)
	return b != nil && b.Load()
}

// watchHeap cancels thread once the process heap has grown by more than
// budget bytes since the call. The returned stop ends the watch.
func watchHeap(thread *starlark.Thread, budget int64) (stop func()) {
	base := heapBytes()
	tripped := new(atomic.Bool)
	thread.SetLocal(memTripKey, tripped)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(heapSampleInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if grown := heapBytes() - base; grown > budget {
					tripped.Store(true)
					thread.Cancel(fmt.Sprintf("%v: the heap grew by %d MiB while the script ran (limit %d MiB)",
						ErrMemoryLimit, grown>>20, budget>>20))
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// heapBytes is the memory of heap objects, live or not yet swept.
func heapBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}
