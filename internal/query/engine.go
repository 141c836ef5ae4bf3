package query

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Options configure one script run. The zero value is a linearizable
// read-write run with the default limits.
type Options struct {
	// Stale reads at the local node's applied revision instead of a
	// linearizable one.
	Stale bool
	// Revision > 0 reads at that past revision; the script is read-only.
	Revision int64
	// ReadOnly makes any write raise ErrReadOnly (a query, not a txn).
	ReadOnly bool
	// Session carries a shell's globals from one script to the next.
	Session *Session
	// Lease is the caller's session lease, which holds the database lock
	// of db.lock() (0: none; db.lock() fails).
	Lease int64

	MaxSteps       uint64        // Starlark execution steps (default 10M)
	Timeout        time.Duration // wall time of the whole run, retries included (default 10s)
	MaxResultBytes int           // JSON result and print output (default 4 MiB)
	MaxKeys        int           // keys a script may list (default 10000)
	MaxTxnKeys     int           // keys a transaction may read or write (default 1024, the txn op limit)
	MaxKeySize     int           // bytes in a key (default 4 KiB)
	MaxHistory     int           // versions db.history returns (default 1000)
	MaxAttempts    int           // runs before ErrConflict (default 10)
	MaxMemory      int64         // heap growth while the script runs (default 256 MiB; see memguard.go)
}

func (o *Options) setDefaults() {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	if o.MaxSteps == 0 {
		o.MaxSteps = 10_000_000
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	def(&o.MaxResultBytes, 4<<20)
	def(&o.MaxKeys, 10_000)
	def(&o.MaxTxnKeys, 1024)
	def(&o.MaxKeySize, 4<<10)
	def(&o.MaxHistory, 1000)
	def(&o.MaxAttempts, 10)
	if o.MaxMemory <= 0 {
		o.MaxMemory = 256 << 20
	}
}

// Session is the state a shell keeps between scripts: the JSON-convertible
// global variables and the source of the top-level def statements.
type Session struct {
	Globals map[string]string `json:"globals,omitempty"` // name -> JSON value
	Defs    []string          `json:"defs,omitempty"`    // def statements, in order
}

// Result is the outcome of a script.
type Result struct {
	// Value is the JSON of the script's value (an expression, or a final
	// expression statement); nil when the script ends with a statement.
	Value []byte
	// Revision is the revision the script read at, or for a script that
	// wrote, the revision of its commit.
	Revision int64
	// Committed reports that the script wrote and its writes committed.
	Committed bool
	// Attempts is how many times the script ran (conflicts re-run it).
	Attempts int
	// Output is what the script printed.
	Output string
	// Session is the updated session when Options.Session was set.
	Session *Session
}

// Error is an error of the script itself: its position, a message, and
// the sentinel it wraps (ErrSyntax, ErrScript, ErrStepLimit ...).
type Error struct {
	Kind error
	Msg  string
	Line int32 // 1-based; 0 when unknown
	Col  int32
	// Backtrace is Starlark's traceback of a runtime error.
	Backtrace string
}

func (e *Error) Error() string {
	if e.Line > 0 && e.approximate() {
		return fmt.Sprintf("%v near line %d col %d: %s", e.Kind, e.Line, e.Col, e.Msg)
	}
	if e.Line > 0 {
		return fmt.Sprintf("%v at line %d col %d: %s", e.Kind, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Msg)
}

func (e *Error) Unwrap() error { return e.Kind }

// approximate reports whether the position is only where the script was
// when a limit stopped it. Starlark stops a script between two bytecode
// instructions and reports the innermost frame's position from its line
// table, where an instruction without a position of its own (a loop's
// jumps: all of "while True: pass") takes that of the positioned
// instruction before it in code order, which may be a line before the
// loop. The outer frames (call sites) are exact.
func (e *Error) approximate() bool {
	return e.Kind == ErrStepLimit || e.Kind == ErrTimeLimit || e.Kind == ErrMemoryLimit
}

// fileOptions let scripts look like Python: top-level for/if/while, sets,
// reassigned globals, recursion.
var fileOptions = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}

// Run runs script against store. A script that writes commits all its
// writes in one transaction, or none: it reads at one revision, and its
// commit checks that nothing it read has changed since; on a conflict it
// runs again at a newer revision, up to MaxAttempts times.
func Run(ctx context.Context, store Store, script string, opts Options) (*Result, error) {
	opts.setDefaults()
	if opts.Revision > 0 {
		opts.ReadOnly = true
	}
	src := RewriteDel(script)
	if _, err := parse(src); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	lock := &dbLock{store: store, lease: opts.Lease}
	res, err := runAttempts(ctx, store, src, &opts, lock)
	return lock.end(ctx, res, err)
}

// runAttempts runs the script until it commits, fails, or has conflicted
// MaxAttempts times.
func runAttempts(ctx context.Context, store Store, src string, opts *Options, lock *dbLock) (*Result, error) {
	for attempt := 1; ; attempt++ {
		lock.release = 0
		res, conflict, err := runOnce(ctx, store, src, opts, lock)
		if err != nil {
			return nil, err
		}
		if !conflict {
			res.Attempts = attempt
			return res, nil
		}
		if attempt >= opts.MaxAttempts {
			return nil, fmt.Errorf("%w: %d attempts", ErrConflict, attempt)
		}
		// Back off with jitter so conflicting scripts spread out.
		d := time.Duration(1<<min(attempt, 7)) * time.Millisecond
		d = d/2 + rand.N(d)
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, &Error{Kind: ErrTimeLimit, Msg: fmt.Sprintf("after %d conflicting attempts", attempt)}
		}
	}
}

