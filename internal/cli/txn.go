package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/client"
	"github.com/spf13/cobra"
)

const txnHelp = `Run a transaction read from stdin, in etcdctl's format: compare lines, a
blank line, the operations to run when every compare holds, a blank line, and
the operations to run otherwise.

  Compares:    <target>("<key>") <op> <operand>
    target:    value (or val), version (ver), create (create_revision),
               mod (mod_revision), exists
    op:        = (or ==), !=, <, >
    operand:   a quoted string for value; an integer for version, create and
               mod; true or false for exists
  Operations:  put <key> <value>
               get <key> [end]  |  get --prefix <key>
               del <key> [end]  |  del --prefix <key>

Keys, values and operands may be double-quoted with Go escapes ("a b\n",
"\xff"). Lines starting with # are ignored. Prints SUCCESS or FAILURE, then
each operation's result (put: OK, del: the count, get: key and value lines).

Example:
  printf 'value("k") = "v"\n\nput k v2\n\nget k\n' | cairn txn`

func (e *env) newTxnCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "txn",
		Short: "Run a compare-and-swap transaction read from stdin",
		Long:  txnHelp,
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseTxn(e.stdin, e.prompter())
			if err != nil {
				return usageError{err}
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			resp, err := c.Txn(cmd.Context()).If(t.cmps...).Then(t.then...).Else(t.els...).Commit()
			if err != nil {
				return err
			}
			if e.json {
				return e.printJSON(resp)
			}
			if resp.Succeeded {
				fmt.Fprintln(e.stdout, "SUCCESS")
			} else {
				fmt.Fprintln(e.stdout, "FAILURE")
			}
			for _, r := range resp.Responses {
				switch {
				case r.Put != nil:
					fmt.Fprintln(e.stdout, "OK")
				case r.Delete != nil:
					fmt.Fprintln(e.stdout, r.Delete.Deleted)
				case r.Get != nil:
					e.printKVs(r.Get.KVs, false)
				}
			}
			return nil
		},
	}
}

