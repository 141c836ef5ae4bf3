package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/httpapi"
	"github.com/cairndb/cairn/internal/httpapi/httpapitest"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cairndb/cairn/internal/statemachine"
)

// lockService adds a scripted lock service to the fake: the lock is
// free for lease 7 (token 42), busy for anyone else (token 43 queued).
type lockService struct {
	*httpapitest.Service
	revoked []int64
}

var _ httpapi.LeaseService = (*lockService)(nil)

func (s *lockService) LeaseGrant(context.Context, int64, time.Duration) (service.LeaseStatus, error) {
	return service.LeaseStatus{ID: 9}, nil
}
func (s *lockService) LeaseKeepAlive(context.Context, int64) (time.Duration, error) { return 0, nil }
func (s *lockService) LeaseRevoke(_ context.Context, id int64) (*command.Result, error) {
	s.revoked = append(s.revoked, id)
	return &command.Result{}, nil
}
func (s *lockService) LeaseTimeToLive(context.Context, int64, bool) (service.LeaseStatus, error) {
	return service.LeaseStatus{}, nil
}
func (s *lockService) Leases(context.Context) ([]statemachine.LeaseInfo, error) { return nil, nil }
func (s *lockService) Lock(_ context.Context, _ []byte, lease int64, _ time.Duration, keepQueued bool) (int64, error) {
	switch {
	case lease == 7:
		return 42, nil
	case keepQueued:
		return 43, fmt.Errorf("%w: queued", service.ErrLockBusy)
	}
	return 0, fmt.Errorf("%w: busy", service.ErrLockBusy)
}
func (s *lockService) Unlock(context.Context, []byte, int64) error { return nil }
func (s *lockService) LockWaiters(context.Context, []byte) ([]command.LockGrant, error) {
	return nil, nil
}
func (s *lockService) Fence(context.Context, *command.FenceRequest) (*command.Result, error) {
	return &command.Result{}, nil
}

// TestLockAcquireResponse: POST /v1/lock/acquire answers the
// acquisition's fields only (no lease "id"/"ttl_ms" noise).
func TestLockAcquireResponse(t *testing.T) {
	svc := &lockService{Service: httpapitest.NewService()}
	h := httpapi.New(svc, httpapi.Options{})
	fields := func(r result) string {
		var ks []string
		for k, v := range r.body {
			ks = append(ks, fmt.Sprintf("%s=%v", k, v))
		}
		slices.Sort(ks)
		return fmt.Sprint(ks)
	}
	r := call(t, h, "POST", "/v1/lock/acquire", `{"name":"db","lease":7}`)
	mustStatus(t, r, http.StatusOK)
	if got, want := fields(r), "[encoding=utf8 held=true lease=7 name=db token=42]"; got != want {
		t.Fatalf("acquire: %s, want %s", got, want)
	}
	r = call(t, h, "POST", "/v1/lock/acquire", `{"name":"db","lease":8,"wait_ms":10,"keep_queued":true}`)
	mustStatus(t, r, http.StatusOK)
	if got, want := fields(r), "[encoding=utf8 held=false lease=8 name=db token=43]"; got != want {
		t.Fatalf("acquire keep_queued: %s, want %s", got, want)
	}
	// Busy with a lease granted for the acquisition: 409, lease revoked.
	r = call(t, h, "POST", "/v1/lock/acquire", `{"name":"db","ttl_ms":1000}`)
	mustStatus(t, r, http.StatusConflict)
	if errCode(r) != "lock_busy" || fmt.Sprint(svc.revoked) != "[9]" {
		t.Fatalf("busy acquire: %v, revoked %v", r.body, svc.revoked)
	}
}
