package testcluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/query"
)

// TestQuerySerializable runs concurrent read-increment-write scripts on
// every node of a 3-node cluster against the same keys. Every committed
// script's increments land exactly once (the final sums are exact), the
// transfers keep the total, conflicting scripts retry, and scripts that
// raise or exceed their step limit commit nothing.
func TestQuerySerializable(t *testing.T) {
	c := New(t, 3, Options{})
	defer c.Close()
	c.WaitLeader(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	svc := func(i int) interface {
		Query(context.Context, string, query.Options) (*query.Result, error)
	} {
		nodes := c.Running()
		return nodes[i%len(nodes)].Server.Service()
	}
	if _, err := svc(0).Query(ctx, "db['n'] = 0\ndb['a'] = 1000\ndb['b'] = 1000", query.Options{}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 6, 15
	var committed, retried, failed atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var script string
				switch (w + i) % 6 {
				case 0:
					script = "db['n'] += 1000\nfail('abort')"
				case 1:
					script = "db['n'] += 1000\nwhile True:\n  pass"
				default:
					script = "db['n'] += 1\nx = db['a']\ndb['a'] = x - 1\ndb['b'] = db['b'] + 1\ndb['n']"
				}
				res, err := svc(w+i).Query(ctx, script, query.Options{MaxSteps: 100_000, MaxAttempts: 100})
				switch {
				case (w+i)%6 < 2:
					var qe *query.Error
					if !errors.As(err, &qe) {
						errc <- fmt.Errorf("failing script: got %v", err)
						return
					}
					failed.Add(1)
				case err != nil:
					errc <- err
					return
				default:
					committed.Add(1)
					if res.Attempts > 1 {
						retried.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	n := committed.Load()
	for _, nd := range c.Running() {
		res, err := nd.Server.Service().Query(ctx, "[db['n'], db['a'], db['b']]", query.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("[%d, %d, %d]", n, 1000-n, 1000+n); string(res.Value) != want {
			t.Fatalf("%s: got %s, want %s", nd.Name, res.Value, want)
		}
	}
	t.Logf("%d committed (%d after a retry), %d failed as expected", n, retried.Load(), failed.Load())
}
