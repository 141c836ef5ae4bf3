package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cairndb/cairn/internal/statemachine"
)

// LeaseService is what the lease and lock endpoints need. The handler's
// Service is asserted to it per request, so a Service without leases
// (the httpapitest fake) answers them with 501.
type LeaseService interface {
	LeaseGrant(ctx context.Context, id int64, ttl time.Duration) (service.LeaseStatus, error)
	LeaseKeepAlive(ctx context.Context, id int64) (time.Duration, error)
	LeaseRevoke(ctx context.Context, id int64) (*command.Result, error)
	LeaseTimeToLive(ctx context.Context, id int64, keys bool) (service.LeaseStatus, error)
	Leases(ctx context.Context) ([]statemachine.LeaseInfo, error)
	Lock(ctx context.Context, name []byte, lease int64, wait time.Duration, keepQueued bool) (int64, error)
	Unlock(ctx context.Context, name []byte, token int64) error
	LockWaiters(ctx context.Context, name []byte) ([]command.LockGrant, error)
	Fence(ctx context.Context, f *command.FenceRequest) (*command.Result, error)
}

var _ LeaseService = (*service.Service)(nil)

// leaseRoutes are the lease and lock endpoints (docs/API.md).
func (a *api) leaseRoutes() map[string]handlerFunc {
	return map[string]handlerFunc{
		"POST /v1/lease/grant":     a.leaseGrant,
		"POST /v1/lease/keepalive": a.leaseKeepAlive,
		"POST /v1/lease/revoke":    a.leaseRevoke,
		"GET /v1/lease/{id}":       a.leaseTTL,
		"GET /v1/lease":            a.leaseList,
		"POST /v1/lock/acquire":    a.lockAcquire,
		"POST /v1/lock/release":    a.lockRelease,
		"GET /v1/lock":             a.lockStatus,
		"POST /v1/lock/fence":      a.lockFence,
	}
}

func (a *api) leases() (LeaseService, error) {
	ls, ok := a.svc.(LeaseService)
	if !ok {
		return nil, &apiError{Status: http.StatusNotImplemented, Code: "not_implemented", Message: "leases are not available"}
	}
	return ls, nil
}

// lockBody is the common start of the lock handlers that take a JSON
// body: the lease service, the body, its encoding and the decoded name.
func (a *api) lockBody(r *http.Request) (ls LeaseService, b leaseJSON, c codec, name []byte, err error) {
	if ls, err = a.leases(); err != nil {
		return
	}
	if err = decodeBody(r, &b); err != nil {
		return
	}
	if c, err = parseEncoding(b.Encoding); err != nil {
		return
	}
	name, err = c.decode("name", b.Name)
	return
}

type leaseJSON struct {
	ID         int64       `json:"id"`
	TTL        int64       `json:"ttl_ms"`
	Remaining  *int64      `json:"remaining_ms,omitempty"`
	Keys       []string    `json:"keys,omitempty"`
	Encoding   string      `json:"encoding,omitempty"`
	WaitMillis int64       `json:"wait_ms,omitempty"`
	Name       string      `json:"name,omitempty"`
	Token      int64       `json:"token,omitempty"`
	Lease      int64       `json:"lease,omitempty"`
	Revision   int64       `json:"revision,omitempty"`
	Ops        []txnOpJSON `json:"ops,omitempty"`
	KeepQueued bool        `json:"keep_queued,omitempty"`
}

// POST /v1/lease/grant {"id":0,"ttl_ms":5000}
func (a *api) leaseGrant(r *http.Request) (response, error) {
	ls, err := a.leases()
	if err != nil {
		return response{}, err
	}
	var b leaseJSON
	if err := decodeBody(r, &b); err != nil {
		return response{}, err
	}
	st, err := ls.LeaseGrant(r.Context(), b.ID, time.Duration(b.TTL)*time.Millisecond)
	if err != nil {
		return response{}, err
	}
	return response{body: leaseJSON{ID: st.ID, TTL: st.TTL.Milliseconds()}}, nil
}

// POST /v1/lease/keepalive {"id":7}
func (a *api) leaseKeepAlive(r *http.Request) (response, error) {
	ls, err := a.leases()
	if err != nil {
		return response{}, err
	}
	var b leaseJSON
	if err := decodeBody(r, &b); err != nil {
		return response{}, err
	}
	ttl, err := ls.LeaseKeepAlive(r.Context(), b.ID)
	if err != nil {
		return response{}, err
	}
	return response{body: leaseJSON{ID: b.ID, TTL: ttl.Milliseconds()}}, nil
}

// POST /v1/lease/revoke {"id":7}
func (a *api) leaseRevoke(r *http.Request) (response, error) {
	ls, err := a.leases()
	if err != nil {
		return response{}, err
	}
	var b leaseJSON
	if err := decodeBody(r, &b); err != nil {
		return response{}, err
	}
	res, err := ls.LeaseRevoke(r.Context(), b.ID)
	if err != nil {
		return response{}, err
	}
	return response{rev: res.Revision, body: leaseJSON{ID: b.ID, Revision: res.Revision}}, nil
}