func parse(src string) (*syntax.File, error) {
	f, err := fileOptions.Parse("script", src, 0)
	if err != nil {
		e := &Error{Kind: ErrSyntax, Msg: err.Error()}
		var se syntax.Error
		if errors.As(err, &se) {
			e.Msg, e.Line, e.Col = se.Msg, se.Pos.Line, se.Pos.Col
		}
		return nil, e
	}
	if err := lowerDel(f); err != nil {
		return nil, err
	}
	return f, lowerMul(f)
}

// runOnce runs the script at one revision and commits its writes. It
// reports conflict when the commit's compares failed.
func runOnce(ctx context.Context, store Store, src string, opts *Options, lock *dbLock) (*Result, bool, error) {
	rev := opts.Revision
	if rev == 0 {
		var err error
		if rev, err = store.ReadRevision(ctx, opts.Stale); err != nil {
			return nil, false, err
		}
	}
	tx := newTxn(ctx, store, rev, opts.ReadOnly, opts)
	db := &DB{tx: tx, lock: lock}
	var out strings.Builder
	thread := &starlark.Thread{
		Name: "query",
		Print: func(_ *starlark.Thread, msg string) {
			if out.Len()+len(msg) < opts.MaxResultBytes {
				out.WriteString(msg)
				out.WriteByte('\n')
			}
		},
	}
	thread.SetMaxExecutionSteps(opts.MaxSteps)
	timeLimit := context.AfterFunc(ctx, func() { thread.Cancel("time limit") })
	defer timeLimit()
	defer watchHeap(thread, opts.MaxMemory)()

	globals := starlark.StringDict{
		"db":                   db,
		delBuiltin.Name():      delBuiltin,
		mulBuiltin.Name():      mulBuiltin,
		mulCheckBuiltin.Name(): mulCheckBuiltin,
		"range":                rangeBuiltin(opts.MaxSteps),
	}
	if err := restoreSession(thread, globals, opts.Session); err != nil {
		return nil, false, err
	}
	value, err := execute(thread, globals, src)
	if err == nil {
		err = tx.deferred
	}
	if err != nil {
		return scriptFailed(ctx, tx, thread, err, opts)
	}
	res := &Result{Revision: rev, Output: out.String()}
	if value != nil {
		enc := encoder{style: display, limit: opts.MaxResultBytes, expand: expandDB}
		if err := enc.value(value, 0); err != nil {
			return scriptFailed(ctx, tx, thread, err, opts)
		}
		if tx.deferred != nil {
			return scriptFailed(ctx, tx, thread, tx.deferred, opts)
		}
		res.Value = enc.buf
	}
	if opts.Session != nil {
		s, err := saveSession(globals, opts.Session, src, opts.MaxResultBytes)
		if err != nil {
			return nil, false, err
		}
		res.Session = s
	}
	req, err := tx.request()
	if err != nil {
		return nil, false, &Error{Kind: ErrScript, Msg: err.Error()}
	}
	if req == nil {
		return res, false, nil
	}
	cr, err := store.Commit(ctx, req)
	if err != nil {
		return nil, false, err
	}
	if cr.Txn == nil || !cr.Txn.Succeeded {
		return nil, true, nil
	}
	res.Revision, res.Committed = cr.Revision, true
	return res, false, nil
}

