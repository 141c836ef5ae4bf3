package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cairndb/cairn/client"
	"github.com/cairndb/cairn/client/concurrency"
	"github.com/cairndb/cairn/internal/query"
	"github.com/peterh/liner"
	"github.com/spf13/cobra"
	"go.starlark.net/syntax"
)

func (e *env) newShellCmd() *cobra.Command {
	var history string
	cmd := &cobra.Command{
		Use:   "shell",
		Short: "Interactive Starlark (Python-syntax) shell over the database",
		Long: `An interactive shell in which every input is a Starlark statement run as a
transaction (docs/QUERY.md): db is the database, a dict of the top-level keys.

  > db['l'] = range(5)
  > [v * v for v in db['l'] if v % 2]
  [1, 9]

Values print as JSON; statements print nothing. Blocks (for, if, def) end
with a blank line. Variables and functions live on across inputs (the
shell sends them with each one). Tab completes db keys and methods; the
history is kept in --history, Ctrl-R searches it. When stdin is not a
terminal the shell reads inputs from it without prompts, prints results,
and exits 1 if any input failed.

The shell holds a session lease (kept alive in the background, revoked on
exit): db.lock() takes the database-wide lock for it, db.unlock() releases
it, db.locked(fn) calls fn holding it. It is advisory: clients that do not
take it are not blocked. If the shell dies, the lock is freed when its
lease expires (15s).`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			sh := &shell{env: e, c: c, session: &client.Session{}}
			defer sh.closeLease()
			if f, ok := e.stdin.(*os.File); ok && isTerminal(f) && liner.TerminalSupported() {
				return sh.interactive(cmd.Context(), history)
			}
			return sh.run(cmd.Context(), bufio.NewReader(e.stdin), "", "")
		},
	}
	home, _ := os.UserHomeDir()
	cmd.Flags().StringVar(&history, "history", filepath.Join(home, ".cairn_history"), "history file of the interactive shell (empty: none)")
	return cmd
}

// shell runs inputs one at a time, carrying the session between them.
type shell struct {
	env     *env
	c       *client.Client
	session *client.Session
	// lease is the shell's session lease, which holds db.lock(); granted
	// at the first input, renewed in the background, revoked on exit.
	lease   *concurrency.Session
	noLease bool // granting failed: run without one
}

// lineSource yields input lines, showing prompt when it is interactive.
type lineSource interface {
	readLine(prompt string) (string, error)
}

type bufLines struct{ r *bufio.Reader }

func (b bufLines) readLine(string) (string, error) {
	line, err := b.r.ReadString('\n')
	if err == io.EOF && line != "" {
		return strings.TrimSuffix(line, "\n"), nil
	}
	return strings.TrimSuffix(line, "\n"), err
}

// run reads inputs from r until EOF (non-interactive).
func (sh *shell) run(ctx context.Context, r *bufio.Reader, prompt, more string) error {
	failed := sh.loop(ctx, bufLines{r}, prompt, more, nil)
	if failed > 0 {
		return fmt.Errorf("%d input(s) failed", failed)
	}
	return nil
}

// interactive runs the shell on a terminal with liner.
func (sh *shell) interactive(ctx context.Context, history string) error {
	ln := liner.NewLiner()
	defer ln.Close()
	ln.SetCtrlCAborts(true)
	ln.SetMultiLineMode(true)
	ln.SetWordCompleter(sh.complete)
	if history != "" {
		if f, err := os.Open(history); err == nil {
			ln.ReadHistory(f)
			f.Close()
		}
	}
	fmt.Fprintln(sh.env.stderr, "Cairn shell: Starlark over the database (db). Ctrl-D exits.")
	sh.loop(ctx, linerLines{ln}, "> ", "... ", ln)
	if history != "" {
		if f, err := os.Create(history); err == nil {
			ln.WriteHistory(f)
			f.Close()
		}
	}
	fmt.Fprintln(sh.env.stdout)
	return nil
}

type linerLines struct{ ln *liner.State }

func (l linerLines) readLine(prompt string) (string, error) { return l.ln.Prompt(prompt) }

