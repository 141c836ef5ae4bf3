package client

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// LeaseGrantResponse is the result of Grant.
type LeaseGrantResponse struct {
	ID  int64 `json:"id"`
	TTL int64 `json:"ttl_ms"` // milliseconds
}

// LeaseKeepAliveResponse is the result of one keep-alive.
type LeaseKeepAliveResponse struct {
	ID  int64 `json:"id"`
	TTL int64 `json:"ttl_ms"` // milliseconds
}

// LeaseTimeToLiveResponse describes a lease.
type LeaseTimeToLiveResponse struct {
	ID int64 `json:"id"`
	// TTL is the granted TTL and Remaining the serving node's estimate of
	// the time left, in milliseconds.
	TTL       int64    `json:"ttl_ms"`
	Remaining int64    `json:"remaining_ms"`
	Keys      [][]byte `json:"keys,omitempty"`
}

// LeaseStatus is one lease of Leases.
type LeaseStatus struct {
	ID  int64 `json:"id"`
	TTL int64 `json:"ttl_ms"`
}

type leaseWire struct {
	ID         int64    `json:"id,omitempty"`
	TTL        int64    `json:"ttl_ms,omitempty"`
	Name       []byte   `json:"name,omitempty"`
	Token      int64    `json:"token,omitempty"`
	Lease      int64    `json:"lease,omitempty"`
	WaitMillis int64    `json:"wait_ms,omitempty"`
	KeepQueued bool     `json:"keep_queued,omitempty"`
	Ops        []opWire `json:"ops,omitempty"`
	Encoding   string   `json:"encoding,omitempty"`
}

// Grant creates a lease with the given TTL (at least 100ms). Keys put
// WithLease(id) are deleted when it expires or is revoked.
func (c *Client) Grant(ctx context.Context, ttl time.Duration) (*LeaseGrantResponse, error) {
	var resp LeaseGrantResponse
	err := c.do(ctx, call{method: "POST", path: "/v1/lease/grant", body: leaseWire{TTL: ttl.Milliseconds()}, out: &resp})
	if err != nil {
		return nil, err
	}
	return &resp, nil
}

// KeepAliveOnce renews a lease for its full TTL.
func (c *Client) KeepAliveOnce(ctx context.Context, id int64) (*LeaseKeepAliveResponse, error) {
	var resp LeaseKeepAliveResponse
	err := c.do(ctx, call{method: "POST", path: "/v1/lease/keepalive", body: leaseWire{ID: id}, out: &resp, safe: true})
	if err != nil {
		return nil, err
	}
	return &resp, nil
}

// KeepAlive renews a lease every third of its TTL until ctx is done or the
// lease is gone, sending each response on the returned channel (dropped
// when the reader is slow). The channel is closed when it stops.
func (c *Client) KeepAlive(ctx context.Context, id int64) (<-chan *LeaseKeepAliveResponse, error) {
	first, err := c.KeepAliveOnce(ctx, id)
	if err != nil {
		return nil, err
	}
	ch := make(chan *LeaseKeepAliveResponse, 1)
	ch <- first
	go func() {
		defer close(ch)
		interval := max(time.Duration(first.TTL)*time.Millisecond/3, 10*time.Millisecond)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(interval):
			}
			r, err := c.KeepAliveOnce(ctx, id)
			switch {
			case errors.Is(err, ErrLeaseNotFound):
				return
			case err != nil:
				continue // retried at the next interval
			}
			select {
			case ch <- r:
			default:
			}
		}
	}()
	return ch, nil
}

// Revoke deletes a lease, the keys attached to it and its lock waiters.
func (c *Client) Revoke(ctx context.Context, id int64) error {
	return c.do(ctx, call{method: "POST", path: "/v1/lease/revoke", body: leaseWire{ID: id}, safe: false})
}