// scriptFailed turns the error of a script run into the run's error; a
// read below the compaction horizon of a linearizable run is a conflict
// (it runs again at a newer revision).
func scriptFailed(ctx context.Context, tx *txn, thread *starlark.Thread, err error, opts *Options) (*Result, bool, error) {
	if tx.storeErr != nil {
		if errors.Is(tx.storeErr, ErrCompacted) && opts.Revision == 0 {
			return nil, true, nil
		}
		return nil, false, fmt.Errorf("query: %w", tx.storeErr)
	}
	e := &Error{Kind: ErrScript, Msg: err.Error()}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		e.Msg = ee.Msg
		e.Backtrace = ee.Backtrace()
		for i := range len(ee.CallStack) {
			if pos := ee.CallStack.At(i).Pos; pos.Line > 0 {
				e.Line, e.Col = pos.Line, pos.Col
				break
			}
		}
	}
	var se syntax.Error
	if errors.As(err, &se) {
		e.Kind, e.Msg, e.Line, e.Col = ErrSyntax, se.Msg, se.Pos.Line, se.Pos.Col
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) {
		e.Kind, e.Msg, e.Line, e.Col = ErrSyntax, rl[0].Msg, rl[0].Pos.Line, rl[0].Pos.Col
	}
	switch {
	case thread.ExecutionSteps() >= opts.MaxSteps:
		e.Kind, e.Msg = ErrStepLimit, fmt.Sprintf("more than %d steps", opts.MaxSteps)
	case memoryTripped(thread):
		e.Kind = ErrMemoryLimit
	case errors.Is(err, ErrMemoryLimit):
		e.Kind = ErrMemoryLimit
	case ctx.Err() != nil:
		e.Kind, e.Msg = ErrTimeLimit, fmt.Sprintf("the script ran out of time (limit %v, or the request's deadline)", opts.Timeout)
	case errors.Is(err, ErrResultTooLarge), errors.Is(err, ErrTooManyKeys), errors.Is(err, ErrReadOnly), errors.Is(err, ErrNotAvailable):
		for _, k := range []error{ErrResultTooLarge, ErrTooManyKeys, ErrReadOnly, ErrNotAvailable} {
			if errors.Is(err, k) {
				e.Kind = k
			}
		}
	}
	e.Msg = strings.TrimPrefix(e.Msg, e.Kind.Error()+": ")
	return nil, false, e
}

// execute runs the script's statements; when the last one is an
// expression statement, it evaluates it and returns its value.
func execute(thread *starlark.Thread, globals starlark.StringDict, src string) (starlark.Value, error) {
	f, err := parse(src)
	if err != nil {
		return nil, err
	}
	var last *syntax.ExprStmt
	if n := len(f.Stmts); n > 0 {
		if es, ok := f.Stmts[n-1].(*syntax.ExprStmt); ok {
			last, f.Stmts = es, f.Stmts[:n-1]
		}
	}
	if err := starlark.ExecREPLChunk(f, thread, globals); err != nil {
		return nil, err
	}
	if last == nil {
		return nil, nil
	}
	v, err := starlark.EvalExprOptions(fileOptions, thread, last.X, globals)
	if err != nil {
		return nil, err
	}
	if v == starlark.None && isCall(last.X) {
		return nil, nil // a call for its effect, like db.save(), prints nothing
	}
	return v, nil
}

