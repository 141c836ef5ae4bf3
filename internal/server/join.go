package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairndb/cairn/client"
	"github.com/cairndb/cairn/internal/membership"
)

// joinCluster asks a running member (its HTTP address) to add self, retrying
// while the cluster is unavailable, and returns the members.
func joinCluster(ctx context.Context, addr string, self membership.Member) ([]membership.Member, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	c, err := client.New(client.Config{Endpoints: []string{addr}, RequestTimeout: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("server: join: %w", err)
	}
	defer c.Close()
	req := client.Member{Name: self.Name, PeerAddr: self.PeerAddr, HTTPAddr: self.HTTPAddr, RESPAddr: self.RESPAddr, Learner: self.ReadOnly}
	backoff := 200 * time.Millisecond
	for {
		resp, err := c.MemberAdd(ctx, req)
		if err == nil {
			out := make([]membership.Member, 0, len(resp.Members))
			for _, m := range resp.Members {
				out = append(out, membership.Member{ID: uint64(m.ID), Name: m.Name, PeerAddr: m.PeerAddr,
					HTTPAddr: m.HTTPAddr, RESPAddr: m.RESPAddr, Learner: m.Learner, ReadOnly: m.ReadOnly})
			}
			return out, nil
		}
		var cerr *client.Error
		if errors.As(err, &cerr) && cerr.Status < 500 {
			return nil, fmt.Errorf("server: join via %s refused: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("server: join via %s: %w (last error: %v)", addr, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}
