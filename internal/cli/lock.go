package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cairndb/cairn/client"
	"github.com/cairndb/cairn/client/concurrency"
	"github.com/spf13/cobra"
)

func (e *env) newLockCmd() *cobra.Command {
	var ttl, wait time.Duration
	cmd := &cobra.Command{
		Use:   "lock <name> [-- command [args...]]",
		Short: "Hold a named lock (bound to a lease) while a command runs",
		Long: `Take the named lock through a session whose lease has --ttl, waiting up to
--wait (0: try once), and print "token=<fencing token> lease=<lease id>".

With a command, run it while holding the lock, with CAIRN_LOCK_NAME,
CAIRN_LOCK_TOKEN and CAIRN_LEASE in its environment, then release the lock
and exit with the command's status.

Without a command, hold the lock and read commands from stdin, one per line,
answering each with "OK" or "ERR <message>":

  put <key> <value>   write, fenced by the lock's token
  del <key>           delete, fenced by the lock's token
  unlock              release the lock and exit

The lock is released on EOF, SIGINT or SIGTERM. If the process dies or
stalls, the lease expires after --ttl and the lock passes to the next
waiter; fenced writes with the old token are then refused.`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := concurrency.NewSession(c, concurrency.WithTTL(ttl))
			if err != nil {
				return err
			}
			defer s.Close()
			m := concurrency.NewMutex(s, a[0])
			if wait <= 0 {
				err = m.TryLock(ctx)
			} else {
				lctx, cancel := context.WithTimeout(ctx, wait)
				err = m.Lock(lctx)
				cancel()
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "token=%d lease=%d\n", m.Token(), s.Lease())
			if cmd.ArgsLenAtDash() >= 0 && len(a) > 1 {
				return e.runLocked(ctx, m, s, a[1:])
			}
			return e.holdLocked(ctx, m)
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 10*time.Second, "TTL of the session's lease")
	cmd.Flags().DurationVar(&wait, "wait", time.Minute, "how long to wait for the lock (0: try once)")
	return cmd
}

// runLocked runs argv while m is held and releases it afterwards.
func (e *env) runLocked(ctx context.Context, m *concurrency.Mutex, s *concurrency.Session, argv []string) error {
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = e.stdin, e.stdout, e.stderr
	c.Env = append(os.Environ(), "CAIRN_LOCK_NAME="+m.Name(),
		"CAIRN_LOCK_TOKEN="+strconv.FormatInt(m.Token(), 10), "CAIRN_LEASE="+strconv.FormatInt(s.Lease(), 10))
	runErr := c.Run()
	if err := m.Unlock(context.WithoutCancel(ctx)); err != nil {
		fmt.Fprintln(e.stderr, "unlock:", err)
	}
	return runErr
}

// holdLocked serves the stdin protocol until EOF, "unlock" or a signal.
func (e *env) holdLocked(ctx context.Context, m *concurrency.Mutex) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(e.stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		if err := sc.Err(); err != nil {
			fmt.Fprintln(e.stderr, "read stdin:", err)
		}
	}()
	for {
		var line string
		var ok bool
		select {
		case <-ctx.Done():
			return m.Unlock(context.WithoutCancel(ctx))
		case line, ok = <-lines:
		}
		if !ok {
			return m.Unlock(ctx)
		}
		f := strings.Fields(line)
		var err error
		switch {
		case len(f) == 3 && f[0] == "put":
			_, err = m.Fenced(ctx, client.OpPut([]byte(f[1]), []byte(f[2])))
		case len(f) == 2 && f[0] == "del":
			_, err = m.Fenced(ctx, client.OpDelete([]byte(f[1])))
		case len(f) == 1 && f[0] == "unlock":
			return m.Unlock(ctx)
		case len(f) == 0:
			continue
		default:
			err = errors.New("unknown command (put <key> <value> | del <key> | unlock)")
		}
		if err != nil {
			fmt.Fprintln(e.stdout, "ERR", err)
		} else {
			fmt.Fprintln(e.stdout, "OK")
		}
	}
}