// prompter returns a function printing section prompts to stderr when
// stdin is a terminal, else nil.
func (e *env) prompter() func(section int) {
	f, ok := e.stdin.(*os.File)
	if !ok {
		return nil
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	prompts := []string{"compares:", "success requests (get, put, del):", "failure requests (get, put, del):"}
	return func(section int) { fmt.Fprintln(e.stderr, prompts[section]) }
}

// txnSpec is a parsed txn.
type txnSpec struct {
	cmps      []client.Cmp
	then, els []client.Op
}

// parseTxn reads the txn format documented in txnHelp.
func parseTxn(r io.Reader, prompt func(section int)) (*txnSpec, error) {
	t := &txnSpec{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	section := 0
	if prompt != nil {
		prompt(0)
	}
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if line == "" {
			section++
			if section > 2 {
				break
			}
			if prompt != nil {
				prompt(section)
			}
			continue
		}
		var err error
		switch section {
		case 0:
			var cmp client.Cmp
			if cmp, err = parseCompare(line); err == nil {
				t.cmps = append(t.cmps, cmp)
			}
		case 1, 2:
			var op client.Op
			if op, err = parseOp(line); err == nil {
				if section == 1 {
					t.then = append(t.then, op)
				} else {
					t.els = append(t.els, op)
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("txn line %d: %w", lineNo, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read txn: %w", err)
	}
	return t, nil
}

var compareTargets = map[string]func([]byte) client.Cmp{
	"value": client.Value, "val": client.Value,
	"version": client.Version, "ver": client.Version,
	"create": client.CreateRevision, "create_revision": client.CreateRevision,
	"mod": client.ModRevision, "mod_revision": client.ModRevision,
	"exists": client.Exists,
}

// parseCompare parses `target("key") op operand`.
func parseCompare(line string) (client.Cmp, error) {
	open := strings.IndexByte(line, '(')
	if open < 0 {
		return client.Cmp{}, fmt.Errorf("compare %q: want target(\"key\") op operand", line)
	}
	name := strings.TrimSpace(line[:open])
	target, ok := compareTargets[name]
	if !ok {
		return client.Cmp{}, fmt.Errorf("compare %q: unknown target %q", line, name)
	}
	toks, err := tokenize(line[open+1:])
	if err != nil {
		return client.Cmp{}, fmt.Errorf("compare %q: %w", line, err)
	}
	// toks: key, ")", op, operand — the ")" may be glued to the key's
	// closing quote or to the op.
	if len(toks) > 0 && !toks[0].quoted && strings.HasSuffix(toks[0].s, ")") {
		toks[0].s = strings.TrimSuffix(toks[0].s, ")")
	} else if len(toks) > 1 && toks[1].s == ")" {
		toks = append(toks[:1], toks[2:]...)
	} else if len(toks) > 1 && strings.HasPrefix(toks[1].s, ")") && !toks[1].quoted {
		toks[1].s = strings.TrimPrefix(toks[1].s, ")")
	} else {
		return client.Cmp{}, fmt.Errorf("compare %q: missing )", line)
	}
	if len(toks) != 3 {
		return client.Cmp{}, fmt.Errorf("compare %q: want target(\"key\") op operand", line)
	}
	key, op, operand := toks[0].s, toks[1].s, toks[2]
	if op == "==" {
		op = "="
	}
	var v any = operand.s
	switch name {
	case "value", "val":
		v = []byte(operand.s)
	case "exists":
		b, err := strconv.ParseBool(operand.s)
		if err != nil {
			return client.Cmp{}, fmt.Errorf("compare %q: want true or false", line)
		}
		v = b
	default:
		n, err := strconv.ParseInt(operand.s, 10, 64)
		if err != nil {
			return client.Cmp{}, fmt.Errorf("compare %q: want an integer", line)
		}
		v = n
	}
	return client.Compare(target([]byte(key)), op, v), nil
}

// parseOp parses one of: put k v | get [--prefix] k [end] | del [--prefix] k [end].
func parseOp(line string) (client.Op, error) {
	toks, err := tokenize(line)
	if err != nil {
		return client.Op{}, fmt.Errorf("%q: %w", line, err)
	}
	verb := toks[0].s
	rest := toks[1:]
	var opts []client.OpOption
	if len(rest) > 0 && !rest[0].quoted && rest[0].s == "--prefix" && verb != "put" {
		opts = append(opts, client.WithPrefix())
		rest = rest[1:]
	}
	arity := func(lo, hi int) error {
		if len(rest) < lo || len(rest) > hi {
			return fmt.Errorf("%q: wrong number of arguments", line)
		}
		return nil
	}
	switch verb {
	case "put":
		if err := arity(2, 2); err != nil {
			return client.Op{}, err
		}
		return client.OpPut([]byte(rest[0].s), []byte(rest[1].s)), nil
	case "get", "del", "delete":
		hi := 2
		if len(opts) > 0 {
			hi = 1
		}
		if err := arity(1, hi); err != nil {
			return client.Op{}, err
		}
		if len(rest) == 2 {
			opts = append(opts, client.WithRange([]byte(rest[1].s)))
		}
		if verb == "get" {
			return client.OpGet([]byte(rest[0].s), opts...), nil
		}
		return client.OpDelete([]byte(rest[0].s), opts...), nil
	}
	return client.Op{}, fmt.Errorf("%q: unknown operation %q (want put, get or del)", line, verb)
}

type token struct {
	s      string
	quoted bool
}

// tokenize splits on spaces; a token starting with " is a Go string literal.
func tokenize(s string) ([]token, error) {
	var toks []token
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return toks, nil
		}
		if s[0] == '"' {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, errors.New("bad quoted string")
			}
			u, _ := strconv.Unquote(q)
			toks = append(toks, token{u, true})
			s = s[len(q):]
			continue
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		toks = append(toks, token{s: s[:end]})
		s = s[end:]
	}
}