// loop reads and runs inputs until EOF; it returns how many failed.
func (sh *shell) loop(ctx context.Context, src lineSource, prompt, more string, ln *liner.State) int {
	failed := 0
	for ctx.Err() == nil {
		var lines []string
		eof := false
		readline := func() ([]byte, error) {
			p := prompt
			if len(lines) > 0 {
				p = more
			}
			line, err := src.readLine(p)
			if err != nil {
				if errors.Is(err, io.EOF) {
					eof = true
				}
				return nil, err
			}
			lines = append(lines, line)
			// Starlark's parser refuses del; the server rewrites it,
			// and so does the shell to find where the input ends.
			return []byte(query.RewriteDel(line) + "\n"), nil
		}
		f, err := fileOpts.ParseCompoundStmt("<stdin>", readline)
		if eof && len(lines) == 0 {
			return failed
		}
		if errors.Is(err, liner.ErrPromptAborted) {
			continue
		}
		if err != nil && !eof {
			fmt.Fprintln(sh.env.stderr, "Error:", syntaxError(err))
			failed++
			continue
		}
		if f != nil && len(f.Stmts) == 0 {
			continue // a blank line
		}
		script := strings.Join(lines, "\n")
		if ln != nil {
			ln.AppendHistory(script)
		}
		if !sh.exec(ctx, script) {
			failed++
		}
		if eof {
			return failed
		}
	}
	return failed
}

// syntaxError words a parse error of the shell as the server words the
// errors of a script ("syntax error at line 1 col 8: ..."), not as
// Starlark does ("<stdin>:1:8: ...").
func syntaxError(err error) error {
	var se syntax.Error
	if errors.As(err, &se) {
		return &query.Error{Kind: query.ErrSyntax, Msg: se.Msg, Line: se.Pos.Line, Col: se.Pos.Col}
	}
	return err
}

var methodPrefix = regexp.MustCompile(`db\.[a-z]*$`)

var fileOpts = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}

// exec runs one input as a transaction and prints its result.
func (sh *shell) exec(ctx context.Context, script string) bool {
	opts := []client.QueryOption{client.WithSession(sh.session)}
	if id := sh.leaseID(ctx); id != 0 {
		opts = append(opts, client.QueryLease(id))
	}
	res, err := sh.c.QueryTxn(ctx, script, opts...)
	if err != nil {
		fmt.Fprintln(sh.env.stderr, "Error:", oneLine(err.Error()))
		return false
	}
	if res.Session != nil {
		sh.session = res.Session
	}
	sh.env.printResult(res)
	return true
}

// complete completes db methods after "db." and top-level keys after
// "db[" (quoted), and session variable names.
func (sh *shell) complete(line string, pos int) (head string, completions []string, tail string) {
	head, tail = line[:pos], line[pos:]
	switch i := max(strings.LastIndex(head, "db['"), strings.LastIndex(head, `db["`)); {
	case i >= 0 && !strings.ContainsAny(head[i+4:], `'"]`):
		quote, prefix := head[i+3:i+4], head[i+4:]
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		res, err := sh.c.Query(ctx, "db.keys()", client.QueryStale())
		if err != nil {
			return head, nil, tail
		}
		var keys []string
		if json.Unmarshal(res.Value, &keys) != nil {
			return head, nil, tail
		}
		for _, k := range keys {
			if strings.HasPrefix(k, prefix) && !strings.Contains(k, quote) {
				completions = append(completions, k+quote+"]")
			}
		}
		return head[:i+4], completions, tail
	case methodPrefix.MatchString(head):
		i := strings.LastIndex(head, "db.") + 3
		for _, m := range query.Methods() {
			if strings.HasPrefix(m, head[i:]) {
				completions = append(completions, m+"(")
			}
		}
		return head[:i], completions, tail
	}
	// A variable name.
	j := strings.LastIndexFunc(head, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) + 1
	word := head[j:]
	if word == "" {
		return head, nil, tail
	}
	names := []string{"db"}
	for n := range sh.session.Globals {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if strings.HasPrefix(n, word) {
			completions = append(completions, n)
		}
	}
	return head[:j], completions, tail
}