func isCall(e syntax.Expr) bool {
	_, ok := e.(*syntax.CallExpr)
	return ok
}

// expandDB lets the encoder print db (or a db.at view) as the object of
// all its keys.
func expandDB(v starlark.Value) (starlark.Value, bool, error) {
	d, ok := v.(*DB)
	if !ok {
		return nil, false, nil
	}
	items, err := d.items("")
	if err != nil {
		return nil, false, err
	}
	dict := starlark.NewDict(len(items))
	for _, kv := range items {
		if err := dict.SetKey(kv[0], kv[1]); err != nil {
			return nil, false, err
		}
	}
	return dict, true, nil
}

// delRE matches a del statement. Starlark reserves the keyword, so
// "del x[k]" is rewritten to "_del(x[k])" before parsing, and lowerDel
// then turns the call's index-expression arguments into (x, k) pairs.
var delRE = regexp.MustCompile(`(?m)^([ \t]*)del[ \t]+(.*?)[ \t]*$`)

// RewriteDel rewrites the del statements of src into what the parser
// accepts (the shell uses it to find where an input ends).
func RewriteDel(src string) string {
	if !strings.Contains(src, "del") {
		return src
	}
	return delRE.ReplaceAllString(src, "${1}_del(${2})")
}

// lowerDel rewrites every _del(x[k], ...) call of f into _del(x, k, ...).
func lowerDel(f *syntax.File) error {
	var err error
	syntax.Walk(f, func(n syntax.Node) bool {
		call, ok := n.(*syntax.CallExpr)
		if !ok {
			return true
		}
		if id, ok := call.Fn.(*syntax.Ident); !ok || id.Name != delBuiltin.Name() {
			return true
		}
		var args []syntax.Expr
		for _, a := range call.Args {
			ix, ok := a.(*syntax.IndexExpr)
			if !ok {
				if err == nil {
					pos := syntax.Start(a)
					err = &Error{Kind: ErrSyntax, Msg: "del supports only x[key] targets", Line: pos.Line, Col: pos.Col}
				}
				return false
			}
			args = append(args, ix.X, ix.Y)
		}
		call.Args = args
		return true
	})
	return err
}

// delBuiltin implements the del statement on db, dicts and lists.
var delBuiltin = starlark.NewBuiltin("_del", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 || len(args)%2 != 0 {
		return nil, errors.New("del: bad target")
	}
	for i := 0; i < len(args); i += 2 {
		if err := delIndex(args[i], args[i+1]); err != nil {
			return nil, err
		}
	}
	return starlark.None, nil
})

func delIndex(x, k starlark.Value) error {
	switch x := x.(type) {
	case *DB:
		ks, err := key(k)
		if err != nil {
			return err
		}
		return x.tx.del(ks)
	case *starlark.Dict:
		_, found, err := x.Delete(k)
		if err == nil && !found {
			err = fmt.Errorf("del: key %s not in dict", k)
		}
		return err
	case *starlark.List:
		i, err := starlark.AsInt32(k)
		if err != nil {
			return fmt.Errorf("del: list index: %v", err)
		}
		n := x.Len()
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return fmt.Errorf("del: list index %s out of range [0:%d]", k, n)
		}
		elems := make([]starlark.Value, 0, n-1)
		for j := 0; j < n; j++ {
			if j != i {
				elems = append(elems, x.Index(j))
			}
		}
		if err := x.Clear(); err != nil {
			return err
		}
		for _, e := range elems {
			if err := x.Append(e); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("del: %s does not support item deletion", x.Type())
}
