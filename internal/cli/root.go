// Package cli is the cairn command line: one file per subcommand, each a
// thin layer over package client. Results go to stdout, errors to stderr as
// one line, and the exit code says which (docs/API.md covers the wire
// format --json prints).
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cairndb/cairn/client"
	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the operation failed
	exitUsage = 2 // bad command line
)

// defaultEndpoint is where a node's HTTP API listens by default.
const defaultEndpoint = "127.0.0.1:7379"

// env holds the I/O and global flags shared by every subcommand.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	endpoints string
	json      bool
	timeout   time.Duration

	root *cobra.Command
	c    *client.Client // created on first use
}

// usageError is a bad command line (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// Run runs the CLI with args (without the program name) and returns the
// exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := e.newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if e.c != nil {
		e.c.Close()
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "Error:", oneLine(err.Error()))
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitError
}

func (e *env) newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "cairn",
		Short: "Cairn: a Raft-replicated key-value database",
		Long: `Cairn is a Raft-replicated key-value database. This command talks to a
cluster over its HTTP API (--endpoints, or $CAIRN_ENDPOINTS) and runs a node
(cairn server).`,
		Args:          cobra.ArbitraryArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q (see cairn --help)", args[0])}
			}
			cmd.SetOut(e.stderr)
			cmd.Help()
			return usageError{errors.New("no command given")}
		},
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&e.endpoints, "endpoints", defaultEndpoint, "comma-separated HTTP endpoints of cluster nodes (env CAIRN_ENDPOINTS)")
	pf.BoolVar(&e.json, "json", false, "print the API's JSON response instead of human-readable output")
	pf.DurationVar(&e.timeout, "timeout", 5*time.Second, "timeout of each request, failover included")
	e.root = root

	root.AddCommand(
		e.newGetCmd(),
		e.newPutCmd(),
		e.newDelCmd(),
		e.newScanCmd(),
		e.newTxnCmd(),
		e.newDocCmd(),
		e.newQueryCmd(),
		e.newShellCmd(),
		e.newUndoCmd(),
		e.newRedoCmd(),
		e.newLockCmd(),
		e.newWatchCmd(),
		e.newClusterCmd(),
		e.newVersionCmd(),
		e.newBenchCmd(),
		newServerCmd(),
	)
	return root
}

// client returns the client for --endpoints (or $CAIRN_ENDPOINTS when the
// flag is not given).
func (e *env) client() (*client.Client, error) {
	if e.c != nil {
		return e.c, nil
	}
	c, err := client.New(client.Config{Endpoints: e.endpointList(), RequestTimeout: e.timeout})
	if err != nil {
		return nil, usageError{err}
	}
	e.c = c
	return c, nil
}

func (e *env) endpointList() []string {
	s := e.endpoints
	if env, ok := os.LookupEnv("CAIRN_ENDPOINTS"); ok && env != "" && !e.root.PersistentFlags().Changed("endpoints") {
		s = env
	}
	var out []string
	for _, ep := range strings.Split(s, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			out = append(out, ep)
		}
	}
	return out
}

// args wraps a cobra positional-argument check so that failures are usage
// errors.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// printJSON prints v as one line of JSON.
func (e *env) printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", b)
	return err
}

// printable renders a key for a message: as is if it is printable UTF-8,
// else Go-quoted.
func printable(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