// TimeToLive describes a lease, with its attached keys if withKeys.
func (c *Client) TimeToLive(ctx context.Context, id int64, withKeys bool) (*LeaseTimeToLiveResponse, error) {
	q := map[string][]string{"encoding": {"base64"}}
	if withKeys {
		q["keys"] = []string{"true"}
	}
	var resp LeaseTimeToLiveResponse
	err := c.do(ctx, call{method: "GET", path: "/v1/lease/" + strconv.FormatInt(id, 10), query: q, out: &resp, safe: true})
	if err != nil {
		return nil, err
	}
	return &resp, nil
}

// Leases lists every lease.
func (c *Client) Leases(ctx context.Context) ([]LeaseStatus, error) {
	var resp struct {
		Leases []LeaseStatus `json:"leases"`
	}
	if err := c.do(ctx, call{method: "GET", path: "/v1/lease", out: &resp, safe: true}); err != nil {
		return nil, err
	}
	return resp.Leases, nil
}

// LockResponse is the result of Lock.
type LockResponse struct {
	Token int64 `json:"token"` // the fencing token (a store revision; increases with each acquisition)
	Lease int64 `json:"lease"`
	Held  bool  `json:"held"` // false only with keepQueued: still waiting, Token is the waiter's
}

// Lock queues lease as a waiter of lock name (waiters are served FIFO) and
// waits up to wait (0: try once; bounded by the server's request timeout)
// to hold it. If it does not get the lock: with keepQueued the waiter
// keeps its place and the response has Held false (call Lock again with
// the same lease to resume waiting, Unlock to leave); otherwise the waiter
// leaves and the error is ErrLockBusy. See concurrency.Mutex.
func (c *Client) Lock(ctx context.Context, name []byte, lease int64, wait time.Duration, keepQueued bool) (*LockResponse, error) {
	var resp LockResponse
	body := leaseWire{Name: name, Lease: lease, WaitMillis: wait.Milliseconds(), KeepQueued: keepQueued, Encoding: "base64"}
	if err := c.do(ctx, call{method: "POST", path: "/v1/lock/acquire", body: body, out: &resp, safe: lease != 0}); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Unlock removes the waiter token from lock name (releasing the lock if it
// holds it). An unknown token is not an error.
func (c *Client) Unlock(ctx context.Context, name []byte, token int64) error {
	return c.do(ctx, call{method: "POST", path: "/v1/lock/release", body: leaseWire{Name: name, Token: token, Encoding: "base64"}, safe: true})
}

// LockWaiter is one waiter of a lock.
type LockWaiter struct {
	Token int64 `json:"token"`
	Lease int64 `json:"lease"`
}

// LockWaiters returns the waiters of lock name in FIFO order; the first
// holds the lock.
func (c *Client) LockWaiters(ctx context.Context, name []byte) ([]LockWaiter, error) {
	var resp struct {
		Waiters []LockWaiter `json:"waiters"`
	}
	q := map[string][]string{"name": {b64(name)}, "encoding": {"base64"}}
	if err := c.do(ctx, call{method: "GET", path: "/v1/lock", query: q, out: &resp, safe: true}); err != nil {
		return nil, err
	}
	return resp.Waiters, nil
}

// FenceResponse is the result of Fenced.
type FenceResponse struct {
	Revision int64 `json:"revision"`
}

// Fenced applies ops (OpPut, OpDelete) as one txn only if token is the
// fencing token of lock name's current holder; otherwise it fails with
// ErrFenced and writes nothing.
func (c *Client) Fenced(ctx context.Context, name []byte, token int64, ops ...Op) (*FenceResponse, error) {
	w := leaseWire{Name: name, Token: token, Encoding: "base64"}
	for _, o := range ops {
		w.Ops = append(w.Ops, opWire{Put: o.put, Delete: o.del, Range: o.get})
	}
	var resp FenceResponse
	if err := c.do(ctx, call{method: "POST", path: "/v1/lock/fence", body: w, out: &resp}); err != nil {
		return nil, err
	}
	return &resp, nil
}
