package respserver

import (
	"sort"

	"github.com/cairndb/cairn/internal/command"
)

// spec describes one command.
type spec struct {
	name  string // lower case
	arity int    // as Redis: n > 0 exactly n arguments (name included), n < 0 at least -n
	flags []string
	// Key positions, as COMMAND reports them (first, last, step; last -1 =
	// the last argument).
	firstKey, lastKey, step int
	summary                 string

	// build maps a data command onto core ops and a reply. Commands with a
	// build run outside MULTI through execPlan (unless run is set, for a
	// faster path) and are queued inside MULTI as ops of the EXEC txn.
	build func(args [][]byte) plan
	// run executes the command directly.
	run func(c *conn, args [][]byte)
	// multiOK lets a command without build be queued: it runs at EXEC
	// time, without touching data (PING, ECHO, TIME ...).
	multiOK bool
	// txnControl commands run at once even inside MULTI (MULTI, EXEC,
	// DISCARD, WATCH, QUIT, RESET).
	txnControl bool
	// put: SET/PUT key value is a plain Put (their fast path).
	put bool
	// class is how the command is pipelined (pipeline.go), set by register.
	class cmdClass
}

// plan is a data command as core txn ops and the reply to write from
// their results, or an error reply found while parsing the arguments
// (which Redis reports at EXEC time, not at queue time).
type plan struct {
	ops   []command.TxnOp
	reply func(c *conn, res []command.TxnOpResult)
	err   string
}

func errPlan(msg string) plan { return plan{err: msg} }

func (s *spec) arityOK(n int) bool {
	if s.arity >= 0 {
		return n == s.arity
	}
	return n >= -s.arity
}

// commands is the command table, built once; lookup indexes it without
// allocating.
var commands = map[string]*spec{}

// commandNames is the table's names in order (COMMAND output).
var commandNames []string

func register(specs ...*spec) {
	for _, s := range specs {
		if s.run == nil {
			build := s.build
			s.run = func(c *conn, args [][]byte) { c.execPlan(build(args)) }
		}
		s.classify()
		if s.step == 0 && s.firstKey != 0 {
			s.step = 1
		}
		commands[s.name] = s
	}
	commandNames = commandNames[:0]
	for name := range commands {
		commandNames = append(commandNames, name)
	}
	sort.Strings(commandNames)
}

func init() {
	register(connectionCommands()...)
	register(stringCommands()...)
	register(keyCommands()...)
	register(txnCommands()...)
	register(jsonCommands()...)
	register(queryCommands()...)
	register(ttlCommands()...)
	register(lockCommands()...)
	register(pubsubCommands()...)
}

// Helpers for building ops.

func pointRead(key []byte) command.TxnOp {
	return command.TxnOp{Range: &command.RangeRequest{Key: key}}
}

func mutateOp(m *command.MutateRequest) command.TxnOp { return command.TxnOp{Mutate: m} }

// allKeys selects every key: keys are non-empty, so "\x00" is the first
// possible one, and End "\x00" means "to the end of the keyspace".
var allKeysStart, allKeysEnd = []byte{0}, []byte{0}

// firstKV returns the key a point read found, or nil.
func firstKV(r *command.RangeResult) *command.KeyValue {
	if r == nil || len(r.KVs) == 0 {
		return nil
	}
	return r.KVs[0]
}

// eqFold reports whether b equals the lower-case ASCII word s, ignoring
// case, without allocating.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
