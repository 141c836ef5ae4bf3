package service_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/service"
	"github.com/cairndb/cairn/internal/testcluster"
)

// End-to-end service calls on a single in-process node (real Pebble on
// disk, fsync before ack, in-memory peer network, default raft tick 20ms as
// testcluster sets it). Values are 256 bytes, keys key:%010d over 10k.
//
//	go test ./internal/service -run '^$' -bench . -benchmem
//
// serial: one caller, so ns/op is the latency of one durable Put (at least
// one fsync). parallel: 64 callers (b.SetParallelism), so ns/op is the
// inverse of throughput and shows what batching proposals per Ready buys.
// allocs/op counts every goroutine of the node (raft loop, apply,
// compactor) divided by the ops, not only the caller's.

func benchService(b *testing.B) *service.Service {
	b.Helper()
	c := testcluster.New(b, 1, testcluster.Options{})
	return c.WaitLeader(5 * time.Second).Server.Service()
}

func BenchmarkServicePut(b *testing.B) {
	val := make([]byte, 256)
	b.Run("serial", func(b *testing.B) {
		svc := benchService(b)
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			req := &command.PutRequest{Key: fmt.Appendf(nil, "key:%010d", i%10000), Value: val}
			if _, err := svc.Put(ctx, req); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel64", func(b *testing.B) {
		svc := benchService(b)
		ctx := context.Background()
		var next atomic.Int64
		b.SetParallelism(32) // x GOMAXPROCS (2 here) = 64 callers
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1)
				req := &command.PutRequest{Key: fmt.Appendf(nil, "key:%010d", i%10000), Value: val}
				if _, err := svc.Put(ctx, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkServiceGet is a point Range at each consistency: linearizable
// (a ReadIndex barrier per call, batched across concurrent callers) and
// stale (local state only).
func BenchmarkServiceGet(b *testing.B) {
	svc := benchService(b)
	ctx := context.Background()
	val := make([]byte, 256)
	for i := range 1000 {
		if _, err := svc.Put(ctx, &command.PutRequest{Key: fmt.Appendf(nil, "key:%010d", i), Value: val}); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		opts service.ReadOptions
	}{
		{"linearizable", service.ReadOptions{}},
		{"stale", service.ReadOptions{Consistency: service.Stale}},
	} {
		b.Run(c.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req := &command.RangeRequest{Key: fmt.Appendf(nil, "key:%010d", i%1000)}
				if res, _, err := svc.Range(ctx, req, c.opts); err != nil || len(res.KVs) != 1 {
					b.Fatal(res, err)
				}
				i++
			}
		})
		b.Run(c.name+"/parallel64", func(b *testing.B) {
			var next atomic.Int64
			b.SetParallelism(32)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					req := &command.RangeRequest{Key: fmt.Appendf(nil, "key:%010d", i%1000)}
					if res, _, err := svc.Range(ctx, req, c.opts); err != nil || len(res.KVs) != 1 {
						b.Error(res, err)
						return
					}
				}
			})
		})
	}
}
