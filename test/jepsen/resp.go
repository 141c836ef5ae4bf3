package jepsen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// respRegister drives the registers through the Redis protocol with
// go-redis: GET, SET, and CAS as WATCH key, GET key, then (if the value is
// the expected one) MULTI, SET, EXEC. It keeps one go-redis client per
// node, with no retries and a small pool, so every operation is one
// attempt on one connection to the chosen node.
//
// Outcomes:
//   - a read error, or any error before EXEC is sent (WATCH, GET): no
//     effect, definite;
//   - a GET inside the CAS that sees another value: the CAS fails, at the
//     moment of that linearizable read;
//   - EXEC replying a null array: a watched key changed (its mod revision
//     moved) between WATCH and EXEC, so nothing was written and the value
//     was, at some point in between, not the expected one (every value
//     written by the workload is unique, and it never deletes): a failed
//     CAS;
//   - a refused connection: definite; any other error (-CLUSTERDOWN,
//     -TIMEOUT, a timeout, a lost connection) on SET or EXEC: unknown.
type respRegister struct {
	proto   int
	timeout time.Duration
	// beforeExec, if set, runs between the CAS's GET and its EXEC (tests
	// use it to change the watched key).
	beforeExec func()

	mu      sync.Mutex // guards clients
	clients map[string]*redis.Client
}

// NewRESPRegister returns a RESP register client speaking RESP2 or RESP3.
func NewRESPRegister(proto int, timeout time.Duration) RegisterClient {
	return &respRegister{proto: proto, timeout: timeout, clients: map[string]*redis.Client{}}
}

func (r *respRegister) client(n *Node) *redis.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.clients[n.RESP]
	if !ok {
		c = redis.NewClient(&redis.Options{Addr: n.RESP, Protocol: r.proto,
			DialTimeout: r.timeout, ReadTimeout: r.timeout, WriteTimeout: r.timeout,
			ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1, PoolSize: 2, DisableIdentity: true})
		r.clients[n.RESP] = c
	}
	return c
}

// Close closes every connection.
func (r *respRegister) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.clients {
		c.Close()
	}
	return nil
}

// respErr classifies a go-redis error; sent says whether a write may have
// reached the server.
func respErr(err error, sent bool) error {
	return &OpError{Definite: !sent || errors.Is(err, syscall.ECONNREFUSED), Err: err}
}

func (r *respRegister) Get(ctx context.Context, n *Node, key string) (string, bool, error) {
	v, err := r.client(n).Get(ctx, key).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "", false, nil
	case err != nil:
		return "", false, respErr(err, false)
	}
	return v, true, nil
}

func (r *respRegister) Put(ctx context.Context, n *Node, key, val string) error {
	if err := r.client(n).Set(ctx, key, val, 0).Err(); err != nil {
		return respErr(err, true)
	}
	return nil
}

// errCASMismatch ends the WATCH callback when the value is not old.
var errCASMismatch = errors.New("cas: value differs")

func (r *respRegister) CAS(ctx context.Context, n *Node, key, old, val string) (bool, error) {
	sent := false
	err := r.client(n).Watch(ctx, func(tx *redis.Tx) error {
		cur, err := tx.Get(ctx, key).Result()
		switch {
		case errors.Is(err, redis.Nil):
			cur = ""
		case err != nil:
			return err
		}
		if cur != old {
			return errCASMismatch
		}
		if r.beforeExec != nil {
			r.beforeExec()
		}
		sent = true
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, val, 0)
			return nil
		})
		return err
	}, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errCASMismatch), errors.Is(err, redis.TxFailedErr):
		return false, nil
	}
	return false, respErr(err, sent)
}

func init() { redis.SetLogger(quietRedis{}) }

// quietRedis drops go-redis's own log lines (refused dials while the
// nemesis has a node down); the clients record every outcome themselves.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// MixedRegisterClients alternates the front ends by client number: HTTP,
// RESP2, HTTP, RESP3, ... so one history mixes both on the same keys.
func MixedRegisterClients(id int, timeout time.Duration) RegisterClient {
	switch id % 4 {
	case 1:
		return NewRESPRegister(2, timeout)
	case 3:
		return NewRESPRegister(3, timeout)
	}
	return NewHTTPRegister(timeout)
}

// protoName names a client for the history ("http", "resp2", "resp3").
func protoName(c RegisterClient) string {
	if r, ok := c.(*respRegister); ok {
		return fmt.Sprintf("resp%d", r.proto)
	}
	return "http"
}
