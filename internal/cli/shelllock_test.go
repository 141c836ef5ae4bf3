package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/query"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cairndb/cairn/internal/testcluster"
)

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestShellLock: a shell (piped stdin, against a real node) takes the
// database lock; another session cannot take it until the shell unlocks,
// clients that do not lock are not blocked, and the shell's exit frees it.
func TestShellLock(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{})
	nd := c.WaitLeader(10 * time.Second)
	svc := nd.Server.Service()
	ctx := context.Background()

	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"--endpoints", nd.Server.HTTPAddr(), "shell"}, inR, outW, &errOut)
		outW.Close()
	}()
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	send := func(in string) string {
		t.Helper()
		if _, err := io.WriteString(inW, in+"\n"); err != nil {
			t.Fatal(err)
		}
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%q: the shell exited; stderr: %s", in, errOut.String())
			}
			return l
		case <-time.After(20 * time.Second):
			t.Fatalf("%q: no output; stderr: %s", in, errOut.String())
		}
		return ""
	}
	holder := func() (int64, int64) {
		t.Helper()
		tok, lease, ok, err := svc.LockHolder(ctx, []byte(query.DBLockName))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return 0, 0
		}
		return tok, lease
	}

	tokA, err := strconv.ParseInt(send("db.lock()"), 10, 64)
	if err != nil {
		t.Fatalf("db.lock(): %v; stderr: %s", err, errOut.String())
	}
	tok, leaseA := holder()
	if tok != tokA || leaseA == 0 {
		t.Fatalf("holder %d (lease %d), shell's token %d", tok, leaseA, tokA)
	}
	if again := send("db.lock()"); again != strconv.FormatInt(tokA, 10) {
		t.Fatalf("db.lock() again = %s, want %d", again, tokA)
	}

	b, err := svc.LeaseGrant(ctx, 0, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := svc.Query(ctx, "db.lock(timeout=0.5)", query.Options{Lease: b.ID}); !errors.Is(err, service.ErrLockBusy) {
		t.Fatalf("second session's db.lock: %v", err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("second session gave up after %v", d)
	}
	// The lock is advisory: a client that does not take it reads and writes.
	if _, err := svc.Query(ctx, "db['free'] = 1", query.Options{}); err != nil {
		t.Fatal(err)
	}
	if got := send("db['free']"); got != "1" {
		t.Fatalf("db['free'] = %s", got)
	}
	if got := send("db.unlock() or 'unlocked'"); got != `"unlocked"` {
		t.Fatalf("db.unlock() = %s", got)
	}
	res, err := svc.Query(ctx, "db.lock(timeout=0.5)", query.Options{Lease: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if tokB, _ := strconv.ParseInt(string(res.Value), 10, 64); tokB <= tokA {
		t.Fatalf("second session's token %d after %d", tokB, tokA)
	}
	// With the lock held elsewhere, the shell's db.locked(timeout=0) fails.
	if _, err := io.WriteString(inW, "db.locked(lambda: 1, timeout=0)\n"); err != nil {
		t.Fatal(err)
	}
	if got := send("'next'"); got != `"next"` {
		t.Fatalf("got %s", got)
	}
	if s := errOut.String(); !strings.Contains(s, "lock is held by another session") {
		t.Fatalf("stderr: %s", s)
	}
	if _, err := svc.Query(ctx, "db.unlock()", query.Options{Lease: b.ID}); err != nil {
		t.Fatal(err)
	}

	// The shell exits holding the lock: revoking its lease frees it.
	if got := send("db.locked(lambda: db['free'])"); got != "1" {
		t.Fatalf("db.locked = %s", got)
	}
	send("db.lock()")
	if _, lease := holder(); lease != leaseA {
		t.Fatalf("holder lease %d, want the shell's %d", lease, leaseA)
	}
	inW.Close()
	select {
	case code := <-done:
		if code != 1 { // one input failed (the busy db.locked)
			t.Fatalf("shell exit %d; stderr: %s", code, errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the shell did not exit")
	}
	if tok, lease := holder(); tok != 0 {
		t.Fatalf("lock held (token %d, lease %d) after the shell exited", tok, lease)
	}
}
