package respserver_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/respserver"
	"github.com/cairndb/cairn/internal/testcluster"
)

// TestClusterPipelineMixed sends a 1000-command pipeline mixing SET, GET,
// INCR, APPEND, DEL, MGET ... to every node of a 3-node cluster at once
// (followers forward the writes, reads go through ReadIndex) and checks
// every reply against the model.
func TestClusterPipelineMixed(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{})
	c.WaitLeader(10 * time.Second)
	var wg sync.WaitGroup
	for i, nd := range c.Running() {
		for j := range 2 {
			wg.Go(func() {
				pc := respserver.MixedPipeline(uint64(10*i+j), 1000, fmt.Sprintf("n%d:c%d:", i, j))
				if err := respserver.RunPipeline(nd.Server.RESPAddr(), pc); err != nil {
					t.Errorf("node %d: %v", i, err)
				}
			})
		}
	}
	wg.Wait()
}
