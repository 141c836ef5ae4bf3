package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/cairndb/cairn/client/concurrency"
)

// shellLeaseTTL is the TTL of a shell's session lease: a shell that dies
// holding the database lock frees it within this time.
const shellLeaseTTL = 15 * time.Second

// leaseID returns the shell's session lease, granting it on first use
// and again after it was lost (0 when the server has no leases).
func (sh *shell) leaseID(ctx context.Context) int64 {
	if sh.noLease {
		return 0
	}
	if sh.lease != nil && sh.lease.Err() != nil {
		fmt.Fprintf(sh.env.stderr, "Warning: the shell's session lease %d ended (%v): the database lock, if it was held, is lost; starting a new session\n", sh.lease.Lease(), sh.lease.Err())
		sh.lease = nil
	}
	if sh.lease == nil {
		s, err := concurrency.NewSession(sh.c, concurrency.WithTTL(shellLeaseTTL), concurrency.WithContext(context.WithoutCancel(ctx)))
		if err != nil {
			fmt.Fprintf(sh.env.stderr, "Note: no session lease (%v): db.lock() is unavailable\n", oneLine(err.Error()))
			sh.noLease = true
			return 0
		}
		sh.lease = s
	}
	return sh.lease.Lease()
}

// closeLease revokes the session lease, releasing the database lock.
func (sh *shell) closeLease() {
	if sh.lease == nil {
		return
	}
	if err := sh.lease.Close(); err != nil {
		fmt.Fprintf(sh.env.stderr, "Warning: revoking the session lease: %v (the database lock, if held, is freed when it expires)\n", oneLine(err.Error()))
	}
}
