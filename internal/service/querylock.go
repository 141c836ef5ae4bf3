package service

import (
	"context"
	"time"

	"github.com/cairndb/cairn/internal/query"
)

var _ query.Locker = queryStore{}

// Lock implements query.Locker (db.lock()) with the service's locks: the
// waiter leaves the queue when it gives up.
func (q queryStore) Lock(ctx context.Context, name string, lease int64, wait time.Duration) (int64, error) {
	return q.s.Lock(ctx, []byte(name), lease, wait, false)
}

func (q queryStore) Unlock(ctx context.Context, name string, token int64) error {
	return q.s.Unlock(ctx, []byte(name), token)
}

func (q queryStore) LockHolder(ctx context.Context, name string) (token, lease int64, ok bool, err error) {
	return q.s.LockHolder(ctx, []byte(name))
}