// GET /v1/lease/{id}?keys=true[&encoding=base64]
func (a *api) leaseTTL(r *http.Request) (response, error) {
	ls, err := a.leases()
	if err != nil {
		return response{}, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return response{}, badRequest("lease ID %q is not an integer", r.PathValue("id"))
	}
	c, err := parseEncoding(r.URL.Query().Get("encoding"))
	if err != nil {
		return response{}, err
	}
	st, err := ls.LeaseTimeToLive(r.Context(), id, r.URL.Query().Get("keys") == "true")
	if err != nil {
		return response{}, err
	}
	rc := responseCodec(c, nil, st.Keys...)
	rem := st.Remaining.Milliseconds()
	out := leaseJSON{ID: st.ID, TTL: st.TTL.Milliseconds(), Remaining: &rem, Encoding: rc.String()}
	for _, k := range st.Keys {
		out.Keys = append(out.Keys, rc.encode(k))
	}
	return response{body: out}, nil
}

// GET /v1/lease
func (a *api) leaseList(r *http.Request) (response, error) {
	ls, err := a.leases()
	if err != nil {
		return response{}, err
	}
	list, err := ls.Leases(r.Context())
	if err != nil {
		return response{}, err
	}
	if list == nil {
		list = []statemachine.LeaseInfo{}
	}
	return response{body: struct {
		Leases []statemachine.LeaseInfo `json:"leases"`
	}{list}}, nil
}

// POST /v1/lock/acquire {"name":"db","lease":7,"wait_ms":5000}: with
// lease 0, a fresh lease of ttl_ms is granted for the acquisition.
func (a *api) lockAcquire(r *http.Request) (response, error) {
	ls, b, c, name, err := a.lockBody(r)
	if err != nil {
		return response{}, err
	}
	lease, granted := b.Lease, false
	if lease == 0 {
		st, err := ls.LeaseGrant(r.Context(), 0, time.Duration(b.TTL)*time.Millisecond)
		if err != nil {
			return response{}, err
		}
		lease, granted = st.ID, true
	}
	// The wait is bounded by the request timeout too.
	token, err := ls.Lock(r.Context(), name, lease, time.Duration(b.WaitMillis)*time.Millisecond, b.KeepQueued)
	if err != nil && b.KeepQueued && token > 0 && errors.Is(err, service.ErrLockBusy) {
		return response{body: lockAcquireJSON{Name: b.Name, Token: token, Lease: lease, Held: false, Encoding: c.String()}}, nil
	}
	if err != nil {
		if granted {
			_, _ = ls.LeaseRevoke(context.WithoutCancel(r.Context()), lease)
		}
		return response{}, err
	}
	return response{body: lockAcquireJSON{Name: b.Name, Token: token, Lease: lease, Held: true, Encoding: c.String()}}, nil
}

// lockAcquireJSON is the answer of POST /v1/lock/acquire: only the
// acquisition's fields (leaseJSON, the request body, has the lease ones
// too).
type lockAcquireJSON struct {
	Name     string `json:"name"`
	Token    int64  `json:"token"`
	Lease    int64  `json:"lease"`
	Held     bool   `json:"held"`
	Encoding string `json:"encoding"`
}

// POST /v1/lock/release {"name":"db","token":42}
func (a *api) lockRelease(r *http.Request) (response, error) {
	ls, b, _, name, err := a.lockBody(r)
	if err != nil {
		return response{}, err
	}
	if err := ls.Unlock(r.Context(), name, b.Token); err != nil {
		return response{}, err
	}
	return response{body: struct{}{}}, nil
}

// GET /v1/lock?name=db[&encoding=base64]: the holder first, then the
// waiters in FIFO order.
func (a *api) lockStatus(r *http.Request) (response, error) {
	ls, err := a.leases()
	if err != nil {
		return response{}, err
	}
	c, err := parseEncoding(r.URL.Query().Get("encoding"))
	if err != nil {
		return response{}, err
	}
	name, err := c.decode("name", r.URL.Query().Get("name"))
	if err != nil {
		return response{}, err
	}
	ws, err := ls.LockWaiters(r.Context(), name)
	if err != nil {
		return response{}, err
	}
	type waiter struct {
		Token int64 `json:"token"`
		Lease int64 `json:"lease"`
	}
	out := []waiter{}
	for _, w := range ws {
		out = append(out, waiter{w.Token, w.Lease})
	}
	return response{body: struct {
		Waiters []waiter `json:"waiters"`
	}{out}}, nil
}

// POST /v1/lock/fence {"name":"db","token":42,"ops":[{"put":{...}}]}:
// the ops apply as one txn only if token is the holder's.
func (a *api) lockFence(r *http.Request) (response, error) {
	ls, b, c, name, err := a.lockBody(r)
	if err != nil {
		return response{}, err
	}
	ops, err := c.txnOps(b.Ops)
	if err != nil {
		return response{}, err
	}
	res, err := ls.Fence(r.Context(), &command.FenceRequest{Name: name, Token: b.Token, Ops: ops})
	if err != nil {
		return response{}, err
	}
	return response{rev: res.Revision, body: header{res.Revision, c.String()}}, nil
}
